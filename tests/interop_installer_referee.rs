//! Every boot entry installs under XCP-ng 8.3's real installer code (the installer referee,
//! tests/common/referee.rs): the built-in sample, the demo's output (signed with its throwaway
//! key), the demo without its key, and unsigned builds with and without an answer file. Each entry is either unattended
//! (an answer file on its dom0 line, checks turned off in the answer file when they must be)
//! or interactive (checks turned off on its dom0 line), never both: the installer aborts on
//! that. Also: `.treeinfo` is left byte for byte as it was by an edit that does not concern it.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::referee::{self, Outcome, Report};
use common::{isoremix, require, run, run_all, xorriso_extract};
use isoremix::rpm::{Dep, DepCmp, PackageSpec};

const ANSWERFILE_ARG: &str = "answerfile=file:///answerfile.xml";
const NO_CHECKS: [&str; 2] = ["no-gpgcheck", "no-repo-gpgcheck"];

fn manifest(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Writes `profile` as `dir/NAME.toml`, builds it to `dir/NAME.iso` and returns the image.
fn build(dir: &Path, name: &str, profile: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    fs::write(&path, profile).unwrap();
    let iso = dir.join(format!("{name}.iso"));
    run(isoremix().arg("build").arg(&path).arg("-o").arg(&iso));
    iso
}

/// The demo profile's text with its relative paths made absolute, so it can be built from
/// another folder with more sections.
fn demo_profile() -> String {
    let demo = manifest("profiles/demo");
    fs::read_to_string(manifest("profiles/demo.toml"))
        .unwrap()
        .replace("\"demo/", &format!("\"{}/", demo.display()))
}

/// The dom0 command line of every Xen entry of the three menus: isolinux.cfg,
/// EFI/xenserver/grub.cfg and the copy inside efiboot.img (read with mtools).
fn menus(iso: &Path, dir: &Path) -> Vec<(&'static str, Vec<String>)> {
    require("mcopy");
    let tree = dir.join("tree");
    xorriso_extract(iso, &tree);
    let read = |rel: &str| fs::read_to_string(tree.join(rel)).unwrap();
    let efiboot = run(Command::new("mcopy")
        .arg("-n")
        .arg("-i")
        .arg(tree.join("boot/efiboot.img"))
        .arg("::EFI/xenserver/grub.cfg")
        .arg("-"));
    vec![
        (
            "isolinux.cfg",
            common::bootcfg::dom0_lines(&read("boot/isolinux/isolinux.cfg")),
        ),
        (
            "grub.cfg",
            common::bootcfg::dom0_lines(&read("EFI/xenserver/grub.cfg")),
        ),
        (
            "efiboot.img grub.cfg",
            common::bootcfg::dom0_lines(&efiboot),
        ),
    ]
}

/// How one dom0 line installs.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// With the answer file, checks as the answer file says.
    Unattended,
    /// Interactive, with the checks turned off on the line.
    InteractiveNoChecks,
    /// Interactive, checks on.
    Interactive,
}

/// Classifies a dom0 line, failing on a line that is half of each or names the answer file
/// twice.
fn line_kind(menu: &str, line: &str) -> Line {
    let words: Vec<&str> = line.split_whitespace().collect();
    let answers = words
        .iter()
        .filter(|w| w.starts_with("answerfile="))
        .count();
    let installs = words.iter().filter(|w| **w == "install").count();
    let off = NO_CHECKS.iter().filter(|a| words.contains(a)).count();
    assert!(answers <= 1, "{menu}: the answer file twice: {line}");
    assert!(off == 0 || off == 2, "{menu}: half the checks off: {line}");
    match (answers, off) {
        (1, 0) => {
            assert!(words.contains(&ANSWERFILE_ARG), "{menu}: {line}");
            assert_eq!(
                installs, 1,
                "{menu}: answer file without one `install`: {line}"
            );
            Line::Unattended
        }
        (1, _) => {
            panic!("{menu}: answer file and no-gpgcheck on one line (the installer aborts): {line}")
        }
        (_, 2) => Line::InteractiveNoChecks,
        _ => Line::Interactive,
    }
}

