//! Two builds of the same profile, in different folders, with a different
//! TZ, umask and user name, give the same bytes; SOURCE_DATE_EPOCH changes
//! them.

mod common;

use std::path::Path;

use common::*;

fn build_in(dir: &Path, source: &Path, tz: &str, umask: &str, user: &str, epoch: &str) -> Vec<u8> {
    std::fs::create_dir_all(dir.join("files")).unwrap();
    std::fs::write(dir.join("files/README.site"), "site\n").unwrap();
    std::fs::write(
        dir.join("profile.toml"),
        "[source]\niso = \"src.iso\"\n[output]\niso = \"out.iso\"\nvolume_id = \"XCP-ng 8.3 custom\"\n\
         [iso]\nremove = [\"/EULA\"]\n[[iso.files]]\nsrc = \"files/README.site\"\ndest = \"/README.site\"\n",
    )
    .unwrap();
    std::fs::copy(source, dir.join("src.iso")).unwrap();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" build profile.toml"))
        .arg(env!("CARGO_BIN_EXE_isoremix"))
        .current_dir(dir)
        .env("TZ", tz)
        .env("USER", user)
        .env("LOGNAME", user)
        .env("SOURCE_DATE_EPOCH", epoch)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(dir.join("out.iso")).unwrap()
}

#[test]
fn same_profile_same_bytes_across_folders_timezones_umasks_and_users() {
    let dir = tempfile::tempdir().unwrap();
    let src = foreign_source(dir.path());
    let a = build_in(
        &dir.path().join("one"),
        &src,
        "UTC",
        "022",
        "alice",
        "1700000000",
    );
    let b = build_in(
        &dir.path().join("two/deeper"),
        &src,
        "Asia/Tokyo",
        "077",
        "bob",
        "1700000000",
    );
    assert!(a == b, "two builds of the same profile differ");
    let c = build_in(
        &dir.path().join("three"),
        &src,
        "UTC",
        "022",
        "alice",
        "1800000000",
    );
    assert!(a != c, "SOURCE_DATE_EPOCH did not reach the output");
    // The volume id was set, the edit happened: read back with xorriso.
    let out = dir.path().join("one/out.iso");
    let rep = xorriso_report(&out);
    assert!(
        rep.contains("El Torito img path :   2  /boot/efiboot.img"),
        "{rep}"
    );
    let x = dir.path().join("x");
    xorriso_extract(&out, &x);
    assert!(!x.join("EULA").exists());
    assert_eq!(
        std::fs::read_to_string(x.join("README.site")).unwrap(),
        "site\n"
    );
}
