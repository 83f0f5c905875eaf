//! The build pipeline, top to bottom: open the source, apply each layer's
//! edits in order, write the new image beside the target and rename it into
//! place. Each step lives in `remaster/<step>.rs` and is the only place
//! that translates its profile section into calls of a format module.
//! [`plan`] runs the same steps and stops before writing: the report then says what the
//! build would change ([`Changes`]).

mod boot;
pub(crate) mod changes;
mod drivers;
mod error;
mod installer;
mod iso_files;
pub(crate) mod packages;
pub(crate) mod signing;
mod treeinfo;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::clock;
use crate::initrd;
use crate::iso::{self, Existing, SourceIso, WriteOptions};
use crate::profile::{Profile, SourceIso as SourceSpec};
use crate::progress::Progress;
use crate::sample;

pub use changes::{BootChange, Changes, FileChanges, InstallImgChange};
pub use error::{At, Error, PackageFileError, PackageRefusal, PackageWriteError};
pub use packages::{PulledIn, Updated};

/// What a build did, or, from [`plan`], would do. Its JSON form is `build --json`'s.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BuildReport {
    /// The image written (or that would be written).
    pub output: PathBuf,
    /// Whether the image was written (false for a plan).
    pub written: bool,
    /// Its size in bytes (0 when not written).
    pub size: u64,
    /// One line per step that changed something.
    pub steps: Vec<String>,
    /// Things the user should know (e.g. names the Joliet tree had to cut).
    pub warnings: Vec<String>,
    /// Packages added to the repository by the profile or a driver (`name-[E:]V-R.arch`).
    #[serde(skip)]
    pub added: Vec<String>,
    /// Packages drawn from a `[packages] from` pool to satisfy dependencies.
    #[serde(skip)]
    pub pulled_in: Vec<PulledIn>,
    /// Packages of the source replaced by a newer version (`[packages] update`).
    #[serde(skip)]
    pub updated: Vec<Updated>,
    /// What the build changes in the image, compared with its source.
    pub changes: Changes,
}

/// Everything a step needs besides its profile section.
pub struct Context<'a> {
    /// The build time (seconds since 1970).
    pub time: i64,
    /// The same as a tree timestamp.
    pub datetime: hadris_fs::DateTime,
    /// A folder for files the build writes before they go into the image.
    pub workdir: &'a Path,
    /// Progress bars.
    pub progress: Progress,
    /// Bytes every id of the new image derives from.
    pub seed: &'a [u8],
    /// The report being filled.
    pub report: &'a mut BuildReport,
    /// How many of the report's steps and warnings were already shown.
    pub shown: (usize, usize),
    /// Per-file detail of the running step, shown after its lines with `--verbose`.
    pub details: Vec<String>,
}

impl Context<'_> {
    /// Shows the lines and warnings added since the last call: each step's
    /// lines as that step ends.
    pub fn show_new(&mut self) {
        let (steps, warnings) = self.shown;
        for line in &self.report.steps[steps..] {
            self.progress.line(line);
        }
        for detail in self.details.drain(..) {
            self.progress.detail(&detail);
        }
        for warning in &self.report.warnings[warnings..] {
            self.progress.warning(warning);
        }
        self.shown = (self.report.steps.len(), self.report.warnings.len());
    }
}

/// Builds the image `profile` describes, replacing an existing file at its output only as
/// `existing` says (checked before any work and again when the image is put in place).
pub fn build(
    profile: &Profile,
    progress: Progress,
    existing: Existing,
) -> Result<BuildReport, Error> {
    existing.check(&profile.output.iso)?;
    run_checked(profile, progress, Some(existing))
}

/// [`run`], once more when the cached install.img index it relied on turned out not to be
/// the image's (the index is out of the cache then: the second run reads install.img in full).
fn run_checked(
    profile: &Profile,
    progress: Progress,
    existing: Option<Existing>,
) -> Result<BuildReport, Error> {
    match run(profile, progress.clone(), existing) {
        Err(Error::StaleIndex) => {
            let warning =
                "the cached index of install.img did not match the image: built again without it";
            progress.warning(warning);
            let mut report = run(profile, progress, existing)?;
            report.warnings.insert(0, warning.to_string());
            Ok(report)
        }
        done => done,
    }
}

