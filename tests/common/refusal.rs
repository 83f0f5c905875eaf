//! Refused builds through the CLI: a build of a profile from a source into `DIR/out/new.iso`,
//! and the checks every refusal must pass (exit 1, the message names what is wrong, nothing at or
//! beside the target, the source unchanged).

use std::path::{Path, PathBuf};
use std::process::Output;

use sha2::{Digest, Sha256};

/// A file's SHA-256, to show that a refused build leaves its source as it was.
pub fn sha256(path: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

/// The target of every build here: `dir/out/new.iso`.
pub fn target(dir: &Path) -> PathBuf {
    dir.join("out/new.iso")
}

/// A profile with `body` after its `[source]` and `[output]` (both given on the command line).
pub fn profile(body: &str) -> String {
    format!("[source]\niso = \"builtin:sample\"\n[output]\niso = \"o.iso\"\n{body}")
}

/// Runs `isoremix build` of `profile` (TOML text, written as `dir/profile.toml`) from `source`
/// into [`target`] (its folder is made if missing).
pub fn build(dir: &Path, profile: &str, source: &Path) -> Output {
    let path = dir.join("profile.toml");
    std::fs::write(&path, profile).unwrap();
    std::fs::create_dir_all(dir.join("out")).unwrap();
    super::isoremix()
        .arg("build")
        .arg(&path)
        .arg("--source")
        .arg(source)
        .arg("-o")
        .arg(target(dir))
        .output()
        .unwrap()
}

/// Asserts that `out` is a refusal (exit 1) whose message holds every `needle`, that nothing
/// is in `dir/out`, and that `source` still hashes to `before`; returns the message.
pub fn assert_refused(
    out: &Output,
    dir: &Path,
    source: &Path,
    before: &[u8],
    needles: &[&str],
) -> String {
    let msg = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "not refused: {msg}");
    for n in needles {
        assert!(msg.contains(n), "{msg:?} does not mention {n:?}");
    }
    let left = super::names(&dir.join("out"));
    assert!(
        left.is_empty(),
        "files left at or beside the target: {left:?}"
    );
    assert_eq!(sha256(source), before, "the source changed");
    msg
}

/// Builds `profile` from `source` and asserts the refusal (see [`assert_refused`]).
pub fn refused(dir: &Path, profile: &str, source: &Path, needles: &[&str]) -> String {
    let before = sha256(source);
    let out = build(dir, profile, source);
    assert_refused(&out, dir, source, &before, needles)
}
