//! Bad inputs to the `[packages]` and `[signing]` steps: each build fails with a message that
//! names the problem, and no output image is left behind.

mod common;

use std::fs;
use std::path::Path;

use common::{groups_source, isoremix};
use isoremix::rpm::{FileSpec, PackageSpec, build_package};

/// The demo package's bytes.
fn demo_rpm() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    fs::read(common::demo::demo_rpm(dir.path())).unwrap()
}

fn package(name: &str, version: &str, release: &str) -> Vec<u8> {
    let mut s = PackageSpec::new(
        name,
        version,
        release,
        "noarch",
        1_700_000_000,
        "test.invalid",
    );
    s.summary = format!("{name} for a hostile test");
    s.description = s.summary.clone();
    s.files.push(FileSpec::new(
        format!("/usr/share/{name}/{release}"),
        0o644,
        1_700_000_000,
        b"x\n".to_vec(),
    ));
    let mut out = Vec::new();
    build_package(&s, &mut out).unwrap();
    out
}

/// Builds `[packages]`/`[signing]` text against `source` in `work` with the given RPM files
/// under `rpms/`; the build must fail. Returns its stderr, after checking no output exists.
fn fails(work: &Path, source: &str, rpms: &[(&str, Vec<u8>)], sections: &str) -> String {
    let dir = work.join("rpms");
    fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in rpms {
        fs::write(dir.join(name), bytes).unwrap();
    }
    let profile = work.join("p.toml");
    fs::write(
        &profile,
        format!("[source]\niso = \"{source}\"\n[output]\niso = \"out.iso\"\n{sections}"),
    )
    .unwrap();
    let out = isoremix()
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env_remove("PK_HOSTILE_PASS")
        .arg("build")
        .arg(&profile)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "the build should fail:\n{stderr}");
    assert!(
        !work.join("out.iso").exists(),
        "no output image after a failure"
    );
    let partial = fs::read_dir(work)
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().contains("partial"));
    assert!(!partial, "no partial file left");
    stderr
}

const ADD: &str = "[packages]\nadd = [\"rpms/*.rpm\"]\n";

#[test]
fn a_file_that_is_not_an_rpm_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let err = fails(
        work.path(),
        "builtin:sample",
        &[("notes.rpm", b"just some text, not a package\n".to_vec())],
        ADD,
    );
    assert!(
        err.contains("notes.rpm") && err.contains("not a readable RPM"),
        "{err}"
    );
}

#[test]
fn a_truncated_header_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let mut rpm = demo_rpm();
    rpm.truncate(300);
    let err = fails(work.path(), "builtin:sample", &[("cut.rpm", rpm)], ADD);
    assert!(
        err.contains("cut.rpm") && err.contains("not a readable RPM"),
        "{err}"
    );
}

#[test]
fn two_added_packages_with_the_same_name_collide() {
    let work = tempfile::tempdir().unwrap();
    let err = fails(
        work.path(),
        "builtin:sample",
        &[
            ("a.rpm", package("site-tools", "1.0", "1")),
            ("b.rpm", package("site-tools", "1.0", "2")),
        ],
        ADD,
    );
    assert!(err.contains("are both package site-tools"), "{err}");
}

