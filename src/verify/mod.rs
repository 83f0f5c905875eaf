//! `isoremix verify`: for each boot entry of an image, will XCP-ng 8.3's installer install it,
//! and if not, why. The installer is modelled from its own code (host-installer 10.10.x):
//! `crate::entries` says what it does with each boot line; the checks here say whether that
//! succeeds. Each check is its own module returning [`Finding`]s:
//! - `repodata`: repomd.xml, the data files, primary.xml as the media check pairs it;
//! - `packages`: each package file's size and SHA-256 against primary.xml (parallel);
//! - `treeinfo`: `.treeinfo` as ConfigParser and `MainYumRepository` read it;
//! - `install_img`: install.img decodes; the answer file and module indexes in it;
//! - the boot configs agree (an entry that boots differently per config is reported);
//! - per entry: the answer file, the signature checks it turns on, and what yum installs.
//!
//! Image-wide errors (repodata, `.treeinfo`, install.img) fail every installer entry.

mod install_img;
mod packages;
mod repodata;
mod report;
mod signatures;
mod solve;
mod treeinfo;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::entries::{self, Action, Checks, Install};
use crate::iso::SourceIso;
use crate::xcpng;

pub use install_img::InstallImg;
pub use repodata::{MediaEntry, media_entries};
pub use report::{EntryReport, Report, VariantReport, Verdict};

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
            allow_unresolved: Vec::new(),
            signatures: true,
            configs_must_agree: false,
            // Hashing the packages is most of the work: one reader per core.
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }

    /// The cheap checks a build runs on its result before writing it: the boot configs agree,
    /// `.treeinfo` and the repodata are consistent (package files present with their sizes),
    /// and each entry's packages can be installed. Signatures and install.img are left out.
    pub fn build(allow_unresolved: &[String]) -> Options {
        Options {
            hash_packages: false,
            install_img: false,
            allow_unresolved: allow_unresolved.to_vec(),
            signatures: false,
            configs_must_agree: true,
            threads: 1,
        }
    }
}

/// Why a build's result would not install; nothing is written.
#[derive(Debug, thiserror::Error)]
#[error(
    "the built image would not install:\n  {}{}",
    problems.join("\n  "),
    notes.iter().map(|n| format!("\nnote: {n}")).collect::<String>()
)]
pub struct WouldNotInstall {
    /// Each problem, naming the entry, package, requirement and chain where it applies.
    pub problems: Vec<String>,
    /// What the build noticed on the way that may explain them (e.g. why a pool package was
    /// not taken).
    pub notes: Vec<String>,
}

/// Runs the build's checks ([`Options::build`]) on an image about to be written, and on the
/// source it was made from (read again from its file). Problems the build brought are errors;
/// problems the source already had are returned as warnings (a remaster does not refuse to
/// touch an image that was broken before). An image without `.treeinfo` and repodata is only
/// checked for boot configs that agree.
pub fn check_build(
    source: &SourceIso,
    allow_unresolved: &[String],
) -> Result<Vec<String>, WouldNotInstall> {
    let options = Options::build(allow_unresolved);
    let after = build_problems(source, &options);
    if after.is_empty() {
        return Ok(Vec::new());
    }
    let before = SourceIso::open(source.path())
        .map(|original| build_problems(&original, &options))
        .unwrap_or_default();
    let (old, new): (Vec<String>, Vec<String>) =
        after.into_iter().partition(|p| before.contains(p));
    if new.is_empty() {
        Ok(old
            .into_iter()
            .map(|p| format!("{p} (so already in the source image)"))
            .collect())
    } else {
        Err(WouldNotInstall {
            problems: new,
            notes: Vec::new(),
        })
    }
}

/// The build's checks on one image: each problem, entry-prefixed where it is an entry's.
fn build_problems(source: &SourceIso, options: &Options) -> Vec<String> {
    let installer = source.exists(xcpng::TREEINFO) || source.exists(xcpng::REPOMD);
    let report = if installer {
        verify(source, options)
    } else {
        let configs = entries::read_configs(source);
        let findings = consistency(&entries::entries(&configs.configs), &configs.configs, true);
        Report::new(findings, Vec::new())
    };
    let mut problems: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.message.clone())
        .collect();
    let image_wide = problems.clone();
    for (label, reasons) in report.failures() {
        for r in reasons {
            if !image_wide.contains(r) {
                problems.push(format!("entry {label:?}: {r}"));
            }
        }
    }
    problems
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
    let image = if options.install_img {
        install_img::check(source, &answerfiles)
    } else {
        InstallImg::default()
    };
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
        image: &image,
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
    let results = check_packages(
        source,
        &repo.media,
        &|i| needs_signature.contains(repo.media[i].href.as_str()),
        &|r| signed.package(r),
        options,
        &mut findings,
    );
    let refused: BTreeMap<&str, &str> = repo
        .media
        .iter()
        .zip(&results)
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
    Report::new(findings, entries)
}

