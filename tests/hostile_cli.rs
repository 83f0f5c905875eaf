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
    let (ok, err) = build(dir.path(), PROFILE, &cut);
    assert!(!ok);
    assert!(
        err.contains("cut.iso") && err.contains("truncated"),
        "{err}"
    );
    assert_nothing_written(dir.path());
}

#[test]
fn wrong_magic_is_refused() {
    let dir = setup();
    let bad = dir.path().join("bad.iso");
    std::fs::write(&bad, vec![0u8; 100_000]).unwrap();
    let (ok, err) = build(dir.path(), PROFILE, &bad);
    assert!(!ok);
    assert!(
        err.contains("bad.iso") && err.contains("wrong magic"),
        "{err}"
    );
    assert_nothing_written(dir.path());
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
    let (ok, err) = build(dir.path(), PROFILE, &iso);
    assert!(!ok);
    assert!(
        err.contains("noboot.iso") && err.contains("boot catalog"),
        "{err}"
    );
    assert_nothing_written(dir.path());
}

#[test]
fn profile_typo_names_line_and_column() {
    let dir = setup();
    let src = foreign_source(dir.path());
    let text = "[source]\niso = \"builtin:sample\"\n[output]\niso = \"x.iso\"\nvolumeid = \"X\"\n";
    let (ok, err) = build(dir.path(), text, &src);
    assert!(!ok);
    assert!(err.contains("profile.toml:5:1"), "{err}");
    assert!(err.contains("volumeid"), "{err}");
    assert_nothing_written(dir.path());
}

#[test]
fn missing_input_file_is_named() {
    let dir = setup();
    let src = foreign_source(dir.path());
    let text = format!("{PROFILE}[[iso.files]]\nsrc = \"files/nope.txt\"\ndest = \"/nope.txt\"\n");
    let (ok, err) = build(dir.path(), &text, &src);
    assert!(!ok);
    assert!(
        err.contains("nope.txt") && err.contains("profile.toml:6"),
        "{err}"
    );
    assert_nothing_written(dir.path());
}

#[test]
fn removing_a_file_the_source_lacks_fails_without_output() {
    let dir = setup();
    let src = foreign_source(dir.path());
    let text = format!("{PROFILE}[iso]\nremove = [\"/NO-SUCH-FILE\"]\n");
    let (ok, err) = build(dir.path(), &text, &src);
    assert!(!ok);
    assert!(
        err.contains("/NO-SUCH-FILE") && err.contains("profile.toml:6"),
        "{err}"
    );
    assert_nothing_written(dir.path());
}
