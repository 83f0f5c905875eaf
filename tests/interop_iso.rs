//! The ISO layer against independent referees: a source written by
//! genisoimage + isohybrid (a foreign writer) is read and rewritten, and
//! xorriso, isoinfo, isohybrid and fsck.fat judge the output.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;
use isoremix::iso::{self, NewContent, SourceIso, WriteOptions};

fn options(time: i64) -> WriteOptions {
    WriteOptions {
        volume_id: None,
        time: hadris_fs::DateTime::from_unix_seconds(time).unwrap(),
        seed: b"test".to_vec(),
        existing: iso::Existing::Refuse,
        last: None,
    }
}

/// Every file under `dir`: relative path → (bytes or link target, mode).
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                out.insert(rel, (t.to_string_lossy().as_bytes().to_vec(), 0o120000));
            } else if meta.is_dir() {
                out.insert(rel, (Vec::new(), meta.permissions().mode()));
                stack.push(p);
            } else {
                out.insert(rel, (std::fs::read(&p).unwrap(), meta.permissions().mode()));
            }
        }
    }
    out
}

#[test]
fn rewrite_of_a_genisoimage_isohybrid_source_is_judged_sound_by_referees() {
    let dir = tempfile::tempdir().unwrap();
    let src = foreign_source(dir.path());
    let out = dir.path().join("out.iso");
    let mut source = SourceIso::open(&src).unwrap();
    assert_eq!(source.volume_id(), "XCP-ng 8.3");
    assert_eq!(source.boot_entries().len(), 2);
    assert_eq!(source.catalog_path(), Some("/boot/isolinux/boot.cat"));
    let report = iso::write(&mut source, &out, &options(1_700_000_000), &|_| {}).unwrap();
    assert!(report.hybrid && report.gpt, "{report:?}");

    // xorriso: both El Torito entries, the isohybrid MBR with the 0xEF partition, a GPT.
    let rep = xorriso_report(&out);
    assert!(
        rep.contains("El Torito img path :   1  /boot/isolinux/isolinux.bin"),
        "{rep}"
    );
    assert!(
        rep.contains("El Torito img path :   2  /boot/efiboot.img"),
        "{rep}"
    );
    assert!(rep.contains("boot-info-table"), "{rep}");
    assert!(
        rep.contains("El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4"),
        "{rep}"
    );
    assert!(
        rep.contains("El Torito boot img :   2  UEFI  y   none  0x0000  0x00   5760"),
        "{rep}"
    );
    assert!(rep.contains("MBR isohybrid"), "{rep}");
    assert!(
        rep.contains("MBR partition      :   1   0x80  0x00            0"),
        "{rep}"
    );
    assert!(
        rep.contains("MBR partition path :   2  /boot/efiboot.img"),
        "{rep}"
    );
    assert!(
        rep.contains("GPT partition path :   2  /boot/efiboot.img"),
        "{rep}"
    );

    // isohybrid itself, run over a copy of our output, must write the same
    // MBR and GPT (but for the random GUIDs and the CRCs over them).
    let again = dir.path().join("again.iso");
    std::fs::copy(&out, &again).unwrap();
    run(Command::new("isohybrid").arg("--uefi").arg(&again));
    let ours = std::fs::read(&out).unwrap();
    let theirs = std::fs::read(&again).unwrap();
    assert_eq!(
        ours.len(),
        theirs.len(),
        "isohybrid padded our image differently"
    );
    assert_eq!(ours[..512], theirs[..512], "MBR differs from isohybrid's");
    let mask = |b: &[u8], hdr: usize, entries: usize| {
        let mut v = b.to_vec();
        for r in [hdr + 16..hdr + 20, hdr + 56..hdr + 72, hdr + 88..hdr + 92] {
            v[r].fill(0);
        }
        for i in 0..2 {
            let e = entries + i * 128;
            v[e + 16..e + 32].fill(0);
        }
        v
    };
    let n = ours.len();
    assert_eq!(
        mask(&ours[..17408], 512, 1024),
        mask(&theirs[..17408], 512, 1024),
        "primary GPT differs"
    );
    let tail = n - 16896;
    assert_eq!(
        mask(&ours[tail..], 16384, 0),
        mask(&theirs[tail..], 16384, 0),
        "backup GPT differs"
    );

    // isoinfo reads the descriptors.
    require("isoinfo");
    let info = run_all(Command::new("isoinfo").arg("-d").arg("-i").arg(&out));
    assert!(info.contains("Volume id: XCP-ng 8.3"), "{info}");
    assert!(
        info.contains("Rock Ridge signatures version 1 found"),
        "{info}"
    );
    assert!(info.contains("Joliet"), "{info}");

    // Every file as xorriso reads it is byte-identical, but the boot catalog
    // and isolinux.bin's boot information table (bytes 8..64).
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    xorriso_extract(&src, &a);
    xorriso_extract(&out, &b);
    let (mut sa, mut sb) = (snapshot(&a), snapshot(&b));
    for s in [&mut sa, &mut sb] {
        s.remove("boot/isolinux/boot.cat");
        if let Some((bytes, _)) = s.get_mut("boot/isolinux/isolinux.bin") {
            bytes[8..64].fill(0);
        }
    }
    assert_eq!(sa.keys().collect::<Vec<_>>(), sb.keys().collect::<Vec<_>>());
    for (k, v) in &sa {
        assert!(sb[k] == *v, "{k} differs after the rewrite");
    }

    // fsck.fat accepts the EFI boot image as xorriso extracts it.
    require("fsck.fat");
    run(Command::new("fsck.fat")
        .arg("-n")
        .arg(b.join("boot/efiboot.img")));
}

