//! Bad inputs: configs this code cannot understand, edits naming what does not exist, broken
//! FAT images. Each gives a clear error naming the problem; nothing panics, hangs, or is
//! half-edited.

mod common;

use common::bootcfg::{GRUB, ISOLINUX, config, strings};
use isoremix::boot::ArgEdits;
use isoremix::boot::GrubCfg;
use isoremix::boot::IsolinuxCfg;
use isoremix::boot::efiboot::{self, FatTime};
use isoremix::boot::{BootEdits, ConfigFile, ConfigKind, EntryEdits, NewEntry, apply};

fn both() -> Vec<ConfigFile> {
    vec![
        config(ConfigKind::Isolinux, ISOLINUX),
        config(ConfigKind::Grub, GRUB),
    ]
}

/// Applies `edits`, expects an error whose message contains every `needle`, and checks that the
/// configs were left as they were.
fn fails(edits: &BootEdits, mut configs: Vec<ConfigFile>, needles: &[&str]) {
    let before = configs.clone();
    let err = apply(edits, &mut configs).expect_err("edits should fail");
    let msg = err.to_string();
    for n in needles {
        assert!(msg.contains(n), "error {msg:?} does not mention {n:?}");
    }
    assert_eq!(configs, before, "a failed apply changed the configs");
}

