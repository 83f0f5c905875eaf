//! The command line documents itself: shell completions and manual pages
//! name every subcommand, and every subcommand's `--help` ends with examples.

mod common;

use std::path::Path;

/// The stdout of `isoremix ARGS`, which must succeed.
fn stdout(args: &[&str]) -> String {
    String::from_utf8(common::isoremix_ok(Path::new("."), args).stdout).unwrap()
}

/// The subcommands `isoremix --help` lists (without clap's own `help`).
fn subcommands() -> Vec<String> {
    let help = stdout(&["--help"]);
    let list: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect();
    for known in [
        "build",
        "inspect",
        "verify",
        "extract",
        "driver-disk",
        "sample",
        "completions",
        "man",
    ] {
        assert!(list.iter().any(|n| n == known), "{known} not in {list:?}");
    }
    list
}

#[test]
fn completions_name_every_subcommand() {
    let subcommands = subcommands();
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout(&["completions", shell]);
        for sub in &subcommands {
            assert!(script.contains(sub.as_str()), "{shell}: no {sub}");
        }
        // Each shell's own syntax, so the script is for that shell.
        let marker = match shell {
            "bash" => "complete -F",
            "zsh" => "#compdef isoremix",
            _ => "complete -c isoremix",
        };
        assert!(script.contains(marker), "{shell}: no {marker:?}");
    }
}

#[test]
fn the_manual_page_names_every_subcommand() {
    let page = stdout(&["man"]);
    assert!(
        page.starts_with(".ie") || page.contains(".TH isoremix 1"),
        "{page}"
    );
    for sub in subcommands() {
        let roff = sub.replace('-', "\\-");
        assert!(
            page.contains(&format!("isoremix\\-{roff}(1)")),
            "no isoremix-{sub}(1) in the page"
        );
    }
}

#[test]
fn man_dir_writes_one_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    stdout(&["-q", "man", "--dir", out.to_str().unwrap()]);
    assert!(out.join("isoremix.1").is_file());
    for sub in subcommands() {
        let page = std::fs::read_to_string(out.join(format!("isoremix-{sub}.1"))).unwrap();
        assert!(
            page.contains("Examples:"),
            "isoremix-{sub}.1 has no examples"
        );
    }
}

#[test]
fn every_subcommand_help_ends_with_examples() {
    for sub in subcommands() {
        let help = stdout(&[&sub, "--help"]);
        let examples = help
            .split_once("\nExamples:\n")
            .unwrap_or_else(|| panic!("{sub} --help has no Examples section:\n{help}"))
            .1;
        assert!(
            examples
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("isoremix {sub}"))
                    || l.contains(&format!(" {sub} "))),
            "{sub}'s examples do not run {sub}:\n{examples}"
        );
    }
}