/// Runs every step of [`build`] on the image in memory, and the checks a build runs before
/// writing, then stops: nothing is written at the output path or beside it. The report says
/// what the build would change; an existing output file is a warning (the build refuses it
/// unless told to replace it). The steps' scratch files stay in the private work folder
/// (removed on return), as a build's do.
pub fn plan(profile: &Profile, progress: Progress) -> Result<BuildReport, Error> {
    run_checked(profile, progress, None)
}

/// The pipeline; `existing` is `None` for a plan (nothing written).
fn run(
    profile: &Profile,
    progress: Progress,
    existing: Option<Existing>,
) -> Result<BuildReport, Error> {
    // The signing key first: a key that cannot be used stops the build before any work.
    let key = match &profile.signing {
        Some(s) => Some(
            crate::rpm::sign::load_key_file(
                &s.key.value,
                s.passphrase_env.as_ref().map(|v| v.value.as_str()),
            )
            .map_err(|source| Error::SigningKey {
                at: s.key.origin.clone(),
                source,
            })?,
        ),
        None => None,
    };
    let workdir = crate::partial::WorkDir::new().map_err(Error::Workdir)?;
    let source_path = match &profile.source.iso {
        SourceSpec::Sample => {
            let path = workdir.path().join("sample.iso");
            sample::write(&path, &sample::Options::default())?;
            path
        }
        SourceSpec::File(path) => path.clone(),
    };
    refuse_overwriting_the_source(&source_path, &profile.output.iso)?;

    let mut source = SourceIso::open(&source_path)?;
    source.check_boot_entries()?;
    // What the image holds besides file data (descriptors, directories, boot catalog, hybrid
    // padding): with the edited tree's data, it estimates the new image's size before it is
    // laid out.
    let overhead = source
        .file_len()
        .saturating_sub(iso::data_bytes(source.tree()));
    let time = clock::build_time(source.created().map(|t| t.unix_seconds()))?;
    let datetime = hadris_fs::DateTime::from_unix_seconds(time)
        .map_err(|source| Error::BuildTime { time, source })?;
    let seed = seed(&source, profile);
    let mut report = BuildReport {
        output: profile.output.iso.clone(),
        ..BuildReport::default()
    };
    let mut cx = Context {
        time,
        datetime,
        workdir: workdir.path(),
        progress: progress.clone(),
        seed: &seed,
        report: &mut report,
        shown: (0, 0),
        details: Vec::new(),
    };

    iso_files::apply(&mut source, &profile.iso, &mut cx)?;
    cx.show_new();
    let mut drivers = drivers::apply(&mut source, &profile.drivers, &profile.installer, &mut cx)?;
    cx.show_new();
    // What the boot entries ask for besides the meta-package (kernel-alt): the pool may have
    // to supply it.
    let entry_targets =
        crate::entries::entry_targets(&crate::entries::read_configs(&source).configs);
    let packages = packages::apply(
        &mut source,
        &profile.packages,
        key.as_ref(),
        &packages::Extra {
            add: drivers.add.clone(),
            install: drivers.install.clone(),
        },
        &entry_targets,
        profile.installer.answerfile.is_some(),
        &mut cx,
    )?;
    cx.show_new();
    treeinfo::apply(
        &mut source,
        &profile.treeinfo,
        packages.key_file.as_deref(),
        &mut cx,
    )?;
    cx.show_new();
    let prepared = installer::prepare(
        &profile.installer,
        &drivers.initrd,
        &packages.answerfile_attributes,
        &cx,
    )?;
    boot::apply(
        &mut source,
        &profile.boot,
        &prepared.outcome.dom0_args,
        &packages.dom0_args,
        &mut cx,
    )?;
    cx.show_new();
    let allow_unresolved: Vec<String> = profile
        .packages
        .allow_unresolved
        .iter()
        .map(|name| name.value.clone())
        .collect();
    let inherited = crate::verify::check_build(&source, &allow_unresolved).map_err(|mut e| {
        e.notes = cx.report.warnings.clone();
        e
    })?;
    cx.report.warnings.extend(inherited);
    cx.show_new();
    // The image is now final but for install.img, which is written last: while it is made,
    // the other files' data is copied into the new image ahead of the writer.
    let options = WriteOptions {
        volume_id: profile.output.volume_id.as_ref().map(|v| v.value.clone()),
        time: datetime,
        seed: seed.clone(),
        existing: existing.unwrap_or_default(),
        last: prepared
            .rewrites()
            .then(|| crate::xcpng::INSTALL_IMG.to_string()),
    };
    let ahead = match existing {
        Some(_) => iso::Prewrite::start(
            &mut source,
            &profile.output.iso,
            &options,
            iso::DataCopy::from_env(),
        )?,
        None => None,
    };
    let mut installer = installer::apply(
        &mut source,
        &profile.installer,
        prepared,
        drivers.install_img.take(),
        &mut cx,
    )?;
    cx.show_new();
    let before = SourceIso::open(&source_path)?;
    report.changes = changes::compare(&before, &source, &report.pulled_in, installer.change.take());
    drop(before);

    // A cached install.img index the build relied on is checked while the image is written
    // (for a plan, here).
    let check = installer.check.take();
    if existing.is_none() {
        if let Some(check) = check
            && !check.verdict().map_err(install_img_damaged)?
        {
            return Err(Error::StaleIndex);
        }
        if Existing::Refuse.check(&profile.output.iso).is_err() {
            let warning = format!(
                "{} exists: the build replaces it only with --force",
                profile.output.iso.display()
            );
            progress.warning(&warning);
            report.warnings.push(warning);
        }
        return Ok(report);
    }
    // What the check of install.img found wrong, when it failed the write.
    let mut damaged = None;
    // The total is an estimate until the image is written, then its size.
    let estimate = iso::data_bytes(source.tree()) + overhead;
    let bar = progress.bytes("writing", estimate);
    let written = iso::write_if(
        &mut source,
        &profile.output.iso,
        &options,
        iso::DataCopy::from_env(),
        &|done| {
            if done > estimate {
                bar.set_length(done);
            }
            bar.set_position(done);
        },
        || match check.map(initrd::PendingCheck::verdict) {
            None | Some(Ok(true)) => true,
            Some(Ok(false)) => false,
            Some(Err(e)) => {
                damaged = Some(e);
                false
            }
        },
        ahead,
    )?;
    let Some(written) = written else {
        return Err(damaged.map_or(Error::StaleIndex, install_img_damaged));
    };
    bar.set_length(written.size);
    bar.set_position(written.size);
    bar.finish();
    report.size = written.size;
    report.written = true;
    for warning in &written.warnings {
        progress.warning(warning);
    }
    report.warnings.extend(written.warnings);
    Ok(report)
}

/// The bytes every id of the new image derives from: the source's
/// descriptors and the profile's text, never the time or the host.
/// The build's error for a source install.img found damaged by a check that ran beside it.
fn install_img_damaged(e: initrd::Error) -> Error {
    Error::InstallImg {
        source: Box::new(e),
    }
}

fn seed(source: &SourceIso, profile: &Profile) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(source.system_area());
    h.update(source.volume_id().as_bytes());
    h.update(source.volume_bytes().to_le_bytes());
    h.update(profile.text.as_bytes());
    h.finalize().to_vec()
}

fn refuse_overwriting_the_source(source: &Path, output: &Path) -> Result<(), Error> {
    let same = match (source.canonicalize(), output.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(Error::OutputIsSource(output.to_path_buf()));
    }
    Ok(())
}
