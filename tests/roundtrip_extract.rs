//! `isoremix extract` gives the same tree xorriso extracts, and never
//! writes through a symlink already in the target folder.

mod common;

use common::*;

#[test]
fn extract_matches_xorriso() {
    let dir = tempfile::tempdir().unwrap();
    let src = foreign_source(dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    xorriso_extract(&src, &a);
    run(isoremix().arg("extract").arg(&src).arg(&b));
    let diff = std::process::Command::new("diff")
        .arg("-r")
        .arg("--no-dereference")
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert!(
        diff.status.success(),
        "{}",
        String::from_utf8_lossy(&diff.stdout)
    );
    assert!(
        std::fs::symlink_metadata(b.join("LICENSES"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn extract_refuses_to_write_through_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let src = foreign_source(dir.path());
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let target = dir.path().join("t");
    std::fs::create_dir(&target).unwrap();
    std::os::unix::fs::symlink(&elsewhere, target.join("boot")).unwrap();
    let out = isoremix()
        .arg("extract")
        .arg(&src)
        .arg(&target)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/boot"), "{err}");
    assert_eq!(
        std::fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "wrote through the symlink"
    );
}

#[test]
fn inspect_reports_both_boot_entries_and_the_hybrid_mbr() {
    let dir = tempfile::tempdir().unwrap();
    let src = foreign_source(dir.path());
    let out = run(isoremix().arg("inspect").arg("--json").arg(&src));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["volume_id"], "XCP-ng 8.3");
    assert_eq!(v["el_torito"][0]["path"], "/boot/isolinux/isolinux.bin");
    assert_eq!(v["el_torito"][0]["boot_info_table"], true);
    assert_eq!(v["el_torito"][1]["platform"], "uefi");
    assert_eq!(v["el_torito"][1]["path"], "/boot/efiboot.img");
    assert_eq!(v["mbr"][1]["kind"], 0xEF);
    assert_eq!(v["mbr"][1]["file"], "/boot/efiboot.img");
    let text = run(isoremix().arg("inspect").arg(&src));
    assert!(
        text.contains(
            "BIOS from USB: isohybrid MBR boot code chains to /boot/isolinux/isolinux.bin"
        ),
        "{text}"
    );
}
