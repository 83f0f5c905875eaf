//! What commands show while they run: labelled bars on a terminal whose
//! counts end at their totals, plain step lines when standard error is not a
//! terminal, and nothing at all with `-q` on success.
//!
//! The terminal is a pseudo-terminal made by `script` (util-linux).

mod common;

use std::path::Path;
use std::process::Command;

use common::isoremix_ok;

const BIN: &str = env!("CARGO_BIN_EXE_isoremix");

fn demo_profile() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/demo.toml")
}

/// Runs `isoremix ARGS` on a 200-column pseudo-terminal and returns what it drew.
fn on_a_terminal(dir: &Path, args: &str) -> String {
    let out = Command::new("script")
        .current_dir(dir)
        .env("TERM", "xterm")
        .args([
            "-qfec",
            &format!("stty cols 200 rows 50; {BIN} {args}"),
            "/dev/null",
        ])
        .output()
        .expect("script (util-linux) runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "isoremix {args}:\n{text}");
    text
}

/// The screen's lines: split at carriage returns, newlines and escape sequences (which move
/// the cursor or clear a line: no colours are drawn).
fn lines(raw: &str) -> Vec<String> {
    let mut plain = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // Parameters and intermediates, up to the final letter.
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() || c == '~' {
                        break;
                    }
                }
            }
            plain.push('\n');
            continue;
        }
        plain.push(c);
    }
    plain
        .split(['\r', '\n'])
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Bytes of an indicatif count such as `29.05 MiB` or `734 B`.
fn bytes(text: &str) -> f64 {
    let (n, unit) = text.trim().split_once(' ').unwrap_or((text, "B"));
    let n: f64 = n
        .parse()
        .unwrap_or_else(|_| panic!("not a count: {text:?}"));
    let scale = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => panic!("unit {other:?} in {text:?}"),
    };
    n * scale
}

/// Checks every bar frame and closing line drawn, and returns the labels of the closing lines.
fn check_screen(raw: &str) -> Vec<String> {
    let mut closed = Vec::new();
    let mut frames = 0;
    for line in lines(raw) {
        // A bar: `⠁ label: [===>   ] done/total rate, eta left`.
        if let Some((head, rest)) = line.split_once(": [") {
            frames += 1;
            let label = head.split_once(' ').map_or(head, |(_, l)| l);
            assert!(
                label.chars().any(|c| c.is_ascii_alphabetic()),
                "unlabelled bar: {line}"
            );
            assert!(rest.ends_with(" left"), "no time left: {line}");
            let counts = rest.split_once("] ").unwrap().1;
            let (done, total) = counts.split_once('/').unwrap();
            let total = total.rsplit_once(", ").unwrap().0;
            let total = total.rsplit_once(' ').unwrap().0;
            let total = total.rsplit_once(' ').map_or(total, |(t, _)| t);
            assert!(
                bytes(done) <= bytes(total) || !total.contains('B'),
                "count past its total: {line}"
            );
        }
        // A closing line: `  label: count in 0.1 s (rate/s)`.
        else if let Some(step) = line.strip_prefix("  ")
            && let Some((label, tail)) = step.split_once(": ")
            && tail.contains(" s")
            && tail.contains(" in ")
        {
            assert!(
                !tail.contains(" of "),
                "{label} ended short of its total: {line}"
            );
            closed.push(label.to_string());
        }
    }
    assert!(frames > 0, "no bar was drawn:\n{raw}");
    closed
}

#[test]
fn bars_on_a_terminal_are_labelled_and_end_at_their_totals() {
    let dir = tempfile::tempdir().unwrap();
    let sample = on_a_terminal(dir.path(), "sample --size 20000000 source.iso");
    let closed = check_screen(&sample);
    for label in ["making padding packages", "writing"] {
        assert!(closed.iter().any(|l| l == label), "{label}: {closed:?}");
    }

    let demo = demo_profile();
    let build = on_a_terminal(
        dir.path(),
        &format!(
            "build {} --source source.iso -o out.iso",
            demo.to_str().unwrap()
        ),
    );
    let closed = check_screen(&build);
    for label in ["reading install.img", "re-packing install.img", "writing"] {
        assert!(closed.iter().any(|l| l == label), "{label}: {closed:?}");
    }
    // Step lines come as each step ends: the installer's before the image is written.
    let screen = lines(&build);
    let at = |needle: &str| {
        screen
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not on screen"))
    };
    assert!(at("installer: install.img re-packed") < at("  writing: "));
    assert!(dir.path().join("out.iso").is_file());
}

#[test]
fn without_a_terminal_only_plain_lines_are_printed() {
    let dir = tempfile::tempdir().unwrap();
    let out = isoremix_ok(dir.path(), &["sample", "--size", "8000000", "source.iso"]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains('\r') && !err.contains('\u{1b}'), "{err:?}");
    assert!(err.contains("  making padding packages: "), "{err}");
    assert!(err.contains("  writing: "), "{err}");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "wrote source.iso\n");
}

#[test]
fn quiet_prints_nothing_on_success() {
    let dir = tempfile::tempdir().unwrap();
    let out = isoremix_ok(dir.path(), &["-q", "sample", "source.iso"]);
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    let demo = demo_profile();
    let out = isoremix_ok(
        dir.path(),
        &[
            "build",
            demo.to_str().unwrap(),
            "-q",
            "--source",
            "source.iso",
            "-o",
            "out.iso",
        ],
    );
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    assert!(dir.path().join("out.iso").is_file());
    // The same build without -q says what it did.
    let out = isoremix_ok(
        dir.path(),
        &[
            "build",
            demo.to_str().unwrap(),
            "--source",
            "source.iso",
            "-o",
            "again.iso",
        ],
    );
    assert!(!out.stdout.is_empty() && !out.stderr.is_empty());
    // Errors still show.
    let failed = Command::new(BIN)
        .current_dir(dir.path())
        .args(["-q", "verify", "missing.iso"])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("missing.iso"));
}

#[test]
fn verbose_adds_per_package_detail() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo_profile();
    let out = isoremix_ok(
        dir.path(),
        &["-v", "build", demo.to_str().unwrap(), "-o", "out.iso"],
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("    added site-tools-1.0-1.noarch"), "{err}");
    assert!(
        err.contains(
            "    built site-tools-1.0-1.noarch.rpm from 2 file(s) ([[packages.build]] at "
        ),
        "{err}"
    );
    assert!(
        err.contains("    install.img: put /etc/site-banner"),
        "{err}"
    );
    assert!(err.contains("    install.img: removed /etc/motd"), "{err}");
    // Detail follows its step's line.
    let step = err.find("installer: install.img re-packed").unwrap();
    assert!(step < err.find("install.img: put /etc/site-banner").unwrap());
}