/// The kinds of every Xen entry in each menu; the three menus must agree.
fn entry_kinds(iso: &Path, dir: &Path) -> Vec<Line> {
    let menus = menus(iso, dir);
    let kinds: Vec<Vec<Line>> = menus
        .iter()
        .map(|(menu, lines)| lines.iter().map(|l| line_kind(menu, l)).collect())
        .collect();
    assert!(!kinds[0].is_empty(), "no Xen entry in {menus:?}");
    for k in &kinds[1..] {
        assert_eq!(k, &kinds[0], "the menus disagree: {menus:?}");
    }
    kinds.into_iter().next().unwrap()
}

/// Every entry installs, unattended ones with the answer file; returns the entries that ran.
fn installed(report: &Report) -> Vec<(String, bool, bool, Vec<String>)> {
    report.assert_every_entry_installs();
    report
        .installs()
        .map(|e| match &e.outcome {
            Outcome::Installed {
                unattended,
                gpgcheck,
                repo_gpgcheck,
                installed,
            } => {
                assert_eq!(
                    *unattended,
                    e.dom0_args.contains("answerfile="),
                    "{e:?}\n{}",
                    report.log
                );
                assert_eq!(gpgcheck, repo_gpgcheck, "{e:?}");
                (
                    e.dom0_args.clone(),
                    *unattended,
                    *gpgcheck,
                    installed.clone(),
                )
            }
            _ => unreachable!(),
        })
        .collect()
}

/// A throwaway GnuPG key (RSA, no passphrase); returns the armored secret key's path.
fn test_key(dir: &Path) -> PathBuf {
    common::gpg::test_key(dir, "Referee Test <referee@example.org>", "rsa2048", "").secret_file
}

#[test]
fn the_sample_installs_in_every_entry_with_signature_checks_on() {
    let dir = tempfile::tempdir().unwrap();
    let iso = dir.path().join("sample.iso");
    run(isoremix().arg("sample").arg(&iso));
    let report = referee::judge(&iso, dir.path());
    assert!(report.passed, "{}", report.log);
    let runs = installed(&report);
    assert!(runs.len() >= 5, "{runs:?}");
    for (dom0, unattended, checks, packages) in &runs {
        assert!(!unattended && *checks, "{dom0}: {}", report.log);
        assert!(
            packages.iter().any(|p| p.starts_with("bash-")),
            "{dom0}: {packages:?}"
        );
        assert_eq!(
            packages.iter().any(|p| p.starts_with("kernel-alt-")),
            dom0.split_whitespace().any(|w| w == "kernel-alt"),
            "{dom0}: {packages:?}"
        );
    }
    assert!(
        runs.iter()
            .any(|(dom0, ..)| dom0.split_whitespace().any(|w| w == "kernel-alt")),
        "no install-alt entry ran"
    );
    assert!(
        entry_kinds(&iso, dir.path())
            .iter()
            .all(|k| *k == Line::Interactive)
    );
}

/// The demo as shipped: signed with its throwaway key, an answer file. Every entry installs with
/// the checks on, nothing turns them off, and the build prints no warning.
#[test]
fn the_demo_installs_in_every_entry_with_checks_on_and_builds_without_warning() {
    let dir = tempfile::tempdir().unwrap();
    let iso = dir.path().join("demo.iso");
    let output = run_all(
        isoremix()
            .arg("build")
            .arg(manifest("profiles/demo.toml"))
            .arg("-o")
            .arg(&iso),
    );
    assert!(!output.contains("warning"), "{output}");
    let report = referee::judge(&iso, dir.path());
    assert!(report.passed, "{}", report.log);
    let runs = installed(&report);
    for (dom0, _, checks, packages) in &runs {
        assert!(checks, "{dom0}: {}", report.log);
        assert!(
            packages.iter().any(|p| p.starts_with("site-tools-")),
            "{dom0}: {packages:?}"
        );
    }
    let af = report
        .answerfile_results()
        .expect("an answer file in install.img");
    assert_eq!(af["gpgcheck"], true, "{af}");
    let kinds = entry_kinds(&iso, dir.path());
    assert!(kinds.contains(&Line::Unattended), "{kinds:?}");
    assert!(!kinds.contains(&Line::InteractiveNoChecks), "{kinds:?}");
}

