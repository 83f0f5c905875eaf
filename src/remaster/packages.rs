//! Step `[packages]`: the RPM repository the installer installs from.
//!
//! Packages are added (same name as a source package: replaced; `[[packages.build]]` builds some
//! from plain files first), removed, and made installed for real: a new release of the
//! meta-package (`xcp-ng-deps`) whose `Requires` name them, or entries in the comps group the
//! installer installs (`xenserver_base`). The repodata is then regenerated, reusing the records
//! of the source's unchanged packages. With a `[signing]` key every new or rewritten package (and
//! any unsigned one) is signed, as is `repomd.xml`; without one, the installer's signature checks
//! are turned off and the user is warned.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

mod build;
mod edits;
mod host;
mod install;
mod meta;
mod pool;
mod sign;
mod source;
mod write;

use edits::HostAdd;
pub use pool::{PulledIn, Updated};

use super::{At, Context, Error};
use crate::iso::SourceIso;
use crate::profile::PackageEdits;
use crate::repo::Record;
use crate::rpm::sign::SigningKey;
use crate::xcpng::{self, REPOMD, REPOMD_ASC};

/// The meta-package XCP-ng 8.x's installer installs.
const DEFAULT_META: &str = xcpng::MAIN_TARGET;
/// The comps group XenServer-style installers install (with `xenserver_dom0`).
const DEFAULT_GROUP: &str = xcpng::XENSERVER_GROUPS[0];
const PACKAGES_DIR: &str = "Packages";
/// Inputs another step hands to this one besides the profile (e.g. driver RPMs).
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// RPM files to add, like `[packages] add`.
    pub add: Vec<PathBuf>,
    /// Names the installer must install, like `[packages] install`.
    pub install: Vec<String>,
}

impl Extra {
    fn is_empty(&self) -> bool {
        self.add.is_empty() && self.install.is_empty()
    }
}

/// How the source's installer chooses the packages it installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallStyle {
    /// It installs this meta-package and what it requires.
    Meta(String),
    /// It installs this comps group.
    Group(String),
}

impl std::fmt::Display for InstallStyle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstallStyle::Meta(m) => write!(f, "meta-package {m}"),
            InstallStyle::Group(g) => write!(f, "comps group {g}"),
        }
    }
}

/// What later steps need from this one.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// dom0 arguments the interactive boot entries (those naming no answer file) must get:
    /// signature checks off.
    pub dom0_args: Vec<String>,
    /// Attributes the embedded answer file's `<installation>` must get, for the unattended
    /// entries (the same checks off).
    pub answerfile_attributes: Vec<(String, String)>,
    /// The public key file written at the image root, to name first in `.treeinfo [keys]`.
    pub key_file: Option<String>,
}

/// A package of the output repository.
#[derive(Debug, Clone)]
struct Package {
    /// Where it is read from.
    from: From,
    /// Its record, when known (reused or read).
    record: Record,
}

/// The output repository's packages by location.
type Packages = BTreeMap<String, Package>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum From {
    /// Unchanged, in the source image at this location.
    Source,
    /// A file on the host to put at the record's location.
    Host(PathBuf),
}

/// Whether `record` is, or provides, `name`.
fn provides(record: &Record, name: &str) -> bool {
    record.name == name || record.provides.iter().any(|d| d.name == name)
}

/// Applies `[packages]` (and `extra`) to the repository on the image, signing with `key` (the
/// `[signing]` key, loaded before the build started).
/// `answerfile_embedded` says whether an answer file goes into install.img (then signature
/// checks are turned off by its attributes for the unattended entries, besides the boot
/// arguments for the interactive ones).
pub fn apply(
    source: &mut SourceIso,
    edits: &PackageEdits,
    key: Option<&SigningKey>,
    extra: &Extra,
    extra_targets: &[String],
    answerfile_embedded: bool,
    cx: &mut Context<'_>,
) -> Result<Outcome, Error> {
    let nothing = edits.add.is_empty()
        && edits.build.is_empty()
        && edits.remove.is_empty()
        && edits.install.is_empty()
        && edits.from.is_empty()
        && edits.allow_unresolved.is_empty()
        && extra.is_empty();
    if nothing && key.is_none() {
        return Ok(Outcome::default());
    }
    let time = u32::try_from(cx.time).unwrap_or(u32::MAX);

    // The source's repository.
    let source_repo = source::read(source, cx)?;
    let mut packages = source_repo.packages;
    let source_names: BTreeSet<String> = packages.values().map(|p| p.record.name.clone()).collect();

    // Removals by name, then additions and replacements.
    let removed = edits::remove(&mut packages, &edits.remove, cx)?;
    let built = build::build(&edits.build, time, cx)?;
    let added_names = edits::add(
        &mut packages,
        &host_adds(built, edits, extra),
        edits.allow_downgrade,
        cx,
    )?;

    // The pool, and the update respin it may drive.
    let pool = pool::read(&edits.from, cx)?;
    let taken = if edits.update {
        pool::update(&mut packages, &pool, cx)?
    } else {
        BTreeSet::new()
    };

    // What the installer must install, how it chooses, and the dependencies the pool supplies
    // (and unmet ones tolerated).
    let mut comps_xml = source_repo.groups;
    let comps = comps_xml.as_ref().map(|(_, x)| x.as_slice());
    let plan = install::plan(edits, extra, &packages, comps, &added_names, &source_names)?;
    if !pool.is_empty() || !edits.allow_unresolved.is_empty() {
        install::pull_in_dependencies(
            &mut packages,
            &pool,
            &taken,
            &plan,
            comps,
            extra_targets,
            edits,
            cx,
        )?;
    }
    let to_add = install::names_to_add(&plan, &packages, cx)?;
    let comps_changed = install::make_installed(
        &plan.styles,
        &to_add,
        &removed,
        &mut packages,
        &mut comps_xml,
        source,
        key,
        time,
        cx,
    )?;

    // Signatures, then the repository written into the image.
    if let Some(key) = key {
        sign::sign_packages(&mut packages, source, key, time, cx)?;
    }
    let unchanged = write::unchanged(source_repo.stored.as_deref(), &packages, comps_changed);
    write::write_repository(
        source,
        &packages,
        comps_xml.as_ref(),
        key,
        unchanged,
        time,
        cx,
    )?;

    let changed = !unchanged;
    let mut outcome = Outcome::default();
    match key {
        Some(key) => {
            outcome.key_file = Some(sign::write_key_file(source, key, cx)?);
        }
        None if changed => sign::turn_checks_off(&mut outcome, answerfile_embedded, cx),
        None => {}
    }
    Ok(outcome)
}

/// The host packages to add: the ones `[[packages.build]]` built (`built`), `[packages] add`,
/// then the other steps' (each with where it was asked for).
fn host_adds(built: Vec<HostAdd>, edits: &PackageEdits, extra: &Extra) -> Vec<HostAdd> {
    let mut adds = built;
    adds.extend(
        edits
            .add
            .iter()
            .map(|a| HostAdd::file(At::from(&a.origin), a.value.clone())),
    );
    adds.extend(
        extra
            .add
            .iter()
            .map(|p| HostAdd::file(At::Section("[[drivers]]"), p.clone())),
    );
    adds
}
