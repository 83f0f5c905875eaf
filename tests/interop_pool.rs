//! `[packages] from` (a pool of RPMs dependencies are drawn from), `update = true` (an update
//! respin) and `allow_unresolved`, end to end: `isoremix build` on the sample, then dnf 4
//! installs the meta-package from the output ISO's repository into an empty root (gpgcheck
//! off), so the referee proves the repository is complete. Also the default of
//! `[packages] install` and the profile errors of the new keys.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{isoremix, position_of, require, run, run_all, xorriso_extract};
use isoremix::rpm::{Dep, DepCmp, PackageSpec};

const EPOCH: u64 = 1_700_000_000;

fn spec(name: &str, version: &str, release: &str, arch: &str) -> PackageSpec {
    common::package::spec(name, version, release, arch)
}

fn write(dir: &Path, s: &PackageSpec) -> PathBuf {
    common::package::write(dir, s)
}

/// Provides `/bin/sh`, as the sample's `bash` does: a second provider the solver must not need.
fn sh_stub() -> PackageSpec {
    let mut s = spec("sh-stub", "1.0", "1", "noarch");
    s.provides.push(Dep::any("/bin/sh"));
    s
}

fn sample(work: &Path) {
    run(isoremix().arg("sample").arg(work.join("source.iso")));
}

fn build(work: &Path, profile: &str) -> String {
    let path = work.join("p.toml");
    fs::write(&path, profile).unwrap();
    run_all(
        isoremix()
            .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
            .arg("build")
            .arg(&path),
    )
}

