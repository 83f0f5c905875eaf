//! Bad inputs to `isoremix build`: each gives a clear error naming what is
//! wrong, a non-zero exit, and leaves no output file and no temporary file.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn build(dir: &Path, profile_text: &str, source: &Path) -> (bool, String) {
    let profile = dir.join("profile.toml");
    std::fs::write(&profile, profile_text).unwrap();
    let out = isoremix()
        .arg("build")
        .arg(&profile)
        .arg("--source")
        .arg(source)
        .arg("-o")
        .arg(dir.join("out/new.iso"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), stderr)
}

const PROFILE: &str = "[source]\niso = \"builtin:sample\"\n[output]\niso = \"x.iso\"\n";

fn assert_nothing_written(dir: &Path) {
    let out = dir.join("out");
    let left: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

/// Runs `build` and asserts it fails with an error containing every one of `needles`,
/// leaving nothing in `dir/out`.
fn refused(dir: &Path, profile_text: &str, source: &Path, needles: &[&str]) {
    let (ok, err) = build(dir, profile_text, source);
    assert!(!ok);
    for needle in needles {
        assert!(err.contains(needle), "{err}");
    }
    assert_nothing_written(dir);
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    dir
}

#[test]
fn truncated_iso_is_refused() {
    let dir = setup();
    let src = foreign_source(dir.path());
    let cut = dir.path().join("cut.iso");
    let bytes = std::fs::read(&src).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).unwrap();
    refused(dir.path(), PROFILE, &cut, &["cut.iso", "truncated"]);
}

#[test]
fn wrong_magic_is_refused() {
    let dir = setup();
    let bad = dir.path().join("bad.iso");
    std::fs::write(&bad, vec![0u8; 100_000]).unwrap();
    refused(dir.path(), PROFILE, &bad, &["bad.iso", "wrong magic"]);
}

#[test]
fn source_without_boot_catalog_is_refused() {
    let dir = setup();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("README"), "no boot\n").unwrap();
    let iso = dir.path().join("noboot.iso");
    require("genisoimage");
    run(Command::new("genisoimage")
        .args(["-quiet", "-r", "-J", "-o"])
        .arg(&iso)
        .arg(&tree));
    refused(dir.path(), PROFILE, &iso, &["noboot.iso", "boot catalog"]);
}

#[test]
fn profile_typo_names_line_and_column() {
    let dir = setup();
    let src = foreign_source(dir.path());
    let text = "[source]\niso = \"builtin:sample\"\n[output]\niso = \"x.iso\"\nvolumeid = \"X\"\n";
    refused(dir.path(), text, &src, &["profile.toml:5:1", "volumeid"]);
}

#[test]
fn missing_input_file_is_named() {
    let dir = setup();
    let src = foreign_source(dir.path());
    let text = format!("{PROFILE}[[iso.files]]\nsrc = \"files/nope.txt\"\ndest = \"/nope.txt\"\n");
    refused(dir.path(), &text, &src, &["nope.txt", "profile.toml:6"]);
}

#[test]
fn removing_a_file_the_source_lacks_fails_without_output() {
    let dir = setup();
    let src = foreign_source(dir.path());
    let text = format!("{PROFILE}[iso]\nremove = [\"/NO-SUCH-FILE\"]\n");
    refused(
        dir.path(),
        &text,
        &src,
        &["/NO-SUCH-FILE", "profile.toml:6"],
    );
}