/// Entries that boot differently per config, or that some configs lack.
fn consistency(
    boot_entries: &[entries::Entry],
    configs: &[entries::Config],
    strict: bool,
) -> Vec<Finding> {
    let severity = if strict {
        Severity::Error
    } else {
        Severity::Warning
    };
    let mut out = Vec::new();
    for e in boot_entries
        .iter()
        .filter(|e| e.lines.iter().any(|l| l.xen.is_some()))
    {
        let variants = e.variants();
        if variants.len() > 1 {
            let ways: Vec<String> = variants
                .iter()
                .map(|(l, c)| format!("{} [{}]", l.args.join(" "), c.join(", ")))
                .collect();
            out.push(Finding {
                check: "boot-configs",
                severity,
                message: format!(
                    "entry {:?} boots differently per config: {}",
                    e.label,
                    ways.join(" vs ")
                ),
            });
        }
        let missing = e.missing_from(configs);
        if !missing.is_empty() {
            out.push(Finding {
                check: "boot-configs",
                severity: Severity::Warning,
                message: format!("entry {:?} is missing from {}", e.label, missing.join(", ")),
            });
        }
    }
    out
}

/// What every entry's judgement reads.
struct Context<'a> {
    image: &'a InstallImg,
    options: &'a Options,
    repository_targets: &'a [String],
    solver: &'a solve::Solver,
}

/// Judges one installer command line up to what it installs; signatures come later.
fn judge(v: &mut VariantReport, install: &Install, cx: &Context<'_>) {
    if let Some(why) = install.abort() {
        v.reasons.push(why);
    }
    let mut answer = None;
    if install.unattended() {
        match answerfile(install, cx.image, cx.options) {
            Ok(attrs) => answer = attrs,
            Err(why) => v.reasons.push(why),
        }
    }
    let checks: Checks = install.checks(
        answer
            .as_ref()
            .map(|(g, r): &(Option<String>, Option<String>)| (g.as_deref(), r.as_deref())),
    );
    v.checks = Some(checks);
    v.targets = install.targets(cx.repository_targets);
    let solved = cx.solver.solve(&v.targets, &cx.options.allow_unresolved);
    v.reasons.extend(solved.problems);
    v.tolerated = solved.tolerated;
    v.packages = solved
        .install
        .iter()
        .filter_map(|&i| cx.solver.record(i).map(solve::nevra))
        .collect();
    v.installed = solved.install;
}

/// The answer file's `gpgcheck` and `repo-gpgcheck` attributes, after checking it is in
/// install.img and parses; `Ok(None)` when it cannot be checked here (a remote address).
type Attributes = (Option<String>, Option<String>);

fn answerfile(
    install: &Install,
    image: &InstallImg,
    options: &Options,
) -> Result<Option<Attributes>, String> {
    let Some(path) = install.answerfile_path() else {
        return Ok(None);
    };
    if !options.install_img {
        return Ok(None);
    }
    let Some(text) = image.file(path) else {
        return Err(format!(
            "the answer file {path} is not a file in {}",
            xcpng::INSTALL_IMG
        ));
    };
    let name = format!("{}:{path}", xcpng::INSTALL_IMG);
    match crate::answerfile::validate(&name, text).map_err(|e| e.to_string())? {
        crate::answerfile::Root::Restore => {
            return Err(format!(
                "the answer file {path} restores a backup: it installs nothing"
            ));
        }
        crate::answerfile::Root::Installation => {}
    }
    let get = |attr: &str| {
        crate::answerfile::root_attribute(&name, text, attr).map_err(|e| e.to_string())
    };
    Ok(Some((
        get(xcpng::attr::GPGCHECK)?,
        get(xcpng::attr::REPO_GPGCHECK)?,
    )))
}