fn build_fails(work: &Path, profile: &str) -> String {
    let path = work.join("p.toml");
    fs::write(&path, profile).unwrap();
    let out = isoremix()
        .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
        .arg("build")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the build should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn extract(work: &Path) -> PathBuf {
    let tree = work.join("tree");
    xorriso_extract(&work.join("out.iso"), &tree);
    run(Command::new("chmod").arg("-R").arg("u+w").arg(&tree));
    tree
}

fn files_in(tree: &Path) -> BTreeSet<String> {
    fs::read_dir(tree.join("Packages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

/// dnf 4 installs the meta-package from the tree's repository into an empty root; returns the
/// installed `name-version-release`.
fn dnf_installs_meta(work: &Path, tree: &Path) -> BTreeSet<String> {
    let root = work.join("root");
    common::dnf::dnf_install(&root, tree, &["xcp-ng-deps"]);
    common::dnf::installed(&root, "%{name}-%{version}-%{release}\\n")
}

const HEAD: &str = "[source]\niso = \"source.iso\"\n[output]\niso = \"out.iso\"\n";

#[test]
fn the_pool_supplies_missing_dependencies_and_only_those() {
    for tool in ["dnf", "rpm", "xorriso"] {
        require(tool);
    }
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    sample(work);
    let mut monitoring = spec("site-monitoring", "1.0", "1", "x86_64");
    monitoring.requires.push(Dep::any("libfoo.so.1()(64bit)"));
    write(&work.join("rpms"), &monitoring);
    let pool = work.join("pool");
    let mut libfoo = spec("libfoo", "1.2", "1", "x86_64");
    libfoo.provides.push(Dep::any("libfoo.so.1()(64bit)"));
    write(&pool.join("sub"), &libfoo);
    let mut older = spec("libfoo", "1.1", "1", "x86_64");
    older.provides.push(Dep::any("libfoo.so.1()(64bit)"));
    write(&pool, &older);
    // The sample's bash provides /bin/sh already: the pool's stub must stay out.
    write(&pool, &sh_stub());
    write(&pool, &spec("unneeded", "1.0", "1", "noarch"));
    let log = build(
        work,
        &format!("{HEAD}[packages]\nadd = [\"rpms/*.rpm\"]\nfrom = [\"pool/\"]\n"),
    );
    assert!(log.contains("packages: pool"), "{log}");
    assert!(
        log.contains(
            "packages: pulled in libfoo-1.2-1 from pool {} (required by site-monitoring-1.0-1)"
                .replace("{}", &work.join("pool/").display().to_string())
                .as_str()
        ),
        "{log}"
    );
    assert!(!log.contains("pulled in sh-stub"), "{log}");
    assert!(!log.contains("unneeded"), "{log}");
    let tree = extract(work);
    let files = files_in(&tree);
    assert!(files.contains("libfoo-1.2-1.x86_64.rpm"), "{files:?}");
    assert!(!files.contains("libfoo-1.1-1.x86_64.rpm"), "{files:?}");
    assert!(!files.contains("unneeded-1.0-1.noarch.rpm"), "{files:?}");
    assert!(!files.contains("sh-stub-1.0-1.noarch.rpm"), "{files:?}");
    let installed = dnf_installs_meta(work, &tree);
    let want: BTreeSet<String> = [
        "bash-4.2.46-35.el7_9",
        "libfoo-1.2-1",
        "sample-docs-1.0-1.xcpng8.3",
        "sample-tools-1.0-1.xcpng8.3",
        "site-monitoring-1.0-1",
        "xcp-ng-deps-8.3-1.xcpng8.3.remix1",
        "xcp-ng-release-8.3.0-1.xcpng8.3",
    ]
    .map(String::from)
    .into();
    assert_eq!(installed, want);
}

#[test]
fn an_update_respin_takes_newer_versions_and_renames() {
    for tool in ["dnf", "rpm", "xorriso"] {
        require(tool);
    }
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    sample(work);
    let pool = work.join("pool");
    let mut tools = spec("sample-tools", "1.1", "1.xcpng8.3", "x86_64");
    tools.requires.push(Dep::any("/bin/sh"));
    write(&pool, &tools);
    // An older sample-docs does not replace the source's.
    write(&pool, &spec("sample-docs", "0.9", "1", "noarch"));
    // The release package is renamed: the new name obsoletes and provides the old one.
    let mut release = spec("xcp-ng-branding", "8.3.1", "1", "x86_64");
    release
        .provides
        .push(Dep::versioned("xcp-ng-release", DepCmp::Eq, "8.3.1-1"));
    release
        .obsoletes
        .push(Dep::versioned("xcp-ng-release", DepCmp::Lt, "8.3.1"));
    write(&pool, &release);
    let log = build(
        work,
        &format!("{HEAD}[packages]\nfrom = [\"pool\"]\nupdate = true\n"),
    );
    assert!(
        log.contains("packages: updated sample-tools-1.0-1.xcpng8.3 → sample-tools-1.1-1.xcpng8.3"),
        "{log}"
    );
    assert!(
        log.contains("packages: updated xcp-ng-release-8.3.0-1.xcpng8.3 → xcp-ng-branding-8.3.1-1"),
        "{log}"
    );
    assert!(!log.contains("updated sample-docs"), "{log}");
    let tree = extract(work);
    let files = files_in(&tree);
    for gone in [
        "sample-tools-1.0-1.xcpng8.3.x86_64.rpm",
        "xcp-ng-release-8.3.0-1.xcpng8.3.x86_64.rpm",
    ] {
        assert!(!files.contains(gone), "{files:?}");
    }
    // inspect --against the source lists the same changes, from → to.
    let shown = run(isoremix()
        .arg("inspect")
        .arg(work.join("out.iso"))
        .arg("--against")
        .arg(work.join("source.iso")));
    for line in [
        "updated:   sample-tools-1.0-1.xcpng8.3.x86_64 → sample-tools-1.1-1.xcpng8.3.x86_64",
        "added:     xcp-ng-branding-8.3.1-1.x86_64",
        "removed:   xcp-ng-release-8.3.0-1.xcpng8.3.x86_64",
    ] {
        assert!(shown.contains(line), "no {line:?} in:\n{shown}");
    }
    assert!(!shown.contains("sample-docs-0.9"), "{shown}");
    let installed = dnf_installs_meta(work, &tree);
    let want: BTreeSet<String> = [
        "bash-4.2.46-35.el7_9",
        "sample-docs-1.0-1.xcpng8.3",
        "sample-tools-1.1-1.xcpng8.3",
        "xcp-ng-branding-8.3.1-1",
        "xcp-ng-deps-8.3-1.xcpng8.3",
    ]
    .map(String::from)
    .into();
    assert_eq!(installed, want);
}

#[test]
fn an_update_that_cannot_install_fails_with_its_chain() {
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    sample(work);
    let pool = work.join("pool");
    let mut tools = spec("sample-tools", "2.0", "1", "x86_64");
    tools.requires.push(Dep::any("libgone.so.2()(64bit)"));
    write(&pool, &tools);
    write(&pool, &sh_stub());
    let err = build_fails(
        work,
        &format!("{HEAD}[packages]\nfrom = [\"pool\"]\nupdate = true\n"),
    );
    assert!(
        err.contains(
            "xcp-ng-deps-8.3-1.xcpng8.3 → sample-tools-2.0-1 requires libgone.so.2()(64bit): \
             nothing on the ISO or in the pool provides it"
        ),
        "{err}"
    );
    assert!(
        err.contains("p.toml:6:"),
        "the error names the from key: {err}"
    );
}

#[test]
fn a_zstd_package_of_the_pool_is_not_taken() {
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    sample(work);
    let mut app = spec("site-app", "1.0", "1", "x86_64");
    app.requires.push(Dep::any("libzz.so.1()(64bit)"));
    write(&work.join("rpms"), &app);
    let pool = work.join("pool");
    let mut zstd = spec("libzz", "1.0", "1", "x86_64");
    zstd.provides.push(Dep::any("libzz.so.1()(64bit)"));
    zstd.requires.push(Dep::versioned(
        "rpmlib(PayloadIsZstd)",
        DepCmp::Le,
        "5.4.18-1",
    ));
    write(&pool, &zstd);
    // The only provider needs a payload format rpm 4.11 cannot unpack, so it is not taken (were
    // it taken, the build would succeed), and the build refuses the result rather than ship a
    // repository the installer cannot install.
    let err = build_fails(
        work,
        &format!("{HEAD}[packages]\nadd = [\"rpms/*.rpm\"]\nfrom = [\"pool\"]\n"),
    );
    assert!(!err.contains("pulled in libzz"), "{err}");
    assert!(
        err.contains("entry \"install\": ")
            && err.contains(
                "site-app-1.0-1 requires libzz.so.1()(64bit): nothing on the ISO provides it"
            ),
        "{err}"
    );
    // Why the pool's provider was passed over is said with the refusal.
    assert!(
        err.contains(
            "libzz-1.0-1 requires rpmlib(PayloadIsZstd) <= 5.4.18-1: rpm 4.11.3 (XCP-ng's) \
             does not provide it"
        ),
        "{err}"
    );
    assert!(!work.join("out.iso").exists());
}

#[test]
fn allow_unresolved_turns_an_unmet_requirement_into_a_warning() {
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    sample(work);
    let mut agent = spec("vendor-agent", "1.0", "1", "x86_64");
    agent.requires.push(Dep::any("libvendor.so.3()(64bit)"));
    write(&work.join("rpms"), &agent);
    write(&work.join("rpms"), &sh_stub());
    let log = build(
        work,
        &format!(
            "{HEAD}[packages]\nadd = [\"rpms/*.rpm\"]\nallow_unresolved = [\"vendor-agent\"]\n"
        ),
    );
    assert!(
        log.contains(
            "warning: packages: vendor-agent-1.0-1 requires \
             libvendor.so.3()(64bit): nothing on the ISO provides it (tolerated by [packages] \
             allow_unresolved)"
        ),
        "{log}"
    );
}

#[test]
fn install_default_leaves_out_what_another_added_package_requires() {
    require("rpm");
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    sample(work);
    let rpms = work.join("rpms");
    let mut app = spec("site-app", "1.0", "1", "x86_64");
    app.requires
        .push(Dep::versioned("site-lib", DepCmp::Ge, "1.0"));
    write(&rpms, &app);
    write(&rpms, &spec("site-lib", "1.0", "1", "x86_64"));
    write(&rpms, &sh_stub());
    let log = build(work, &format!("{HEAD}[packages]\nadd = [\"rpms/*.rpm\"]\n"));
    assert!(
        log.contains("requires sh-stub, site-app\n")
            || log.contains("requires site-app, sh-stub\n"),
        "{log}"
    );
    assert!(!log.contains("requires site-app, site-lib"), "{log}");
    let tree = extract(work);
    let meta = tree
        .join("Packages")
        .join("xcp-ng-deps-8.3-1.xcpng8.3.remix1.noarch.rpm");
    let db = work.join("db");
    fs::create_dir_all(&db).unwrap();
    let requires = run(Command::new("rpm")
        .arg("--dbpath")
        .arg(&db)
        .args(["-qp", "--requires"])
        .arg(&meta));
    assert!(requires.contains("site-app"), "{requires}");
    assert!(!requires.contains("site-lib"), "{requires}");
}

/// The new keys' profile errors carry the file, line and column.
#[test]
fn new_keys_are_checked_with_positions() {
    let work = tempfile::tempdir().unwrap();
    let work = work.path();
    fs::write(work.join("source.iso"), b"").unwrap();
    fs::write(work.join("afile"), b"").unwrap();
    let path = work.join("p.toml");
    for (text, needle, words) in [
        (
            format!("{HEAD}[packages]\nfrom = [\"missing/\"]\n"),
            "\"missing/\"",
            &["package pool folder", "does not exist"][..],
        ),
        (
            format!("{HEAD}[packages]\nfrom = [\"afile\"]\n"),
            "\"afile\"",
            &["package pool folder", "is not a folder"][..],
        ),
        (
            format!("{HEAD}[packages]\nallow_unresolved = [\"bad name\"]\n"),
            "\"bad name\"",
            &["package name", "not a valid RPM name"][..],
        ),
        (
            format!("{HEAD}[packages]\nupdate = \"yes\"\n"),
            "\"yes\"",
            &["bool"][..],
        ),
    ] {
        fs::write(&path, &text).unwrap();
        let message = match isoremix::profile::Profile::load(&path) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e.to_string(),
        };
        let (line, col) = position_of(&text, needle);
        let prefix = format!("{}:{line}:{col}: ", path.display());
        assert!(
            message.starts_with(&prefix),
            "want {prefix:?}, got {message:?}"
        );
        for w in words {
            assert!(message.contains(w), "{message:?} does not mention {w:?}");
        }
    }
}