#[test]
fn a_lower_version_is_refused_unless_downgrades_are_allowed() {
    let work = tempfile::tempdir().unwrap();
    let old = [("old.rpm", package("sample-docs", "0.9", "1"))];
    let err = fails(work.path(), "builtin:sample", &old, ADD);
    assert!(
        err.contains("lower") && err.contains("sample-docs") && err.contains("allow_downgrade"),
        "{err}"
    );
    let profile = work.path().join("ok.toml");
    fs::write(
        &profile,
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"ok.iso\"\n\
         [packages]\nadd = [\"rpms/*.rpm\"]\nallow_downgrade = true\n",
    )
    .unwrap();
    let out = isoremix().arg("build").arg(&profile).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn removing_an_absent_package_is_an_error() {
    let work = tempfile::tempdir().unwrap();
    let err = fails(
        work.path(),
        "builtin:sample",
        &[],
        "[packages]\nremove = [\"no-such-package\"]\n",
    );
    assert!(err.contains("cannot remove no-such-package"), "{err}");
}

#[test]
fn installing_a_name_nothing_provides_is_an_error() {
    let work = tempfile::tempdir().unwrap();
    let err = fails(
        work.path(),
        "builtin:sample",
        &[],
        "[packages]\ninstall = [\"ghost-package\"]\n",
    );
    assert!(err.contains("cannot install ghost-package"), "{err}");
}

#[test]
fn a_source_without_meta_package_or_group_says_what_to_set() {
    let work = tempfile::tempdir().unwrap();
    let err = fails(
        work.path(),
        "builtin:sample",
        &[("site-tools.rpm", demo_rpm())],
        "[packages]\nadd = [\"rpms/*.rpm\"]\nremove = [\"xcp-ng-deps\"]\n",
    );
    assert!(
        err.contains("set [packages] meta =") && err.contains("or group ="),
        "{err}"
    );
}

#[test]
fn a_comps_file_that_is_not_xml_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let iso = groups_source(work.path(), b"this is not XML at all\n");
    let err = fails(
        work.path(),
        iso.to_str().unwrap(),
        &[("site-tools.rpm", demo_rpm())],
        ADD,
    );
    assert!(err.contains("comps"), "{err}");
}

#[test]
fn a_missing_or_unusable_signing_key_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let err = fails(
        work.path(),
        "builtin:sample",
        &[("site-tools.rpm", demo_rpm())],
        "[packages]\nadd = [\"rpms/*.rpm\"]\n[signing]\nkey = \"missing.asc\"\n",
    );
    assert!(err.contains("missing.asc"), "{err}");

    fs::write(work.path().join("garbage.asc"), "not a key\n").unwrap();
    let err = fails(
        work.path(),
        "builtin:sample",
        &[("site-tools.rpm", demo_rpm())],
        "[packages]\nadd = [\"rpms/*.rpm\"]\n[signing]\nkey = \"garbage.asc\"\n",
    );
    assert!(
        err.contains("signing key") && err.contains("garbage.asc"),
        "{err}"
    );

    let err = fails(
        work.path(),
        "builtin:sample",
        &[("site-tools.rpm", demo_rpm())],
        "[packages]\nadd = [\"rpms/*.rpm\"]\n[signing]\nkey = \"garbage.asc\"\npassphrase_env = \"PK_HOSTILE_PASS\"\n",
    );
    assert!(
        err.contains("PK_HOSTILE_PASS") && err.contains("not set"),
        "{err}"
    );
}

/// A `[[packages.build]]` of site-tools from one plain file, written in `work`.
fn build_site_tools(work: &Path, version: &str) -> String {
    fs::write(work.join("site-tool"), "#!/bin/sh\n").unwrap();
    format!(
        "[[packages.build]]\nname = \"site-tools\"\nversion = \"{version}\"\nsummary = \"Tools\"\n\
         license = \"MIT\"\n[[packages.build.files]]\nsrc = \"site-tool\"\ndest = \"/usr/bin/site-tool\"\n"
    )
}

#[test]
fn a_built_package_and_an_added_one_of_the_same_name_collide() {
    let work = tempfile::tempdir().unwrap();
    let sections = format!("{ADD}{}", build_site_tools(work.path(), "2.0"));
    let err = fails(
        work.path(),
        "builtin:sample",
        &[("site-tools.rpm", demo_rpm())],
        &sections,
    );
    // Where the file was asked for, then both: the file and the table that built the other.
    let at = format!("{}:6:8: ", work.path().join("p.toml").display());
    assert!(err.contains(&at), "{err}");
    assert!(
        err.contains(
            "rpms/site-tools.rpm and [[packages.build]] site-tools are both package site-tools"
        ),
        "{err}"
    );
}

#[test]
fn a_built_package_lower_than_the_sources_is_a_downgrade() {
    let work = tempfile::tempdir().unwrap();
    let sections = format!(
        "[packages]\n{}",
        build_site_tools(work.path(), "0.1").replace("site-tools", "sample-docs")
    );
    let err = fails(work.path(), "builtin:sample", &[], &sections);
    assert!(
        err.contains("[[packages.build]] sample-docs would replace sample-docs")
            && err.contains("allow_downgrade"),
        "{err}"
    );
}