/// Checks the packages of `media` as `options` ask (signatures of those `signature(i)` picks,
/// judged with `judge`), adds a finding for each that fails the media check, and returns the
/// results in `media`'s order.
fn check_packages(
    source: &SourceIso,
    media: &[MediaEntry],
    signature: &(dyn Fn(usize) -> bool + Sync),
    judge: packages::SignatureCheck<'_>,
    options: &Options,
    findings: &mut Vec<Finding>,
) -> Vec<packages::PackageResult> {
    let results = packages::check(
        source,
        media,
        signature,
        judge,
        packages::Pass {
            hash: options.hash_packages,
            threads: options.threads,
        },
    );
    findings.extend(results.iter().filter_map(|r| {
        r.media.clone().map(|message| Finding {
            check: "packages",
            severity: Severity::Error,
            message,
        })
    }));
    results
}

/// A driver disk: the installer loads it with `yum install @drivers` from its repository, whose
/// comps must have the `drivers` group (DriverUpdateYumRepository.isRepo); no signature checks.
fn driver_disk(source: &SourceIso, options: &Options) -> Report {
    let repo = repodata::check(source);
    let mut findings = repo.findings.clone();
    check_packages(
        source,
        &repo.media,
        &|_| false,
        &|_| None,
        options,
        &mut findings,
    );
    let has_group = repo
        .groups
        .as_deref()
        .and_then(|xml| crate::repo::comps::parse_groups(xml).ok())
        .is_some_and(|groups| groups.iter().any(|g| g.id == xcpng::DRIVERS_GROUP));
    if !has_group {
        findings.push(Finding {
            check: "repodata",
            severity: Severity::Error,
            message: format!(
                "the repository has no comps group {:?}: the installer does not take it as a driver disk",
                xcpng::DRIVERS_GROUP
            ),
        });
    }
    let line = entries::BootLine {
        config: xcpng::UPDATE_XML.trim_start_matches('/').to_string(),
        name: "driver disk".into(),
        xen: None,
        kernel: None,
        args: Vec::new(),
    };
    let install = entries::action(&entries::BootLine {
        xen: Some(String::new()),
        ..line.clone()
    });
    let mut v = VariantReport::new(&line, vec![&line.config], install);
    v.targets = vec![format!("@{}", xcpng::DRIVERS_GROUP)];
    v.reasons = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.message.clone())
        .collect();
    if has_group {
        // Loaded into the installer's own root, whose packages are not known here: only what
        // the disk itself cannot satisfy by name is reported, as a warning.
        let solver = solve::Solver::new(&repo.records, repo.groups.as_deref());
        let solved = solver.solve(&v.targets, &options.allow_unresolved);
        v.packages = solved
            .install
            .iter()
            .filter_map(|&i| solver.record(i).map(solve::nevra))
            .collect();
        findings.extend(solved.problems.into_iter().map(|p| Finding {
            check: "solve",
            severity: Severity::Warning,
            message: format!("{p} (unless the installer's own root provides it)"),
        }));
    }
    Report::with_kind(
        "driver-disk",
        findings,
        vec![EntryReport::new("driver disk", vec![v])],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso::NewContent;

    /// The built-in sample, opened for editing.
    fn sample() -> (tempfile::TempDir, SourceIso) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sample.iso");
        crate::sample::write(&path, &crate::sample::Options::default()).unwrap();
        let source = SourceIso::open(&path).unwrap();
        (dir, source)
    }

    fn put(source: &mut SourceIso, path: &str, bytes: &[u8]) {
        let time = hadris_fs::DateTime::from_unix_seconds(0).unwrap();
        source
            .put_file(path, NewContent::Bytes(bytes.to_vec()), time)
            .unwrap();
    }

    /// Replaces `from` by `to` in the image's file at `path`.
    fn edit(source: &mut SourceIso, path: &str, from: &str, to: &str) {
        let text = String::from_utf8(source.read_file(path).unwrap()).unwrap();
        assert!(text.contains(from), "{path} has no {from:?}");
        put(source, path, text.replacen(from, to, 1).as_bytes());
    }

    fn errors(report: &Report, check: &str) -> Vec<String> {
        report
            .findings
            .iter()
            .filter(|f| f.check == check && f.severity == Severity::Error)
            .map(|f| f.message.clone())
            .collect()
    }

    #[test]
    fn the_sample_installs_in_every_entry() {
        let (_dir, source) = sample();
        let report = verify(&source, &Options::full());
        assert!(report.installs, "{}", report.to_text());
        let install = &report.entries[0].variants[0];
        assert_eq!(install.targets, ["xcp-ng-deps"]);
        assert!(install.packages.iter().any(|p| p.starts_with("bash-")));
        let alt = report
            .entries
            .iter()
            .find(|e| e.label == "install-alt")
            .unwrap();
        assert_eq!(alt.variants[0].targets, ["xcp-ng-deps", "kernel-alt"]);
        check_build(&source, &[]).unwrap();
    }

    #[test]
    fn treeinfo_check() {
        let (_dir, mut source) = sample();
        edit(
            &mut source,
            "/.treeinfo",
            "version = 8.3.0",
            "version = 8.3.x",
        );
        edit(&mut source, "/.treeinfo", "number = cloud", "number = 100%");
        edit(
            &mut source,
            "/.treeinfo",
            "key1 = RPM-GPG-KEY-xcpng",
            "key1 = NOPE",
        );
        let report = verify(&source, &Options::full());
        let found = errors(&report, "treeinfo").join("\n");
        for needle in [
            "not dotted numbers",
            "ConfigParser",
            "NOPE, which is not on the image",
        ] {
            assert!(found.contains(needle), "no {needle:?} in {found}");
        }
        assert!(!report.installs);
    }

    #[test]
    fn repodata_and_package_checks() {
        let (_dir, mut source) = sample();
        put(
            &mut source,
            "/Packages/sample-docs-1.0-1.xcpng8.3.noarch.rpm",
            b"not it",
        );
        let report = verify(&source, &Options::full());
        let found = errors(&report, "packages").join("\n");
        assert!(
            found.contains("sample-docs-1.0-1.xcpng8.3.noarch.rpm: 6 bytes"),
            "{found}"
        );
        // The build's cheap pass sees the size too.
        let err = check_build(&source, &[]).unwrap_err().to_string();
        assert!(err.contains("sample-docs"), "{err}");

        put(&mut source, "/repodata/repomd.xml", b"<repomd><data");
        let report = verify(&source, &Options::full());
        assert!(
            !errors(&report, "repodata").is_empty(),
            "{}",
            report.to_text()
        );
        assert!(
            report
                .entries
                .iter()
                .all(|e| e.verdict != Verdict::Installs)
        );
    }

    #[test]
    fn install_img_and_answer_file_checks() {
        let (_dir, mut source) = sample();
        for cfg in [crate::boot::ISOLINUX_CFG, crate::boot::GRUB_CFG] {
            edit(
                &mut source,
                cfg,
                "console=hvc0 console=tty0",
                "console=hvc0 console=tty0 answerfile=file:///missing.xml install",
            );
        }
        let report = verify(&source, &Options::full());
        let install = &report.entries[0];
        assert_eq!(install.verdict, Verdict::DoesNotInstall);
        assert!(
            install
                .variants
                .iter()
                .flat_map(|v| &v.reasons)
                .any(|r| r.contains("/missing.xml")),
            "{}",
            report.to_text()
        );
        put(&mut source, "/install.img", b"BZh91AY&SY garbage");
        let report = verify(&source, &Options::full());
        let found = errors(&report, "install-img").join("\n");
        assert!(found.contains("cannot be unpacked"), "{found}");
    }

    #[test]
    fn signature_checks() {
        let (_dir, mut source) = sample();
        source.remove("/repodata/repomd.xml.asc").unwrap();
        let report = verify(&source, &Options::full());
        let (_, reasons) = report.failures()[0];
        assert!(
            reasons[0].starts_with("No signature on repository metadata"),
            "{reasons:?}"
        );
        // Not a build check: the build leaves signatures to the signing step.
        check_build(&source, &[]).unwrap();
    }

    #[test]
    fn boot_configs_must_agree_in_a_build() {
        let (_dir, mut source) = sample();
        edit(
            &mut source,
            crate::boot::GRUB_CFG,
            "console=hvc0 console=tty0",
            "console=tty0",
        );
        let report = verify(&source, &Options::full());
        assert!(
            report.installs,
            "each way still installs: {}",
            report.to_text()
        );
        assert!(report.to_text().contains("boots differently per config"));
        let err = check_build(&source, &[]).unwrap_err().to_string();
        assert!(
            err.contains("entry \"install\" boots differently per config"),
            "{err}"
        );
    }
}