/// The demo without its key: an answer file, packages changed without a key. The entries it
/// selects are unattended with the checks off in the answer file; the others interactive with
/// them off on their dom0 line.
#[test]
fn the_unsigned_demo_installs_in_every_entry_unattended_or_interactive() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_profile();
    let unsigned = demo
        .lines()
        .filter(|l| *l != "[signing]" && !l.starts_with("key = "))
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(unsigned, demo.trim_end(), "the demo has a [signing] key");
    let iso = build(dir.path(), "unsigned-demo", &unsigned);
    let report = referee::judge(&iso, dir.path());
    let runs = installed(&report);
    for (dom0, _, checks, packages) in &runs {
        assert!(!checks, "{dom0}: the repository is unsigned");
        assert!(
            packages.iter().any(|p| p.starts_with("site-tools-")),
            "{dom0}: {packages:?}"
        );
    }
    assert!(
        runs.iter().any(|r| r.1) && runs.iter().any(|r| !r.1),
        "{runs:?}"
    );
    let af = report
        .answerfile_results()
        .expect("an answer file in install.img");
    assert_eq!(af["gpgcheck"], false, "{af}");
    assert_eq!(af["repo-gpgcheck"], false, "{af}");
    let kinds = entry_kinds(&iso, dir.path());
    assert!(kinds.contains(&Line::Unattended), "{kinds:?}");
    assert!(kinds.contains(&Line::InteractiveNoChecks), "{kinds:?}");
    assert!(!kinds.contains(&Line::Interactive), "{kinds:?}");
}

/// Packages changed without a key and no answer file: every entry turns the checks off on its
/// dom0 line, and installs.
#[test]
fn an_unsigned_build_without_answer_file_installs_with_checks_off_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let profile = format!(
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n\
         [packages]\nadd = [\"{}\"]\n",
        common::demo::demo_rpm(dir.path()).display()
    );
    let iso = build(dir.path(), "unsigned", &profile);
    let report = referee::judge(&iso, dir.path());
    for (dom0, unattended, checks, _) in installed(&report) {
        assert!(!unattended && !checks, "{dom0}");
    }
    assert!(
        entry_kinds(&iso, dir.path())
            .iter()
            .all(|k| *k == Line::InteractiveNoChecks)
    );
}

/// An answer file and packages changed without a key, entries chosen by default: every entry
/// that runs an install reads the answer file (checks off in it), the shell entry stays
/// interactive with the checks off on its line.
#[test]
fn with_an_answer_file_by_default_every_install_entry_is_unattended() {
    let dir = tempfile::tempdir().unwrap();
    let profile = format!(
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n\
         [installer]\nanswerfile = \"{}\"\n[packages]\nadd = [\"{}\"]\n",
        manifest("profiles/demo/answerfile.xml").display(),
        common::demo::demo_rpm(dir.path()).display()
    );
    let iso = build(dir.path(), "answerfile", &profile);
    let report = referee::judge(&iso, dir.path());
    for (dom0, unattended, checks, _) in installed(&report) {
        assert!(unattended && !checks, "{dom0}");
    }
    let menus = menus(&iso, dir.path());
    for (menu, lines) in &menus {
        for line in lines {
            let expected = if line.contains("bash-shell") {
                Line::InteractiveNoChecks
            } else {
                Line::Unattended
            };
            assert_eq!(line_kind(menu, line), expected, "{menu}: {line}");
        }
    }
    let af = report
        .answerfile_results()
        .expect("an answer file in install.img");
    assert_eq!(af["gpgcheck"], false, "{af}");
}

