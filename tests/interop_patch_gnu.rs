//! Installer patches land where GNU patch (`patch -p1 --fuzz=0`) puts them, in the cases where
//! a simpler hunk search would pick another place: the context found both before and after the
//! line the hunk names, the offset of the previous hunk carried to the next, and a
//! `git format-patch` mail whose signature follows the last hunk. Each case is applied by GNU
//! patch to a file of its own, and the bytes compared.

mod common;

use std::path::Path;
use std::process::Command;

use isoremix::patch::{Patch, apply};

/// What GNU patch makes of `original` with `diff` (a one-file patch of `f`).
fn gnu_patch(dir: &Path, original: &[u8], diff: &[u8]) -> Vec<u8> {
    std::fs::write(dir.join("f"), original).unwrap();
    std::fs::write(dir.join("p.diff"), diff).unwrap();
    common::run(Command::new("patch").current_dir(dir).args([
        "-p1",
        "--fuzz=0",
        "--no-backup-if-mismatch",
        "-i",
        "p.diff",
    ]));
    std::fs::read(dir.join("f")).unwrap()
}

fn ours(original: &[u8], diff: &[u8]) -> Vec<u8> {
    let patch = Patch::parse("p.diff", diff).unwrap();
    assert_eq!(patch.files.len(), 1);
    apply("p.diff", &patch.files[0], Some(original))
        .unwrap()
        .unwrap()
}

fn agree(original: &[u8], diff: &[u8]) -> Vec<u8> {
    common::require("patch");
    let dir = tempfile::tempdir().unwrap();
    let gnu = gnu_patch(dir.path(), original, diff);
    assert_eq!(
        String::from_utf8_lossy(&ours(original, diff)),
        String::from_utf8_lossy(&gnu)
    );
    gnu
}

#[test]
fn context_before_and_after_the_named_line_lands_after() {
    let got = agree(
        b"x\ny\nx\ny\n",
        b"--- a/f\n+++ b/f\n@@ -2,2 +2,3 @@\n x\n+NEW\n y\n",
    );
    assert_eq!(got, b"x\ny\nx\nNEW\ny\n");
}

#[test]
fn the_previous_hunks_offset_is_carried_to_the_next() {
    let got = agree(
        b"p\np\na\nb\nc\nk\nj\nk\nk\nj\nk\nk\nz\n",
        b"--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n@@ -6,4 +6,5 @@\n k\n j\n+J\n k\n k\n",
    );
    // The second hunk matches at the line it names too, but GNU patch looks from 2 lines
    // further first, where the first hunk was found.
    assert_eq!(got, b"p\np\na\nB\nc\nk\nj\nk\nk\nj\nJ\nk\nk\nz\n");
}

#[test]
fn a_format_patch_signature_after_the_last_hunk_is_not_part_of_it() {
    let got = agree(
        b"a\nb\nc\n",
        b"From 1 Mon Sep 17 00:00:00 2001\nSubject: [PATCH] b\n\n---\n f | 2 +-\n\n\
          diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n-- \n2.39.5\n\n",
    );
    assert_eq!(got, b"a\nB\nc\n");
}
