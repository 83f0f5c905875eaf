//! A build that fails says where in the profile the failing edit is on its first line, and the
//! format layer's own error on `caused by:` lines below it (the chain the step errors keep).

use std::path::Path;
use std::process::Command;

/// Plans `body` (after `[source]` = the built-in sample and `[output]`) from a profile in
/// `dir`; returns the stderr lines of the refusal.
fn refused(dir: &Path, body: &str) -> Vec<String> {
    let path = dir.join("site.toml");
    std::fs::write(
        &path,
        format!("[source]\niso = \"builtin:sample\"\n[output]\niso = \"o.iso\"\n{body}"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_isoremix"))
        .args(["build", "--plan"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "not refused: {stderr}");
    stderr.lines().map(str::to_string).collect()
}

/// Asserts that `lines` are `error: <first>` then at least one `  caused by: ` line holding
/// every one of `causes`.
fn assert_chain(lines: &[String], first: &str, causes: &[&str]) {
    assert_eq!(lines.first().map(String::as_str), Some(first), "{lines:#?}");
    let caused: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("  caused by: "))
        .collect();
    assert!(!caused.is_empty(), "no cause shown: {lines:#?}");
    for c in causes {
        assert!(
            caused.iter().any(|l| l.contains(c)),
            "{c:?} is not in a cause: {lines:#?}"
        );
    }
}

#[test]
fn removing_a_missing_iso_file_names_the_profile_line_and_the_iso_layers_reason() {
    let dir = tempfile::tempdir().unwrap();
    let lines = refused(dir.path(), "[iso]\nremove = [\"/NO-SUCH-FILE\"]\n");
    let at = format!("{}:6:11", dir.path().join("site.toml").display());
    assert_chain(
        &lines,
        &format!("error: {at}: cannot remove /NO-SUCH-FILE"),
        &["/NO-SUCH-FILE", "no such file"],
    );
}

#[test]
fn an_unknown_boot_entry_names_the_profile_line_and_the_menus_entries() {
    let dir = tempfile::tempdir().unwrap();
    let lines = refused(dir.path(), "[boot]\ndefault = \"instal\"\n");
    let at = format!("{}:6:11", dir.path().join("site.toml").display());
    assert_chain(
        &lines,
        &format!("error: {at}: cannot edit the boot menus"),
        &["no boot menu has an entry \"instal\"", "install, no-serial"],
    );
}

#[test]
fn a_key_that_is_not_a_key_names_the_profile_line_and_why() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("garbage.asc"), "not a key\n").unwrap();
    let lines = refused(dir.path(), "[signing]\nkey = \"garbage.asc\"\n");
    let at = format!("{}:6:7", dir.path().join("site.toml").display());
    assert_chain(
        &lines,
        &format!("error: {at}: cannot sign with this key"),
        &["garbage.asc"],
    );
}