fn dom0_add(entries: Option<&[&str]>, add: &[&str]) -> BootEdits {
    BootEdits {
        entries: entries.map(strings),
        edits: EntryEdits {
            dom0_args: ArgEdits {
                add: strings(add),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    }
}

// ---- isolinux.cfg that cannot be understood ----

#[test]
fn isolinux_unknown_directive() {
    let text = ISOLINUX.replace("PROMPT 1\n", "PROMPT 1\nFROBNICATE yes\n");
    let err = IsolinuxCfg::parse(text.as_bytes()).unwrap_err().to_string();
    assert!(
        err.contains("line 4") && err.contains("FROBNICATE"),
        "{err}"
    );
    fails(
        &dom0_add(None, &["x"]),
        vec![config(ConfigKind::Isolinux, &text)],
        &["isolinux.cfg", "FROBNICATE"],
    );
}

#[test]
fn isolinux_append_without_separators() {
    let text = ISOLINUX.replace(
        "dom0_mem=max:8192M console=vga --- /boot/vmlinuz console=tty0 --- /install.img",
        "dom0_mem=max:8192M console=vga /boot/vmlinuz console=tty0 /install.img",
    );
    let err = IsolinuxCfg::parse(text.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("no-serial") && err.contains("---"), "{err}");
}

#[test]
fn isolinux_append_with_three_separators() {
    let text = ISOLINUX.replace(
        "bash-shell --- /install.img",
        "bash-shell --- /install.img --- /extra.img",
    );
    let err = IsolinuxCfg::parse(text.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("shell"), "{err}");
}

#[test]
fn isolinux_mboot_without_append() {
    let text = "LABEL x\n  KERNEL mboot.c32\n";
    let err = IsolinuxCfg::parse(text.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("no APPEND") && err.contains("\"x\""), "{err}");
}

#[test]
fn isolinux_structural_errors() {
    for (text, needle) in [
        ("KERNEL mboot.c32\nLABEL a\n", "outside of a LABEL"),
        ("LABEL a\nLABEL a\n", "defined twice"),
        ("LABEL\n", "no name"),
        ("INCLUDE other.cfg\n", "INCLUDE"),
        ("LABEL a\nTEXT HELP\nhelp text\n", "ENDTEXT"),
        ("LABEL a\n KERNEL a\n KERNEL b\n", "second"),
        ("MENU BEGIN sub\n", "MENU BEGIN"),
    ] {
        let err = IsolinuxCfg::parse(text.as_bytes())
            .expect_err(text)
            .to_string();
        assert!(err.contains(needle), "{text:?}: {err}");
    }
    assert!(IsolinuxCfg::parse(b"DEFAULT \xff\n").is_err());
}

// ---- GRUB configs that cannot be understood ----

#[test]
fn grub_structural_errors() {
    for (text, needle) in [
        ("submenu \"more\" {\n}\n", "submenu"),
        ("menuentry \"a {\n}\n", "quote"),
        ("menuentry \"a\" {\n  multiboot2 /xen\n", "never closed"),
        ("menuentry \"a\"\n{\n}\n", "without `{`"),
        (
            "menuentry \"a\" {\n multiboot2 /x\n multiboot2 /y\n module2 /k\n}\n",
            "more than one multiboot",
        ),
        (
            "menuentry \"a\" {\n multiboot2 /boot/xen.gz\n}\n",
            "dom0 kernel",
        ),
        (
            "if true; then\nmenuentry \"a\" {\n}\nfi\n",
            "inside a conditional",
        ),
        ("if true; then\n", "never closed"),
        ("fi\n", "without a block"),
        ("set x=\\\n", "continuation"),
    ] {
        let err = GrubCfg::parse(text.as_bytes()).expect_err(text).to_string();
        assert!(err.contains(needle), "{text:?}: {err}");
    }
    assert!(GrubCfg::parse(b"set default=\xc3\x28\n").is_err());
}

#[test]
fn grub_line_with_variables_is_not_rewritten() {
    let text = GRUB.replace(
        "module2 /boot/vmlinuz console=hvc0 console=tty0 bash-shell",
        "module2 /boot/vmlinuz console=hvc0 console=tty0 bash-shell root=$root",
    );
    fails(
        &dom0_add(Some(&["shell"]), &["x=1"]),
        vec![config(ConfigKind::Grub, &text)],
        &["grub.cfg", "variables"],
    );
}

#[test]
fn grub_saved_default_is_not_guessed() {
    let text = GRUB.replace("set default=\"0\"", "set default=saved");
    let edits = BootEdits {
        default: Some("safe".into()),
        ..Default::default()
    };
    fails(&edits, vec![config(ConfigKind::Grub, &text)], &["saved"]);
}

// ---- edits naming what does not exist ----

#[test]
fn unknown_entry_name() {
    fails(
        &dom0_add(Some(&["install", "instal"]), &["x"]),
        both(),
        &["\"instal\""],
    );
}

#[test]
fn unknown_entry_name_without_argument_edits() {
    let edits = BootEdits {
        entries: Some(strings(&["nope"])),
        ..Default::default()
    };
    fails(&edits, both(), &["\"nope\""]);
}

#[test]
fn unknown_default_and_from() {
    let edits = BootEdits {
        default: Some("nope".into()),
        ..Default::default()
    };
    fails(&edits, both(), &["\"nope\""]);
    let edits = BootEdits {
        new_entries: vec![NewEntry {
            label: "x".into(),
            title: None,
            from: "missing".into(),
            edits: EntryEdits::default(),
        }],
        ..Default::default()
    };
    fails(&edits, both(), &["\"missing\""]);
}

#[test]
fn removing_an_argument_no_edited_entry_has() {
    let edits = BootEdits {
        entries: Some(strings(&["install"])),
        edits: EntryEdits {
            xen_args: ArgEdits {
                remove: strings(&["com1", "no-such-key"]),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    fails(&edits, both(), &["no-such-key", "isolinux.cfg", "Xen"]);
    // An exact word that is not there (the key is, with another value).
    let edits = BootEdits {
        edits: EntryEdits {
            dom0_args: ArgEdits {
                remove: strings(&["console=ttyS0"]),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    fails(&edits, both(), &["console=ttyS0", "dom0"]);
}

#[test]
fn editing_an_entry_that_does_not_boot_xen() {
    fails(
        &dom0_add(Some(&["memtest"]), &["x"]),
        both(),
        &["grub.cfg", "memtest", "neither Xen nor a Linux kernel"],
    );
}

#[test]
fn arguments_boot_loaders_would_split() {
    for bad in ["two words", "quote\"d", "$var", "---", "", "semi;colon"] {
        fails(
            &dom0_add(None, &[bad]),
            both(),
            &["invalid kernel argument"],
        );
    }
}

#[test]
fn entry_without_counterpart() {
    // GRUB's kernel-alt entry differs from isolinux's: no exact name, no positional match.
    let grub = GRUB.replace(
        "module2 /boot/alt/vmlinuz console=hvc0 console=tty0 kernel-alt",
        "module2 /boot/alt/vmlinuz console=hvc0 kernel-alt",
    );
    fails(
        &dom0_add(Some(&["install-alt"]), &["x"]),
        vec![
            config(ConfigKind::Isolinux, ISOLINUX),
            config(ConfigKind::Grub, &grub),
        ],
        &["grub.cfg", "install-alt"],
    );
}

#[test]
fn new_entry_labels_that_clash() {
    let new = |label: &str| NewEntry {
        label: label.into(),
        title: None,
        from: "install".into(),
        edits: EntryEdits::default(),
    };
    let edits = BootEdits {
        new_entries: vec![new("safe")],
        ..Default::default()
    };
    fails(&edits, both(), &["\"safe\"", "already exists"]);
    let edits = BootEdits {
        new_entries: vec![new("x"), new("x")],
        ..Default::default()
    };
    fails(&edits, both(), &["\"x\"", "twice"]);
    let edits = BootEdits {
        new_entries: vec![new("has space")],
        ..Default::default()
    };
    fails(&edits, both(), &["has space"]);
}

#[test]
fn xen_edits_on_an_entry_that_boots_linux_directly() {
    let text =
        format!("{ISOLINUX}LABEL direct\n\tKERNEL /boot/vmlinuz\n\tAPPEND initrd=/install.img\n");
    let edits = BootEdits {
        entries: Some(strings(&["direct"])),
        edits: EntryEdits {
            xen_args: ArgEdits {
                add: strings(&["loglvl=all"]),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    };
    fails(
        &edits,
        vec![config(ConfigKind::Isolinux, &text)],
        &["direct", "does not boot Xen"],
    );
}

#[test]
fn grub_entry_with_two_linux_lines() {
    let text = "menuentry \"a\" {\n linux /k1 x\n linux /k2 y\n}\n";
    let err = GrubCfg::parse(text.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("more than one linux line"), "{err}");
}

// ---- broken FAT images ----

fn t() -> FatTime {
    FatTime::from_unix(946_684_800)
}

fn good_image() -> Vec<u8> {
    efiboot::create(
        &[
            ("EFI/BOOT/BOOTX64.EFI", &[0x4d; 3000]),
            ("EFI/xenserver/grub.cfg", GRUB.as_bytes()),
        ],
        2880,
        0,
        t(),
    )
    .unwrap()
}

#[test]
fn images_that_are_not_fat() {
    let good = good_image();
    let mut no_sig = good.clone();
    no_sig[510] = 0;
    let mut zero_bps = good.clone();
    zero_bps[11] = 0;
    zero_bps[12] = 0;
    let mut zero_spc = good.clone();
    zero_spc[13] = 0;
    let mut huge = good.clone();
    huge[19] = 0;
    huge[20] = 0;
    huge[32..36].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut no_fat_size = good.clone();
    no_fat_size[22] = 0;
    no_fat_size[23] = 0;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("garbage", vec![0xA5; 4096]),
        ("truncated", good[..100_000].to_vec()),
        ("no signature", no_sig),
        ("zero sector size", zero_bps),
        ("zero cluster size", zero_spc),
        ("size beyond the image", huge),
        ("no FAT size (FAT32 layout)", no_fat_size),
    ];
    for (what, img) in cases {
        let err = efiboot::list(&img).expect_err(what);
        assert!(matches!(err, efiboot::Error::BadImage(_)), "{what}: {err}");
        assert!(efiboot::rebuild(&img, &[], 0, t()).is_err(), "{what}");
    }
}

/// Offset of the FAT and of cluster `n` in an image made by `good_image` (2880 KiB geometry).
const FAT: usize = 512;
fn fat12_set(img: &mut [u8], cl: usize, v: u16) {
    for fat in 0..2 {
        let off = FAT + fat * 9 * 512 + cl * 3 / 2;
        let cur = u16::from_le_bytes([img[off], img[off + 1]]);
        let new = if cl.is_multiple_of(2) {
            (cur & 0xF000) | v
        } else {
            (cur & 0x000F) | (v << 4)
        };
        img[off..off + 2].copy_from_slice(&new.to_le_bytes());
    }
}

#[test]
fn directory_cluster_loop_ends_with_an_error() {
    // A directory of 62 entries plus `.` and `..` fills exactly two 1 KiB clusters (2 and 3):
    // no end marker stops a reader before it follows the chain.
    let names: Vec<String> = (0..62).map(|i| format!("D/F{i:02}")).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    let mut img = efiboot::create(&files, 2880, 0, t()).unwrap();
    assert_eq!(efiboot::list(&img).unwrap().len(), 63);
    // Make the directory's second cluster lead back to its first: an endless chain.
    fat12_set(&mut img, 3, 2);
    let start = std::time::Instant::now();
    let err = efiboot::list(&img).unwrap_err();
    assert!(err.to_string().contains("links back to itself"), "{err}");
    assert!(start.elapsed().as_secs() < 60, "took {:?}", start.elapsed());
}

#[test]
fn directory_loop_over_a_big_file_ends_with_an_error() {
    // As above, but one entry is a 100 KiB file: each turn of the loop would read it again.
    let mut names: Vec<String> = (0..61).map(|i| format!("D/F{i:02}")).collect();
    names.push("D/BIG".into());
    let big = vec![0x5a; 100 * 1024];
    let files: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), if n == "D/BIG" { &big[..] } else { &b""[..] }))
        .collect();
    let mut img = efiboot::create(&files, 2880, 0, t()).unwrap();
    assert_eq!(efiboot::list(&img).unwrap().len(), 63);
    fat12_set(&mut img, 3, 2);
    let err = efiboot::list(&img).unwrap_err();
    assert!(err.to_string().contains("links back to itself"), "{err}");
}

#[test]
fn file_claiming_more_than_the_image() {
    let img = good_image();
    // Find the short entry of BOOTX64.EFI and make its size absurd.
    let at = img
        .windows(11)
        .position(|w| w == b"BOOTX64 EFI")
        .expect("entry");
    let mut bad = img.clone();
    bad[at + 28..at + 32].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = efiboot::read_file(&bad, "EFI/BOOT/BOOTX64.EFI").unwrap_err();
    assert!(err.to_string().contains("BOOTX64.EFI"), "{err}");
}

#[test]
fn paths_that_are_not_trusted() {
    let img = good_image();
    for p in [
        "../EFI",
        "EFI//BOOT",
        "EFI/./BOOT",
        "EFI\\BOOT",
        "a\u{1}b",
        "",
    ] {
        assert!(efiboot::read_file(&img, p).is_err(), "{p:?}");
        assert!(
            efiboot::create(&[(p, b"x")], 2880, 0, t()).is_err(),
            "{p:?}"
        );
    }
    assert!(matches!(
        efiboot::read_file(&img, "EFI/BOOT/missing.efi"),
        Err(efiboot::Error::NotFound(_))
    ));
    assert!(efiboot::create(&[("a", b"x"), ("A", b"y")], 2880, 0, t()).is_err());
    assert!(efiboot::create(&[("a", b"x"), ("a/b", b"y")], 2880, 0, t()).is_err());
}

#[test]
fn conditional_grub_default_is_kept_but_not_edited() {
    let text = GRUB.replace(
        "set default=\"0\"\n",
        "if [ \"${next_entry}\" ] ; then\n   set default=\"${next_entry}\"\nelse\n   set default=\"0\"\nfi\n",
    );
    // Parsing and argument edits work...
    let mut c = vec![config(ConfigKind::Grub, &text)];
    apply(&dom0_add(Some(&["safe"]), &["x=1"]), &mut c).unwrap();
    // ...but the default is not guessed.
    let edits = BootEdits {
        default: Some("safe".into()),
        ..Default::default()
    };
    fails(
        &edits,
        vec![config(ConfigKind::Grub, &text)],
        &["line 2", "conditional"],
    );
}

#[test]
fn isolinux_default_running_a_menu_module_is_not_replaced() {
    let text = ISOLINUX.replace("DEFAULT install", "DEFAULT vesamenu.c32");
    let edits = BootEdits {
        default: Some("safe".into()),
        ..Default::default()
    };
    fails(
        &edits,
        vec![config(ConfigKind::Isolinux, &text)],
        &["menu module"],
    );
}
