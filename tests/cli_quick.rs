//! Quick mode: `isoremix build --source … -o … [flags]` builds the image the
//! profile it prints (`--print-profile`) builds, byte for byte.

mod common;

use std::path::Path;
use std::process::Command;

use common::isoremix_ok;

use sha2::{Digest, Sha256};

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn quick_mode_builds_what_its_printed_profile_builds() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/demo");
    std::fs::copy(demo.join("answerfile.xml"), dir.path().join("answer.xml")).unwrap();
    common::demo::demo_rpm(dir.path());
    std::fs::write(dir.path().join("note.txt"), "site note\n").unwrap();
    // Relative paths, as a user types them: the printed profile makes them absolute.
    let flags = [
        "build",
        "--source",
        "builtin:sample",
        "--answerfile",
        "answer.xml",
        "--dom0-arg",
        "console=ttyS0",
        "--xen-arg",
        "dom0_mem=4G",
        "--rm-arg",
        "console=tty0",
        "--add-rpm",
        "site-tools-1.0-1.noarch.rpm",
        "--add",
        "note.txt:/NOTE.txt",
        "-V",
        "SITE 1",
    ];
    let quick: Vec<&str> = flags.iter().copied().chain(["-o", "quick.iso"]).collect();
    let mut print = quick.clone();
    print.push("--print-profile");
    let printed = String::from_utf8(isoremix_ok(dir.path(), &print).stdout).unwrap();
    assert!(
        !dir.path().join("quick.iso").exists(),
        "--print-profile does not build"
    );
    isoremix_ok(dir.path(), &quick);

    for key in [
        "answerfile",
        "console=ttyS0",
        "dom0_mem=4G",
        "console=tty0",
        "site-tools-1.0-1.noarch.rpm",
        "/NOTE.txt",
        "SITE 1",
    ] {
        assert!(printed.contains(key), "{key} missing from:\n{printed}");
    }
    // The profile is kept elsewhere and built from another folder, to another output.
    let elsewhere = tempfile::tempdir().unwrap();
    let profile = elsewhere.path().join("site.toml");
    std::fs::write(&profile, &printed).unwrap();
    isoremix_ok(
        elsewhere.path(),
        &["build", "site.toml", "-o", "from-profile.iso"],
    );

    let a = sha256(&dir.path().join("quick.iso"));
    let b = sha256(&elsewhere.path().join("from-profile.iso"));
    assert_eq!(a, b, "quick mode and its printed profile differ");
    // The flags changed something: the image is not the plain sample.
    isoremix_ok(dir.path(), &["sample", "plain.iso"]);
    assert_ne!(a, sha256(&dir.path().join("plain.iso")));
}

#[test]
fn quick_mode_flags_and_a_profile_do_not_mix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"o.iso\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_isoremix"))
        .current_dir(dir.path())
        .args(["build", "p.toml", "--dom0-arg", "console=ttyS0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dom0-arg"));
    assert!(!dir.path().join("o.iso").exists());
}

#[test]
fn quick_mode_needs_source_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_isoremix"))
        .current_dir(dir.path())
        .args(["build", "-o", "o.iso", "--dom0-arg", "console=ttyS0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PROFILE") || err.contains("--source"), "{err}");
}
