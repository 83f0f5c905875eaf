//! Editing one menu entry through `[boot]` changes it in every boot config of
//! the image — isolinux.cfg, EFI/xenserver/grub.cfg and the grub.cfg copy
//! inside efiboot.img — and nowhere else, as xorriso, mtools and fsck.fat
//! read the output.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn mtype(img: &Path, path: &str) -> String {
    require("mtype");
    run(Command::new("mtype")
        .arg("-i")
        .arg(img)
        .arg(format!("::{path}")))
}

/// Lines of `b` that differ from `a` (same line count required).
fn changed_lines(a: &str, b: &str) -> Vec<(usize, String, String)> {
    let (la, lb): (Vec<_>, Vec<_>) = (a.lines().collect(), b.lines().collect());
    assert_eq!(la.len(), lb.len(), "line count changed:\n{a}\n---\n{b}");
    la.iter()
        .zip(&lb)
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, (x, y))| (i + 1, x.to_string(), y.to_string()))
        .collect()
}

#[test]
fn one_entry_edit_reaches_all_three_configs_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.iso");
    run(isoremix().arg("sample").arg(&src));
    std::fs::write(
        dir.path().join("p.toml"),
        "[source]\niso = \"src.iso\"\n[output]\niso = \"out.iso\"\n\
         [boot]\nentries = [\"multipath\"]\ndom0_args = { add = [\"nomodeset\"] }\n",
    )
    .unwrap();
    run(isoremix().arg("build").arg(dir.path().join("p.toml")));
    let out = dir.path().join("out.iso");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    xorriso_extract(&src, &a);
    xorriso_extract(&out, &b);

    let read = |d: &Path, p: &str| std::fs::read_to_string(d.join(p)).unwrap();
    let iso = changed_lines(
        &read(&a, "boot/isolinux/isolinux.cfg"),
        &read(&b, "boot/isolinux/isolinux.cfg"),
    );
    assert_eq!(iso.len(), 1, "{iso:?}");
    assert!(
        iso[0]
            .2
            .contains("device_mapper_multipath=enabled nomodeset --- /install.img"),
        "{iso:?}"
    );

    let grub = changed_lines(
        &read(&a, "EFI/xenserver/grub.cfg"),
        &read(&b, "EFI/xenserver/grub.cfg"),
    );
    assert_eq!(grub.len(), 1, "{grub:?}");
    assert!(
        grub[0]
            .2
            .trim_end()
            .ends_with("device_mapper_multipath=enabled nomodeset"),
        "{grub:?}"
    );

    // The copy inside the EFI boot image, read with mtools from the image xorriso extracted.
    let (ea, eb) = (a.join("boot/efiboot.img"), b.join("boot/efiboot.img"));
    let inner = changed_lines(
        &mtype(&ea, "/EFI/xenserver/grub.cfg"),
        &mtype(&eb, "/EFI/xenserver/grub.cfg"),
    );
    assert_eq!(inner.len(), 1, "{inner:?}");
    assert_eq!(inner[0].2, grub[0].2);
    assert_eq!(
        inner[0].0,
        grub[0].0 + 1,
        "the copy has its extra search line before the entries"
    );
    assert!(mtype(&eb, "/EFI/xenserver/grub.cfg").contains("search --file --set /install.img"));
    require("fsck.fat");
    run(Command::new("fsck.fat").arg("-n").arg(&eb));

    // Everything else on the image is unchanged but for the boot catalog.
    for f in [
        "install.img",
        "boot/vmlinuz",
        "boot/xen.gz",
        ".treeinfo",
        "EFI/xenserver/grubx64.efi",
    ] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    // Both El Torito entries and the hybrid MBR, over the new EFI image.
    let rep = xorriso_report(&out);
    assert!(
        rep.contains("El Torito img path :   1  /boot/isolinux/isolinux.bin"),
        "{rep}"
    );
    assert!(
        rep.contains("El Torito img path :   2  /boot/efiboot.img"),
        "{rep}"
    );
    assert!(
        rep.contains("MBR partition path :   2  /boot/efiboot.img"),
        "{rep}"
    );
}

#[test]
fn an_unknown_entry_is_an_error_naming_it_and_no_image_is_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n\
         [boot]\nentries = [\"no-such-entry\"]\ndom0_args = { add = [\"x=1\"] }\n",
    )
    .unwrap();
    let out = isoremix()
        .arg("build")
        .arg(dir.path().join("p.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-entry"), "{err}");
    assert!(!dir.path().join("out.iso").exists());
}