#[test]
fn edits_add_replace_and_remove_files_and_everything_else_stays() {
    let dir = tempfile::tempdir().unwrap();
    let src = foreign_source(dir.path());
    let out = dir.path().join("out.iso");
    let mut source = SourceIso::open(&src).unwrap();
    let t = hadris_fs::DateTime::from_unix_seconds(1_600_000_000).unwrap();
    source.remove("/EULA").unwrap();
    source
        .put_file(
            "/site/README.site",
            NewContent::Bytes(b"site\n".to_vec()),
            t,
        )
        .unwrap();
    source
        .put_file(
            "/install.img",
            NewContent::Appended(b"\0\0overlay".to_vec()),
            t,
        )
        .unwrap();
    source
        .put_file(
            "/boot/isolinux/isolinux.cfg",
            NewContent::Bytes(b"DEFAULT x\n".to_vec()),
            t,
        )
        .unwrap();
    assert!(source.remove("/no/such").is_err());
    iso::write(&mut source, &out, &options(1_700_000_000), &|_| {}).unwrap();

    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    xorriso_extract(&src, &a);
    xorriso_extract(&out, &b);
    assert!(!b.join("EULA").exists());
    assert_eq!(
        std::fs::read(b.join("site/README.site")).unwrap(),
        b"site\n"
    );
    assert_eq!(
        std::fs::read(b.join("boot/isolinux/isolinux.cfg")).unwrap(),
        b"DEFAULT x\n"
    );
    let mut img = std::fs::read(a.join("install.img")).unwrap();
    img.extend_from_slice(b"\0\0overlay");
    assert_eq!(std::fs::read(b.join("install.img")).unwrap(), img);
    assert_eq!(
        std::fs::read(a.join("boot/xen.gz")).unwrap(),
        std::fs::read(b.join("boot/xen.gz")).unwrap()
    );
    let rep = xorriso_report(&out);
    assert!(
        rep.contains("El Torito img path :   2  /boot/efiboot.img"),
        "{rep}"
    );
}

#[test]
fn same_inputs_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let src = foreign_source(dir.path());
    let mut outs = Vec::new();
    for n in 0..2 {
        let out = dir.path().join(format!("out{n}.iso"));
        let mut source = SourceIso::open(&src).unwrap();
        iso::write(&mut source, &out, &options(1_700_000_000), &|_| {}).unwrap();
        outs.push(std::fs::read(&out).unwrap());
    }
    assert!(outs[0] == outs[1], "two writes of the same source differ");
}
