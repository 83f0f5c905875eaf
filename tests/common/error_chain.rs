//! Refused plans through the CLI, read as an error chain: the first line (where in the profile,
//! what failed) and the `  caused by: ` lines the lower layers' errors print below it.

use std::path::Path;

/// Plans `body` (after `[source]` = the built-in sample and `[output]`) from a profile written
/// as `dir/site.toml`; returns the stderr lines of the refusal (exit 1).
pub fn refused(dir: &Path, body: &str) -> Vec<String> {
    let path = dir.join("site.toml");
    std::fs::write(&path, super::refusal::profile(body)).unwrap();
    let out = super::isoremix()
        .args(["build", "--plan"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "not refused: {stderr}");
    stderr.lines().map(str::to_string).collect()
}

/// `file:line:column` of the value on profile line `line` (1-based, counting the `[source]`
/// and `[output]` lines [`refused`] writes first) at `column`.
pub fn at(dir: &Path, line: usize, column: usize) -> String {
    format!("{}:{line}:{column}", dir.join("site.toml").display())
}

/// Asserts that `lines` are `error: <first>` then at least one `  caused by: ` line holding
/// every one of `causes`.
pub fn assert_chain(lines: &[String], first: &str, causes: &[&str]) {
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
