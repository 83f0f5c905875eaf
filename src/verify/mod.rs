//! `isoremix verify`: for each boot entry of an image, will XCP-ng 8.3's installer install it,
//! and if not, why. The installer is modelled from its own code (host-installer 10.10.x):
//! `crate::entries` says what it does with each boot line; the checks here say whether that
//! succeeds. Each check is its own module returning [`Finding`]s:
//! - `repodata`: repomd.xml, the data files, primary.xml as the media check pairs it;
//! - `packages`: each package file's size and SHA-256 against primary.xml (a reader per core, at
//!   most eight, up to four files hashed side by side in each: `crate::sha256_pair`);
//! - `treeinfo`: `.treeinfo` as ConfigParser and `MainYumRepository` read it;
//! - `install_img`: install.img decodes; the answer file and module indexes in it (the result
//!   remembered per image content when asked: `install_img_memo`);
//! - `boot_configs`: the boot configs agree (an entry that boots differently per config is
//!   reported);
//! - `judge`: per entry: the answer file, the signature checks it turns on, and what yum
//!   installs.
//!
//! Image-wide errors (repodata, `.treeinfo`, install.img) fail every installer entry. A driver
//! disk is judged as the installer loads one (`driver_disk`); a build checks its result with
//! [`check_build`] (`build_check`).

mod boot_configs;
mod build_check;
mod driver_disk;
mod install_img;
mod install_img_memo;
mod judge;
mod packages;
mod repodata;
mod report;
mod signatures;
mod solve;
mod treeinfo;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::entries::{self, Action};
use crate::iso::SourceIso;
use crate::xcpng;

pub use build_check::{WouldNotInstall, check_build};
pub use install_img::InstallImg;
use install_img::Lookup;
pub use repodata::{MediaEntry, media_entries};
pub use report::{EntryReport, Report, VariantReport, Verdict};

use boot_configs::consistency;
use driver_disk::driver_disk;
use judge::{Context, judge};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A risk the installer's code does not fail on (stale module indexes, unlisted packages).
    Warning,
    /// The installer fails.
    Error,
}

/// One thing a check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The check: `repodata`, `packages`, `treeinfo`, `install-img`, `modules`, `boot-configs`.
    pub check: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// What is wrong, naming the file, entry or package.
    pub message: String,
}

/// What to check.
#[derive(Debug, Clone)]
pub struct Options {
    /// Read every package file for the media check (size and SHA-256); without it, only that
    /// each file exists with primary.xml's size.
    pub hash_packages: bool,
    /// Decode install.img (answer file, module indexes).
    pub install_img: bool,
    /// A cache folder where the install.img check's result is remembered per image content
    /// (see `install_img_memo`); `None`: install.img is decoded every time.
    pub install_img_memo: Option<std::path::PathBuf>,
    /// Package names whose unmet requirements are tolerated (`[packages] allow_unresolved`).
    pub allow_unresolved: Vec<String>,
    /// Judge signatures as yum would (repomd.xml.asc, and each installed RPM against the
    /// `.treeinfo` key when gpgcheck is on).
    pub signatures: bool,
    /// An entry that boots differently per config is an error (else each way is judged and the
    /// difference is a warning).
    pub configs_must_agree: bool,
    /// Threads that read packages.
    pub threads: usize,
}

impl Options {
    /// Everything, as `isoremix verify` runs it.
    pub fn full() -> Options {
        Options {
            hash_packages: true,
            install_img: true,
            install_img_memo: None,
            allow_unresolved: Vec::new(),
            signatures: true,
            configs_must_agree: false,
            // Hashing the packages is most of the work: one reader per core (capped where the
            // readers are made).
            threads: crate::parallelism::cores(),
        }
    }

    /// The cheap checks a build runs on its result before writing it: the boot configs agree,
    /// `.treeinfo` and the repodata are consistent (package files present with their sizes),
    /// and each entry's packages can be installed. Signatures and install.img are left out.
    pub fn build(allow_unresolved: &[String]) -> Options {
        Options {
            hash_packages: false,
            install_img: false,
            install_img_memo: None,
            allow_unresolved: allow_unresolved.to_vec(),
            signatures: false,
            configs_must_agree: true,
            threads: 1,
        }
    }
}
/// Verifies `source`: an installer image (every boot entry), a driver disk, or anything else
/// (reported as not installable).
pub fn verify(source: &SourceIso, options: &Options) -> Report {
    if !source.exists(xcpng::TREEINFO) && source.exists(xcpng::UPDATE_XML) {
        return driver_disk(source, options);
    }
    let configs = entries::read_configs(source);
    let boot_entries = entries::entries(&configs.configs);
    let mut findings: Vec<Finding> = configs
        .unreadable
        .iter()
        .map(|why| Finding {
            check: "boot-configs",
            severity: Severity::Warning,
            message: format!("{why}: that boot menu cannot be read"),
        })
        .collect();
    findings.extend(consistency(
        &boot_entries,
        &configs.configs,
        options.configs_must_agree,
    ));

    let tree = treeinfo::check(source);
    findings.extend(tree.findings.iter().cloned());
    let repo = repodata::check(source);
    findings.extend(repo.findings.iter().cloned());
    findings.extend(repodata::unlisted_packages(source, &repo.media));

    let answerfiles: Vec<String> = boot_entries
        .iter()
        .flat_map(|e| e.lines.iter())
        .filter_map(|l| match entries::action(l) {
            Action::Install(i) => i.answerfile_path().map(str::to_string),
            _ => None,
        })
        .collect();
    let seen = Seen {
        boot_entries: &boot_entries,
        tree: &tree,
        repo: &repo,
        findings: &findings,
    };
    if !options.install_img {
        return installer_report(source, options, &seen, &InstallImg::default(), false).0;
    }
    match install_img::lookup(source, &answerfiles, options.install_img_memo.as_deref()) {
        Lookup::Fresh(image) => installer_report(source, options, &seen, &image, false).0,
        // The memo's answer is judged while install.img's digest is made in the same pass as
        // the packages' hashes; when the digest differs, the image is decoded and judged again.
        Lookup::Remembered(image, digest) => {
            let (report, now) = installer_report(source, options, &seen, &image, true);
            if now == Some(digest) {
                return report;
            }
            let memo = options.install_img_memo.as_deref();
            let image = install_img::check(source, &answerfiles, memo);
            installer_report(source, options, &seen, &image, false).0
        }
    }
}

