//! efiboot.img against independent FAT tools: images made by mtools (`mformat`/`mmd`/`mcopy`,
//! the way the XCP-ng ISO build makes them) are read by our reader; images we rebuild or create
//! are accepted by `fsck.fat -n` (dosfstools) and read back by `mdir`/`mtype`/`mcopy` (mtools)
//! and by GRUB's own FAT driver (`grub-fstest`).
//! The boot menu copy inside the image is edited together with the ISO's configs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::bootcfg::{efiboot_grub, iso_configs};
use isoremix::boot::ArgEdits;
use isoremix::boot::efiboot::{self, FatTime};
use isoremix::boot::{BootEdits, EntryEdits, apply};

/// Finds a referee program; a missing referee fails the test and names its Debian package.
fn tool(name: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin"] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    if let Ok(path) = std::env::var("PATH") {
        for dir in path.split(':') {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("referee `{name}` not found: install the Debian package `{package}`");
}

/// Runs a referee; returns stdout, fails the test with its output when it exits non-zero.
fn run(prog: PathBuf, args: &[&str]) -> Vec<u8> {
    let out = Command::new(&prog)
        .args(args)
        .env("MTOOLS_SKIP_CHECK", "1")
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", prog.display()));
    assert!(
        out.status.success(),
        "{} {:?} failed ({}):\n{}\n{}",
        prog.display(),
        args,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn mtools(name: &str, args: &[&str]) -> Vec<u8> {
    run(tool(name, "mtools"), args)
}

fn fsck(img: &Path) {
    let out = run(
        tool("fsck.fat", "dosfstools"),
        &["-n", "-V", img.to_str().unwrap()],
    );
    let text = String::from_utf8_lossy(&out);
    // fsck.fat -n reports problems on stdout and still may exit 0 for some of them.
    for bad in [
        "differ",
        "Free cluster summary",
        "Orphan",
        "bad",
        "Bad",
        "Fix?",
        "invalid",
    ] {
        assert!(!text.contains(bad), "fsck.fat complains:\n{text}");
    }
}

/// GRUB's own FAT driver (the code that reads efiboot.img at boot): `file` in the image must
/// equal `expect`.
fn grub_reads(img: &Path, file: &str, expect: &[u8], dir: &Path) {
    let want = dir.join("grub-expect.bin");
    std::fs::write(&want, expect).unwrap();
    run(
        tool("grub-fstest", "grub-common"),
        &[img.to_str().unwrap(), "cmp", file, want.to_str().unwrap()],
    );
}

/// `grub-mkimage -O x86_64-efi -p /EFI/xenserver` with `modules`, written to `out`.
fn grub_mkimage(out: &Path, modules: &[&str]) {
    let mut args = vec![
        "-O",
        "x86_64-efi",
        "-p",
        "/EFI/xenserver",
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(modules);
    run(
        tool("grub-mkimage", "grub-common (and grub-efi-amd64-bin)"),
        &args,
    );
}

/// A real GRUB EFI binary, as the removable-media loader of an efiboot.img.
fn grub_efi(dir: &Path) -> Vec<u8> {
    let out = dir.join("BOOTX64.EFI");
    grub_mkimage(
        &out,
        &[
            "part_gpt",
            "fat",
            "iso9660",
            "search",
            "multiboot2",
            "normal",
        ],
    );
    std::fs::read(out).unwrap()
}

/// An efiboot.img made as the XCP-ng build makes it: mformat, mmd, mcopy.
fn mtools_image(dir: &Path, efi: &[u8]) -> PathBuf {
    let img = dir.join("efiboot.img");
    let p = img.to_str().unwrap();
    mtools("mformat", &["-i", p, "-f", "2880", "-N", "0", "-C", "::"]);
    mtools(
        "mmd",
        &["-i", p, "::/EFI", "::/EFI/BOOT", "::/EFI/xenserver"],
    );
    let bin = dir.join("bootx64.bin");
    std::fs::write(&bin, efi).unwrap();
    let cfg = dir.join("grub.cfg");
    std::fs::write(&cfg, efiboot_grub()).unwrap();
    mtools(
        "mcopy",
        &["-i", p, bin.to_str().unwrap(), "::/EFI/BOOT/BOOTX64.EFI"],
    );
    mtools(
        "mcopy",
        &["-i", p, cfg.to_str().unwrap(), "::/EFI/xenserver/grub.cfg"],
    );
    img
}

fn time() -> FatTime {
    FatTime::from_unix(1_700_000_000) // 2023-11-14 22:13:20 UTC
}

#[test]
fn reads_an_mtools_image() {
    let dir = tempfile::tempdir().unwrap();
    let efi = grub_efi(dir.path());
    let img = std::fs::read(mtools_image(dir.path(), &efi)).unwrap();
    let paths: Vec<(String, bool)> = efiboot::list(&img)
        .unwrap()
        .into_iter()
        .map(|e| (e.path, e.is_dir))
        .collect();
    let expect: Vec<(String, bool)> = [
        ("EFI", true),
        ("EFI/BOOT", true),
        ("EFI/BOOT/BOOTX64.EFI", false),
        ("EFI/xenserver", true),
        ("EFI/xenserver/grub.cfg", false),
    ]
    .iter()
    .map(|(p, d)| (p.to_string(), *d))
    .collect();
    assert_eq!(paths, expect);
    assert!(paths.contains(&("EFI/xenserver/grub.cfg".into(), false)));
    assert!(paths.contains(&("EFI/BOOT/BOOTX64.EFI".into(), false)));
    assert_eq!(
        efiboot::read_file(&img, "EFI/xenserver/grub.cfg").unwrap(),
        efiboot_grub().as_bytes()
    );
    assert_eq!(efiboot::efi_fallback_loader(&img).unwrap(), efi);
}

#[test]
fn rebuilt_image_carries_the_edited_menu_and_passes_fsck_and_mtools() {
    let dir = tempfile::tempdir().unwrap();
    let efi = grub_efi(dir.path());
    let src = std::fs::read(mtools_image(dir.path(), &efi)).unwrap();

    // Edit the three configs of an ISO together, the copy coming from the image.
    let copy = efiboot::read_file(&src, "EFI/xenserver/grub.cfg").unwrap();
    let mut configs = iso_configs(copy);
    let edits = BootEdits {
        entries: Some(vec!["install".into()]),
        edits: EntryEdits {
            xen_args: ArgEdits {
                set: vec!["dom0_mem=max:16384M".into()],
                ..Default::default()
            },
            ..Default::default()
        },
        timeout: Some(3),
        ..Default::default()
    };
    apply(&edits, &mut configs).unwrap();
    let edited = configs[2].bytes.clone();
    let edited_text = String::from_utf8(edited.clone()).unwrap();
    assert!(edited_text.contains("set timeout=3\nsearch --file --set /install.img\n"));
    assert!(edited_text.contains("dom0_mem=max:16384M"));
    // The ISO's grub.cfg and the copy differ only by the search line, before and after.
    assert_eq!(
        String::from_utf8(configs[1].bytes.clone())
            .unwrap()
            .replacen(
                "set timeout=3\n",
                "set timeout=3\nsearch --file --set /install.img\n",
                1
            ),
        edited_text
    );

    let serial = efiboot::serial_from_seed(&src);
    let out =
        efiboot::rebuild(&src, &[("EFI/xenserver/grub.cfg", &edited)], serial, time()).unwrap();
    let again =
        efiboot::rebuild(&src, &[("EFI/xenserver/grub.cfg", &edited)], serial, time()).unwrap();
    assert_eq!(out, again, "rebuild is not reproducible");
    assert_eq!(out.len(), src.len(), "the image should not grow");

    let img = dir.path().join("out.img");
    std::fs::write(&img, &out).unwrap();
    let p = img.to_str().unwrap();
    fsck(&img);
    let listing = String::from_utf8(mtools("mdir", &["-i", p, "::/EFI/xenserver"])).unwrap();
    assert!(listing.contains("grub.cfg"), "{listing}");
    assert!(listing.contains("2023-11-14"), "{listing}");
    assert!(
        listing.contains(&format!("{:04X}-{:04X}", serial >> 16, serial & 0xFFFF)),
        "{listing}"
    );
    let listing = String::from_utf8(mtools("mdir", &["-i", p, "::/EFI/BOOT"])).unwrap();
    assert!(listing.contains("BOOTX64  EFI"), "{listing}");
    assert_eq!(
        mtools("mtype", &["-i", p, "::/EFI/xenserver/grub.cfg"]),
        edited
    );
    let back = dir.path().join("back.efi");
    mtools(
        "mcopy",
        &["-i", p, "::/EFI/BOOT/BOOTX64.EFI", back.to_str().unwrap()],
    );
    assert_eq!(std::fs::read(back).unwrap(), efi);
    grub_reads(&img, "/EFI/xenserver/grub.cfg", &edited, dir.path());
    grub_reads(&img, "/EFI/BOOT/BOOTX64.EFI", &efi, dir.path());
}

#[test]
fn created_image_is_accepted_by_fsck_and_mtools() {
    let dir = tempfile::tempdir().unwrap();
    let efi = grub_efi(dir.path());
    let cfg = efiboot_grub();
    let files: [(&str, &[u8]); 3] = [
        ("EFI/BOOT/BOOTX64.EFI", &efi),
        ("EFI/xenserver/grub.cfg", cfg.as_bytes()),
        ("EFI/xenserver/A long name, with spaces.txt", b"hello\n"),
    ];
    let out = efiboot::create(&files, 2880, 0, time()).unwrap();
    assert_eq!(out, efiboot::create(&files, 2880, 0, time()).unwrap());
    assert_eq!(out.len(), 2880 * 1024);
    let img = dir.path().join("new.img");
    std::fs::write(&img, &out).unwrap();
    let p = img.to_str().unwrap();
    fsck(&img);
    let info = String::from_utf8(mtools("minfo", &["-i", p, "::"])).unwrap();
    assert!(info.contains("disk type=\"FAT12   \""), "{info}");
    assert!(info.contains("serial number: 00000000"), "{info}");
    assert_eq!(
        mtools("mtype", &["-i", p, "::/EFI/xenserver/grub.cfg"]),
        cfg.as_bytes()
    );
    assert_eq!(
        mtools(
            "mtype",
            &["-i", p, "::/EFI/xenserver/A long name, with spaces.txt"]
        ),
        b"hello\n"
    );
    let back = dir.path().join("back.efi");
    mtools(
        "mcopy",
        &["-i", p, "::/EFI/BOOT/BOOTX64.EFI", back.to_str().unwrap()],
    );
    assert_eq!(std::fs::read(back).unwrap(), efi);
    grub_reads(&img, "/EFI/xenserver/grub.cfg", cfg.as_bytes(), dir.path());
    grub_reads(
        &img,
        "/EFI/xenserver/A long name, with spaces.txt",
        b"hello\n",
        dir.path(),
    );
}

#[test]
fn an_image_grown_past_fat12_is_accepted_by_fsck_and_mtools() {
    let dir = tempfile::tempdir().unwrap();
    let src = efiboot::create(&[("EFI/BOOT/BOOTX64.EFI", b"small")], 2880, 7, time()).unwrap();
    let big: Vec<u8> = (0..6 * 1024 * 1024u32)
        .map(|i| (i * 7 % 253) as u8)
        .collect();
    let out = efiboot::rebuild(&src, &[("EFI/BOOT/BOOTX64.EFI", &big)], 7, time()).unwrap();
    assert!(out.len() > big.len());
    let img = dir.path().join("grown.img");
    std::fs::write(&img, &out).unwrap();
    fsck(&img);
    let p = img.to_str().unwrap();
    let info = String::from_utf8(mtools("minfo", &["-i", p, "::"])).unwrap();
    assert!(info.contains("disk type=\"FAT16   \""), "{info}");
    let back = dir.path().join("back.bin");
    mtools(
        "mcopy",
        &["-i", p, "::/EFI/BOOT/BOOTX64.EFI", back.to_str().unwrap()],
    );
    assert_eq!(std::fs::read(back).unwrap(), big);
    grub_reads(&img, "/EFI/BOOT/BOOTX64.EFI", &big, dir.path());
}

#[test]
fn rebuilds_an_mkfs_fat_image_keeping_label_and_geometry() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("mk.img");
    let p = img.to_str().unwrap();
    run(
        tool("mkfs.fat", "dosfstools"),
        &["-C", "-n", "EFIBOOT", "-i", "0", p, "2880"],
    );
    let hi = dir.path().join("hi.txt");
    std::fs::write(&hi, b"hi\n").unwrap();
    mtools("mmd", &["-i", p, "::/EFI", "::/EFI/xenserver"]);
    mtools(
        "mcopy",
        &["-i", p, hi.to_str().unwrap(), "::/EFI/xenserver/grub.cfg"],
    );
    let src = std::fs::read(&img).unwrap();
    let out = efiboot::rebuild(
        &src,
        &[("EFI/xenserver/grub.cfg", b"new\n")],
        0xABCD_0123,
        time(),
    )
    .unwrap();
    let new = dir.path().join("new.img");
    std::fs::write(&new, &out).unwrap();
    fsck(&new);
    let q = new.to_str().unwrap();
    let info = String::from_utf8(mtools("minfo", &["-i", q, "::"])).unwrap();
    for line in [
        "max available root directory slots: 224",
        "small size: 5760 sectors",
        "cluster size: 2 sectors",
        "disk label=\"EFIBOOT    \"",
        "serial number: ABCD0123",
    ] {
        assert!(info.contains(line), "{line} not in\n{info}");
    }
    let listing = String::from_utf8(mtools("mdir", &["-i", q, "::/"])).unwrap();
    assert!(
        listing.contains("Volume in drive : is EFIBOOT"),
        "{listing}"
    );
    assert_eq!(
        mtools("mtype", &["-i", q, "::/EFI/xenserver/grub.cfg"]),
        b"new\n"
    );
}

#[test]
fn rebuild_output_depends_only_on_content_serial_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let efi = b"not really an EFI binary".to_vec();
    let a_dir = dir.path().join("a");
    let b_dir = dir.path().join("b");
    std::fs::create_dir_all(&a_dir).unwrap();
    std::fs::create_dir_all(&b_dir).unwrap();
    let a = std::fs::read(mtools_image(&a_dir, &efi)).unwrap();
    // FAT times have a 2-second resolution: make sure the second image gets other timestamps.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let b = std::fs::read(mtools_image(&b_dir, &efi)).unwrap();
    assert_ne!(
        a, b,
        "the two mtools images should differ in their timestamps"
    );
    let edit: &[(&str, &[u8])] = &[("EFI/xenserver/grub.cfg", b"set timeout=1\n")];
    let ra = efiboot::rebuild(&a, edit, 42, time()).unwrap();
    let rb = efiboot::rebuild(&b, edit, 42, time()).unwrap();
    assert_eq!(ra, rb);
    // A rebuild of our own image with another time equals a fresh image made at that time.
    let files: &[(&str, &[u8])] = &[
        ("EFI/BOOT/BOOTX64.EFI", &efi),
        ("EFI/xenserver/grub.cfg", b"x"),
    ];
    let old = efiboot::create(files, 2880, 1, FatTime::from_unix(0)).unwrap();
    assert_eq!(
        efiboot::rebuild(&old, &[], 9, time()).unwrap(),
        efiboot::create(files, 2880, 9, time()).unwrap()
    );
}

/// A file that must exist for a referee; a missing one fails the test naming its package.
fn need_file(path: &str, package: &str) -> PathBuf {
    let p = PathBuf::from(path);
    assert!(
        p.is_file(),
        "referee file {path} not found: install the Debian package `{package}`"
    );
    p
}

#[test]
fn uefi_firmware_and_grub_boot_from_a_rebuilt_image() {
    // OVMF (UEFI firmware) loads EFI/BOOT/BOOTX64.EFI from the image with its FAT driver; that
    // GRUB (prefix /EFI/xenserver) reads the grub.cfg we put in with its FAT driver and prints
    // the marker on the serial console.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let efi_path = d.join("BOOTX64.EFI");
    grub_mkimage(
        &efi_path,
        &[
            "fat",
            "part_msdos",
            "part_gpt",
            "normal",
            "configfile",
            "echo",
            "halt",
            "serial",
            "terminal",
        ],
    );
    let efi = std::fs::read(&efi_path).unwrap();
    let src = std::fs::read(mtools_image(d, &efi)).unwrap();
    let cfg = b"serial --unit=0 --speed=115200\nterminal_output serial console\n\
                echo REBUILT-EFIBOOT-COPY-RAN\nhalt\n";
    let out = efiboot::rebuild(&src, &[("EFI/xenserver/grub.cfg", cfg)], 1, time()).unwrap();
    let esp = d.join("esp.img");
    std::fs::write(&esp, &out).unwrap();

    let code = need_file("/usr/share/OVMF/OVMF_CODE_4M.fd", "ovmf");
    let vars_src = need_file("/usr/share/OVMF/OVMF_VARS_4M.fd", "ovmf");
    let vars = d.join("vars.fd");
    std::fs::copy(vars_src, &vars).unwrap();
    let log = d.join("serial.log");
    let qemu = tool("qemu-system-x86_64", "qemu-system-x86");
    let status = Command::new("timeout")
        .arg("300")
        .arg(qemu)
        .args(["-machine", "q35", "-accel", "tcg", "-m", "256"])
        .args(["-display", "none", "-no-reboot", "-net", "none"])
        .arg("-serial")
        .arg(format!("file:{}", log.display()))
        .arg("-drive")
        .arg(format!(
            "if=pflash,format=raw,readonly=on,file={}",
            code.display()
        ))
        .arg("-drive")
        .arg(format!("if=pflash,format=raw,file={}", vars.display()))
        .arg("-drive")
        .arg(format!(
            "file={},format=raw,if=none,id=esp,snapshot=on",
            esp.display()
        ))
        .args(["-device", "virtio-blk-pci,drive=esp,bootindex=0"])
        .status()
        .expect("cannot run qemu-system-x86_64 (package qemu-system-x86) under timeout");
    let serial = String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default()).into_owned();
    assert!(
        serial.contains("REBUILT-EFIBOOT-COPY-RAN"),
        "GRUB did not run the rebuilt image's grub.cfg (qemu: {status}); serial log:\n{serial}"
    );
}
