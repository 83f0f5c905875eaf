//! Joliet names up to 103 characters, as XCP-ng's ISOs are written (`genisoimage -J
//! --joliet-long`): repodata names (80 characters) and long added names are stored whole in the
//! Joliet tree, judged by xorriso and isoinfo reading the Joliet tree alone; only a longer name
//! is cut, with a warning.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;

/// The paths in the Joliet tree of `iso`, as isoinfo lists them reading that tree alone.
fn joliet_paths(iso: &Path) -> Vec<String> {
    require("isoinfo");
    run(Command::new("isoinfo")
        .arg("-J")
        .arg("-f")
        .arg("-i")
        .arg(iso))
    .lines()
    .map(str::to_owned)
    .collect()
}

#[test]
fn long_names_are_whole_in_the_joliet_tree_as_genisoimage_joliet_long_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    xcpng_tree(&tree);
    let long = format!("{}.txt", "n".repeat(96)); // 100 characters
    fs::write(tree.join(&long), b"long name\n").unwrap();
    let source = dir.path().join("source.iso");
    genisoimage_xcpng(&tree, &source, true);

    let added = format!("{}.cfg", "a".repeat(99)); // 103 characters: the longest
    let cut = format!("{}.cfg", "c".repeat(101)); // 105 characters
    fs::write(dir.path().join("f"), b"added\n").unwrap();
    let profile = dir.path().join("p.toml");
    fs::write(
        &profile,
        format!(
            "[source]\niso = \"{}\"\n[[iso.files]]\nsrc = \"f\"\ndest = \"/{added}\"\n",
            source.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("out.iso");
    let text = run_all(isoremix().arg("build").arg(&profile).arg("-o").arg(&out));
    assert!(!text.contains("Joliet"), "{text}");

    // The source's Joliet tree (genisoimage's) and ours hold the same long name, and ours the
    // added one whole.
    let theirs = joliet_paths(&source);
    let ours = joliet_paths(&out);
    assert!(theirs.contains(&format!("/{long}")), "{theirs:?}");
    assert!(ours.contains(&format!("/{long}")), "{ours:?}");
    assert!(ours.contains(&format!("/{added}")), "{ours:?}");

    // Past 103 characters the name is cut, and the build says so.
    fs::write(
        &profile,
        format!(
            "[source]\niso = \"{}\"\n[[iso.files]]\nsrc = \"f\"\ndest = \"/{cut}\"\n",
            source.display()
        ),
    )
    .unwrap();
    let out2 = dir.path().join("out2.iso");
    let text = run_all(isoremix().arg("build").arg(&profile).arg("-o").arg(&out2));
    assert!(text.contains("cut to 103 characters"), "{text}");
    let ours = joliet_paths(&out2);
    assert!(ours.contains(&format!("/{}", &cut[..103])), "{ours:?}");
}

#[test]
fn the_samples_repodata_names_are_whole_in_the_joliet_tree() {
    let dir = tempfile::tempdir().unwrap();
    let iso = dir.path().join("sample.iso");
    let text = run_all(isoremix().arg("sample").arg(&iso));
    assert!(!text.contains("Joliet"), "{text}");
    let paths = joliet_paths(&iso);
    let long: Vec<&String> = paths
        .iter()
        .filter(|p| p.starts_with("/repodata/") && p.len() > "/repodata/".len() + 64)
        .collect();
    assert!(long.len() >= 3, "{paths:?}");
    assert!(long.iter().all(|p| p.ends_with(".xml.gz")), "{paths:?}");
}