/// What [`verify`] found before install.img is read.
struct Seen<'a> {
    boot_entries: &'a [entries::Entry],
    tree: &'a treeinfo::Treeinfo,
    repo: &'a repodata::Repodata,
    findings: &'a [Finding],
}

/// The report of an installer image, from what was `seen` and its install.img's `image`; with
/// `image_digest`, also install.img's digest as it is now (`None` when it cannot be read).
fn installer_report(
    source: &SourceIso,
    options: &Options,
    seen: &Seen<'_>,
    image: &InstallImg,
    image_digest: bool,
) -> (Report, Option<[u8; 32]>) {
    let Seen {
        boot_entries,
        tree,
        repo,
        ..
    } = *seen;
    let mut findings = seen.findings.to_vec();
    findings.extend(image.findings.iter().cloned());
    let solver = solve::Solver::new(&repo.records, repo.groups.as_deref());
    let repository_targets = entries::repository_targets(
        image
            .file(xcpng::INSTALLER_REPOSITORY_PY)
            .filter(|_| options.install_img),
        repo.records.iter().any(|r| r.name == xcpng::MAIN_TARGET),
        &solver.group_ids(),
    );
    let cx = Context {
        image,
        options,
        repository_targets: &repository_targets,
        solver: &solver,
    };

    // What each installer run does and installs; then one pass over the package files judges
    // the signatures of what a run with gpgcheck on installs.
    let mut entries: Vec<(String, Vec<VariantReport>)> = boot_entries
        .iter()
        .map(|e| {
            let variants = e
                .variants()
                .into_iter()
                .map(|(line, configs)| {
                    let action = entries::action(line);
                    let mut v = VariantReport::new(line, configs, action.clone());
                    if let Action::Install(install) = &action {
                        judge(&mut v, install, &cx);
                    }
                    v
                })
                .collect();
            (e.label.clone(), variants)
        })
        .collect();
    let signed =
        signatures::Signatures::read(source, tree.key_file.as_deref(), repo.repomd.as_deref());
    let needs_signature: BTreeSet<&str> = entries
        .iter()
        .flat_map(|(_, vs)| vs.iter())
        .filter(|v| options.signatures && v.checks.is_some_and(|c| c.gpgcheck))
        .flat_map(|v| v.installed.iter())
        .filter_map(|&i| solver.record(i).map(|r| r.location_href.as_str()))
        .collect();
    let checked = check_packages(
        source,
        &repo.media,
        &|i| needs_signature.contains(repo.media[i].href.as_str()),
        &|r| signed.package(r),
        options,
        image_digest.then_some(xcpng::INSTALL_IMG),
        &mut findings,
    );
    let results = &checked.packages;
    let refused: BTreeMap<&str, &str> = repo
        .media
        .iter()
        .zip(results)
        .filter_map(|(m, r)| Some((m.href.as_str(), r.signature.as_deref()?)))
        .collect();

    let fatal: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.message.clone())
        .collect();
    let entries = entries
        .iter_mut()
        .map(|(label, variants)| {
            for v in variants.iter_mut() {
                let Some(checks) = v.checks.filter(|_| options.signatures) else {
                    continue;
                };
                if checks.gpgcheck {
                    for &i in &v.installed {
                        let Some(href) = solver.record(i).map(|r| r.location_href.as_str()) else {
                            continue;
                        };
                        if let Some(why) = refused.get(href) {
                            v.reasons.push(format!("{why}: {href} (gpgcheck is on)"));
                        }
                    }
                    if let Some(why) = signed.key_problem() {
                        v.reasons.push(why);
                    }
                }
                if checks.repo_gpgcheck
                    && let Some(why) = signed.repomd_problem()
                {
                    v.reasons.push(why);
                }
            }
            for v in variants.iter_mut() {
                if matches!(v.action, Action::Install(_)) {
                    let own = std::mem::take(&mut v.reasons);
                    v.reasons = fatal.iter().cloned().chain(own).collect();
                }
            }
            EntryReport::new(label, std::mem::take(variants))
        })
        .collect();
    (Report::new(findings, entries), checked.image_digest)
}
/// Checks the packages of `media` as `options` ask (signatures of those `signature(i)` picks,
/// judged with `judge`; the image digest of the file `image_digest` names made in the same
/// pass), adds a finding for each that fails the media check, and returns the results in
/// `media`'s order.
fn check_packages(
    source: &SourceIso,
    media: &[MediaEntry],
    signature: &(dyn Fn(usize) -> bool + Sync),
    judge: packages::SignatureCheck<'_>,
    options: &Options,
    image_digest: Option<&str>,
    findings: &mut Vec<Finding>,
) -> packages::Checked {
    let checked = packages::check(
        source,
        media,
        signature,
        judge,
        packages::Pass {
            hash: options.hash_packages,
            threads: options.threads,
            image_digest,
        },
    );
    findings.extend(checked.packages.iter().filter_map(|r| {
        r.media.clone().map(|message| Finding {
            check: "packages",
            severity: Severity::Error,
            message,
        })
    }));
    checked
}

#[cfg(test)]
mod tests;