/// An edit of the ISO filesystem only leaves `.treeinfo` byte for byte as it was: neither the
/// timestamp (another SOURCE_DATE_EPOCH) nor a `[general]` section it lacks is written.
#[test]
fn treeinfo_is_byte_identical_after_an_iso_only_edit() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let sample = dir.join("sample.iso");
    run(isoremix().arg("sample").arg(&sample));
    let readme = manifest("profiles/demo/files/README.site");
    let source_tree = dir.join("source");
    xorriso_extract(&sample, &source_tree);
    let original = fs::read(source_tree.join(".treeinfo")).unwrap();

    // The sample's own .treeinfo, built at another time.
    let profile = format!(
        "[source]\niso = \"{}\"\n[output]\niso = \"out.iso\"\n\
         [[iso.files]]\nsrc = \"{}\"\ndest = \"/README.site\"\n",
        sample.display(),
        readme.display()
    );
    let path = dir.join("iso-only.toml");
    fs::write(&path, &profile).unwrap();
    let out = dir.join("iso-only.iso");
    run(isoremix()
        .env("SOURCE_DATE_EPOCH", "1800000000")
        .arg("build")
        .arg(&path)
        .arg("-o")
        .arg(&out));
    let tree = dir.join("out");
    xorriso_extract(&out, &tree);
    assert!(tree.join("README.site").is_file());
    assert_eq!(
        String::from_utf8_lossy(&fs::read(tree.join(".treeinfo")).unwrap()),
        String::from_utf8_lossy(&original)
    );

    // A .treeinfo without [general], put in place by the same kind of edit.
    let bare = "[build]\nnumber = cloud\n[keys]\nkey1 = RPM-GPG-KEY-xcpng\n";
    let bare_path = dir.join("treeinfo");
    fs::write(&bare_path, bare).unwrap();
    let out = build(
        dir,
        "bare",
        &format!(
            "[source]\niso = \"{}\"\n[output]\niso = \"out.iso\"\n\
             [[iso.files]]\nsrc = \"{}\"\ndest = \"/.treeinfo\"\n",
            sample.display(),
            bare_path.display()
        ),
    );
    let tree = dir.join("bare-out");
    xorriso_extract(&out, &tree);
    assert_eq!(
        fs::read_to_string(tree.join(".treeinfo")).unwrap(),
        bare,
        "an ISO-only edit changed .treeinfo"
    );
}

/// A package built for the pool tests: one file of its own.
fn pool_package(dir: &Path, name: &str, version: &str, edit: impl FnOnce(&mut PackageSpec)) {
    let mut s = common::package::spec(name, version, "1", "x86_64");
    edit(&mut s);
    common::package::write(dir, &s);
}

/// A signed update respin with a pool: the pool's newer sample-tools and kernel-alt replace the
/// ISO's, a renamed release package obsoletes the old one, and an added package's library is
/// pulled in from the pool. Every entry installs with the checks on, and the install-alt entry
/// installs the pool's kernel-alt.
#[test]
fn a_signed_update_respin_with_a_pool_installs_in_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = test_key(d);
    let pool = d.join("pool");
    pool_package(&pool, "sample-tools", "1.1", |s| {
        s.requires.push(Dep::any("/bin/sh"))
    });
    pool_package(&pool, "kernel-alt", "4.19.400", |_| {});
    pool_package(&pool, "xcp-ng-branding", "8.3.1", |s| {
        s.provides
            .push(Dep::versioned("xcp-ng-release", DepCmp::Eq, "8.3.1-1"));
        s.obsoletes
            .push(Dep::versioned("xcp-ng-release", DepCmp::Lt, "8.3.1"));
    });
    pool_package(&pool, "libsite", "2.0", |s| {
        s.provides.push(Dep::any("libsite.so.2()(64bit)"))
    });
    pool_package(&d.join("rpms"), "site-agent", "1.0", |s| {
        s.requires.push(Dep::any("libsite.so.2()(64bit)"))
    });
    let iso = build(
        d,
        "respin",
        &format!(
            "[source]\niso = \"builtin:sample\"\n[output]\niso = \"respin.iso\"\n\
             [packages]\nadd = [\"{}/rpms/*.rpm\"]\nfrom = [\"{}\"]\nupdate = true\n\
             [signing]\nkey = \"{}\"\n",
            d.display(),
            pool.display(),
            key.display()
        ),
    );
    let report = referee::judge(&iso, d);
    let runs = installed(&report);
    assert!(runs.len() >= 5, "{runs:?}");
    for (dom0, unattended, checks, packages) in &runs {
        assert!(!unattended && *checks, "{dom0}: {}", report.log);
        for wanted in [
            "sample-tools-1.1-1",
            "xcp-ng-branding-8.3.1-1",
            "site-agent-1.0-1",
            "libsite-2.0-1",
        ] {
            assert!(
                packages.iter().any(|p| p.starts_with(wanted)),
                "{dom0}: no {wanted} in {packages:?}"
            );
        }
        assert!(
            !packages.iter().any(|p| p.starts_with("xcp-ng-release-")),
            "{dom0}: {packages:?}"
        );
        if dom0.split_whitespace().any(|w| w == "kernel-alt") {
            assert!(
                packages
                    .iter()
                    .any(|p| p.starts_with("kernel-alt-4.19.400-1")),
                "{dom0}: {packages:?}"
            );
        }
    }
}

