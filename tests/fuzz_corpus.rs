//! Replays every kept fuzz input (`fuzz/corpus/<target>/`) through the same body its fuzz target
//! runs ([`isoremix::fuzzing`]), on stable Rust: an input that once crashed a parser, broke a
//! round trip or found a new path must keep passing. Fuzzing itself is `scripts/fuzz.sh`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use isoremix::fuzzing::TARGETS;

/// Every target has a corpus folder with inputs, and every input passes.
#[test]
fn every_kept_fuzz_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, body) in TARGETS {
        let dir = root.join(name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("a corpus folder entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{}: no inputs", dir.display());
        for file in files {
            let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            replayed += 1;
            if catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
                failures.push(format!("{name}: {}", file.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "inputs that fail:\n{}",
        failures.join("\n")
    );
    assert!(replayed >= TARGETS.len());
}

/// The corpus holds a folder for each target and nothing else, so no target goes unreplayed.
#[test]
fn the_corpus_has_one_folder_per_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut folders: Vec<String> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| {
            e.expect("a corpus entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    folders.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    names.sort();
    assert_eq!(folders, names);
}

/// A directory entry naming cluster 1 made the FAT reader compute `1 - 2`: the image is now
/// refused with the reason before the reader sees it.
#[test]
fn an_efiboot_cluster_outside_the_volume_is_refused_with_its_reason() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/efiboot");
    let image = std::fs::read(root.join("regress-dir-at-cluster-1")).expect("the kept input");
    let err = isoremix::boot::efiboot::list(&image).expect_err("a broken image");
    assert!(
        err.to_string().contains("outside the volume's clusters"),
        "{err}"
    );
}