#[test]
fn new_entry_default_timeout_and_efi_fallback_in_every_menu() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n\
         [boot]\nxen_args = { set = [\"dom0_mem=max:16384M\"], remove = [\"com1\"] }\n\
         dom0_args = { remove = [\"console=hvc0\"] }\ndefault = \"install-site\"\ntimeout = 3\nefi_fallback = true\n\
         [[boot.entry]]\nlabel = \"install-site\"\ntitle = \"Install with site defaults\"\nfrom = \"install\"\n\
         dom0_args = { add = [\"answerfile=http://deploy.example/answer.xml\", \"install\"] }\n",
    )
    .unwrap();
    run(isoremix().arg("build").arg(dir.path().join("p.toml")));
    let b = dir.path().join("b");
    xorriso_extract(&dir.path().join("out.iso"), &b);
    let isolinux = std::fs::read_to_string(b.join("boot/isolinux/isolinux.cfg")).unwrap();
    assert!(isolinux.contains("DEFAULT install-site"), "{isolinux}");
    assert!(isolinux.contains("TIMEOUT 30"), "{isolinux}");
    assert!(isolinux.contains("LABEL install-site"), "{isolinux}");
    assert!(!isolinux.contains("com1=115200"), "{isolinux}");
    assert!(!isolinux.contains("console=hvc0"), "{isolinux}");
    assert!(isolinux.contains("dom0_mem=max:16384M"), "{isolinux}");
    assert!(
        isolinux.contains("answerfile=http://deploy.example/answer.xml install --- /install.img"),
        "{isolinux}"
    );
    let grub = std::fs::read_to_string(b.join("EFI/xenserver/grub.cfg")).unwrap();
    let inner = mtype(&b.join("boot/efiboot.img"), "/EFI/xenserver/grub.cfg");
    for cfg in [&grub, &inner] {
        assert!(
            cfg.contains("menuentry \"Install with site defaults\""),
            "{cfg}"
        );
        assert!(cfg.contains("set timeout=3"), "{cfg}");
        assert!(!cfg.contains("console=hvc0"), "{cfg}");
        assert!(
            cfg.contains("answerfile=http://deploy.example/answer.xml install"),
            "{cfg}"
        );
    }
    assert!(inner.contains("search --file --set /install.img"));
    // The fallback loader on the ISO is the EFI image's own BOOTX64.EFI.
    require("mcopy");
    let loader = dir.path().join("loader.efi");
    run(Command::new("mcopy")
        .arg("-i")
        .arg(b.join("boot/efiboot.img"))
        .arg("::/EFI/BOOT/BOOTX64.EFI")
        .arg(&loader));
    assert_eq!(
        std::fs::read(b.join("EFI/BOOT/BOOTX64.EFI")).unwrap(),
        std::fs::read(&loader).unwrap()
    );
    require("grub-script-check");
    let inner_file = dir.path().join("efiboot-grub.cfg");
    std::fs::write(&inner_file, &inner).unwrap();
    for cfg in [b.join("EFI/xenserver/grub.cfg"), inner_file] {
        run(Command::new("grub-script-check").arg(cfg));
    }
}

#[test]
fn signature_checks_go_off_in_every_xen_entry_even_when_boot_selects_one() {
    let dir = tempfile::tempdir().unwrap();
    common::demo::demo_rpm(dir.path());
    std::fs::write(
        dir.path().join("p.toml"),
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n\
         [packages]\nadd = [\"*.rpm\"]\n\
         [boot]\nentries = [\"install\"]\ndom0_args = { add = [\"nomodeset\"] }\n",
    )
    .unwrap();
    let out = isoremix()
        .arg("build")
        .arg(dir.path().join("p.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("warning: "),
        "no warning about the signature checks"
    );
    let b = dir.path().join("b");
    xorriso_extract(&dir.path().join("out.iso"), &b);
    let isolinux = std::fs::read_to_string(b.join("boot/isolinux/isolinux.cfg")).unwrap();
    let appends: Vec<&str> = isolinux
        .lines()
        .filter(|l| l.contains("APPEND /boot/xen.gz"))
        .collect();
    assert_eq!(appends.len(), 6, "{isolinux}");
    for line in &appends {
        assert!(line.contains("no-gpgcheck no-repo-gpgcheck"), "{line}");
    }
    assert_eq!(
        appends.iter().filter(|l| l.contains("nomodeset")).count(),
        1,
        "{isolinux}"
    );
    let grub = std::fs::read_to_string(b.join("EFI/xenserver/grub.cfg")).unwrap();
    let inner = mtype(&b.join("boot/efiboot.img"), "/EFI/xenserver/grub.cfg");
    for cfg in [&grub, &inner] {
        let modules: Vec<&str> = cfg
            .lines()
            .filter(|l| l.contains("module2 /boot/"))
            .collect();
        assert_eq!(modules.len(), 6, "{cfg}");
        assert!(
            modules
                .iter()
                .all(|l| l.contains("no-gpgcheck no-repo-gpgcheck")),
            "{cfg}"
        );
    }
}