/// Removing the package an entry asks for (install-alt: kernel-alt) is refused, naming the
/// entry, unless the pool supplies it again.
#[test]
fn an_entry_whose_target_is_gone_is_refused_unless_the_pool_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let profile = d.join("p.toml");
    fs::write(
        &profile,
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n\
         [packages]\nremove = [\"kernel-alt\"]\n",
    )
    .unwrap();
    let out = isoremix().arg("build").arg(&profile).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("entry \"install-alt\"") && err.contains("kernel-alt"),
        "{err}"
    );
    assert!(!d.join("out.iso").exists());

    pool_package(&d.join("pool"), "kernel-alt", "4.19.400", |_| {});
    fs::write(
        &profile,
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n\
         [packages]\nremove = [\"kernel-alt\"]\nfrom = [\"pool\"]\n",
    )
    .unwrap();
    let log = run_all(isoremix().arg("build").arg(&profile));
    assert!(log.contains("pulled in kernel-alt-4.19.400-1"), "{log}");
    let report = referee::judge(&d.join("out.iso"), d);
    let runs = installed(&report);
    assert!(
        runs.iter().any(|(dom0, _, _, packages)| dom0
            .split_whitespace()
            .any(|w| w == "kernel-alt")
            && packages
                .iter()
                .any(|p| p.starts_with("kernel-alt-4.19.400-1"))),
        "{runs:?}"
    );
}

/// An install.img edited block by block (a patch and a removal, spliced) is still what the
/// installer boots from: every entry installs, with the sample's signature checks on.
#[test]
fn a_spliced_install_img_installs_in_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(
        d.join("timeout.patch"),
        "--- a/opt/xensource/installer/constants.py\n\
         +++ b/opt/xensource/installer/constants.py\n\
         @@ -1,3 +1,3 @@\n \
         # isoremix sample\n \
         ANSWERFILE_PATH = '/tmp/answerfile'\n\
         -DEFAULT_TIMEOUT = 30\n\
         +DEFAULT_TIMEOUT = 10\n",
    )
    .unwrap();
    let profile = d.join("spliced.toml");
    fs::write(
        &profile,
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"spliced.iso\"\n\
         [installer]\npatches = [\"timeout.patch\"]\nremove = [\"/etc/motd\"]\n",
    )
    .unwrap();
    let json = run(isoremix()
        .env("XDG_CACHE_HOME", d.join("cache"))
        .arg("build")
        .arg(&profile)
        .arg("--json"));
    let report: serde_json::Value = serde_json::from_str(&json).expect("build --json");
    assert_eq!(
        report["changes"]["install_img"]["strategy"], "splice",
        "{json}"
    );
    let iso = d.join("spliced.iso");
    let verdict = referee::judge(&iso, d);
    verdict.assert_every_entry_installs();
    for (dom0, _, checks, _) in installed(&verdict) {
        assert!(checks, "{dom0}: the sample's signature checks stay on");
    }
}
