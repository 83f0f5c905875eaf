//! Nothing broken is shipped, and every error names the file, entry or path and the cause, as a
//! user meets it through the `isoremix` binary: a GRUB config that GRUB's own parser
//! (`grub-script-check`, the referee) refuses, an efiboot.img that is not FAT, an install.img
//! whose bzip2 stream is corrupt, two edits of one path, names the source does not have, damaged
//! ISO structures and a full disk. Each refusal exits 1, names what is wrong, leaves nothing at
//! or beside the target, and leaves the source as it was.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::refusal::*;
use common::*;

/// An XCP-ng-shaped source made by genisoimage from a tree that `edit` changes first.
fn source_with(dir: &Path, edit: impl FnOnce(&Path)) -> PathBuf {
    let tree = dir.join("tree");
    xcpng_tree(&tree);
    edit(&tree);
    let iso = dir.join("source.iso");
    genisoimage_xcpng(&tree, &iso, true);
    iso
}

/// A temporary folder with an empty `out/` for the target.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    dir
}

/// Builds `profile` from `source` and asserts success.
fn built(dir: &Path, profile: &str, source: &Path) {
    let out = build(dir, profile, source);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether `grub-script-check` (GRUB's own parser) accepts `path`.
fn grub_accepts(path: &Path) -> bool {
    require("grub-script-check");
    Command::new("grub-script-check")
        .arg(path)
        .output()
        .unwrap()
        .status
        .success()
}

/// Edits of every menu of the image.
const BOOT_EDIT: &str = "[boot]\ndom0_args = { add = [\"isoremix.test=1\"] }\n";

/// The 8.3 grub.cfg with `extra` inserted before its first menuentry; returns the text and the
/// line `extra` starts on.
fn grub_with(extra: &str) -> (String, usize) {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/xcp-ng-8.3/EFI/xenserver/grub.cfg");
    let text = std::fs::read_to_string(fixture).unwrap();
    let at = text.find("menuentry").unwrap();
    let line = text[..at].matches('\n').count() + 1;
    (format!("{}{extra}{}", &text[..at], &text[at..]), line)
}

/// Puts `text` into the tree's efiboot.img as its grub.cfg copy (with mtools).
fn put_in_efiboot(tree: &Path, text: &str) {
    let cfg = tree.join("efiboot-grub.cfg.tmp");
    std::fs::write(&cfg, text).unwrap();
    let img = tree.join("boot/efiboot.img");
    run(Command::new("mcopy").args([
        "-o",
        "-i",
        img.to_str().unwrap(),
        cfg.to_str().unwrap(),
        "::/EFI/xenserver/grub.cfg",
    ]));
    std::fs::remove_file(cfg).unwrap();
}

// ---- GRUB configs the build edits must be scripts GRUB accepts ----

#[test]
fn hostile_grub_unbalanced_blocks_are_refused_with_file_and_line() {
    // (text inserted before the first menuentry, or appended when `at_end`; what the error says)
    let cases = [
        (
            "function unused {\n  insmod part_gpt\n\n",
            false,
            "`function` is never closed",
        ),
        (
            "if [ x = y ]; then\n  set a=1\n\n",
            false,
            "`if` is never closed",
        ),
        (
            "for x in a b; do\n  echo $x\n\n",
            false,
            "`for` is never closed",
        ),
        (
            "while false; do\n  echo\n\n",
            false,
            "`while` is never closed",
        ),
        (
            "menuentry \"stub\" {\n  echo stub\n\n",
            false,
            "`{` block is never closed",
        ),
        (
            "set greeting=\"hello\n",
            true,
            "double quote is never closed",
        ),
        (
            "menuentry \"last\" {\n  echo\n",
            true,
            "`{` block is never closed",
        ),
        ("if true; then\n  echo\n", true, "`if` is never closed"),
    ];
    for (extra, at_end, what) in cases {
        let dir = setup();
        let (text, line) = if at_end {
            let (text, _) = grub_with("");
            let line = text.matches('\n').count() + 1;
            (format!("{text}{extra}"), line)
        } else {
            grub_with(extra)
        };
        let cfg = dir.path().join("grub.cfg");
        std::fs::write(&cfg, &text).unwrap();
        assert!(!grub_accepts(&cfg), "grub-script-check accepts {extra:?}");
        let source = source_with(dir.path(), |tree| {
            std::fs::write(tree.join("EFI/xenserver/grub.cfg"), &text).unwrap();
        });
        refused(
            dir.path(),
            &profile(BOOT_EDIT),
            &source,
            &["EFI/xenserver/grub.cfg", &format!("line {line}:"), what],
        );
    }
}

#[test]
fn hostile_grub_usb_and_efiboot_copies_are_judged_too() {
    let (text, line) = grub_with("if true; then\n  echo\n\n");
    // grub-usb.cfg beside grub.cfg.
    let dir = setup();
    let source = source_with(dir.path(), |tree| {
        std::fs::write(tree.join("EFI/xenserver/grub-usb.cfg"), &text).unwrap();
    });
    refused(
        dir.path(),
        &profile(BOOT_EDIT),
        &source,
        &[
            "EFI/xenserver/grub-usb.cfg",
            &format!("line {line}"),
            "`if` is never closed",
        ],
    );
    // The copy inside efiboot.img.
    let dir = setup();
    let source = source_with(dir.path(), |tree| put_in_efiboot(tree, &text));
    refused(
        dir.path(),
        &profile(BOOT_EDIT),
        &source,
        &[
            "boot/efiboot.img:EFI/xenserver/grub.cfg",
            &format!("line {line}"),
            "`if`",
        ],
    );
}

#[test]
fn hostile_grub_config_not_edited_is_not_judged() {
    // grub-usb.cfg is broken, but a build that edits no menu ships it as it is.
    let dir = setup();
    let (text, _) = grub_with("if true; then\n  echo\n\n");
    let source = source_with(dir.path(), |tree| {
        std::fs::write(tree.join("EFI/xenserver/grub-usb.cfg"), &text).unwrap();
    });
    built(
        dir.path(),
        &profile("[iso]\nremove = [\"/EULA\"]\n"),
        &source,
    );
}

#[test]
fn grub_script_check_accepts_what_we_ship() {
    // Sources GRUB accepts, edited in every way [boot] can: GRUB accepts the output too.
    let dir = setup();
    let (text, _) = grub_with("function unused {\n  if true; then echo; fi\n}\n\n");
    let source = source_with(dir.path(), |tree| {
        std::fs::write(tree.join("EFI/xenserver/grub.cfg"), &text).unwrap();
        std::fs::write(tree.join("EFI/xenserver/grub-usb.cfg"), &text).unwrap();
        put_in_efiboot(tree, &text);
    });
    let src_cfg = dir.path().join("tree/EFI/xenserver/grub.cfg");
    assert!(
        grub_accepts(&src_cfg),
        "the source config must be one GRUB accepts"
    );
    let body = "[boot]\ndefault = \"install\"\ntimeout = 7\n\
                dom0_args = { add = [\"b=1,2:3\"] }\n\
                xen_args = { add = [\"loglvl=all\"] }\n\
                [[boot.entry]]\nlabel = \"site\"\ntitle = \"Site install\"\nfrom = \"install\"\n";
    built(dir.path(), &profile(body), &source);
    let out = dir.path().join("extracted");
    xorriso_extract(&target(dir.path()), &out);
    for cfg in ["EFI/xenserver/grub.cfg", "EFI/xenserver/grub-usb.cfg"] {
        let path = out.join(cfg);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("Site install"),
            "{cfg} was not edited:\n{text}"
        );
        assert!(
            grub_accepts(&path),
            "grub-script-check refuses our {cfg}:\n{text}"
        );
    }
    let img = out.join("boot/efiboot.img");
    let copy = dir.path().join("efiboot-grub.cfg");
    run(Command::new("mcopy").args([
        "-i",
        img.to_str().unwrap(),
        "::/EFI/xenserver/grub.cfg",
        copy.to_str().unwrap(),
    ]));
    assert!(
        grub_accepts(&copy),
        "grub-script-check refuses our efiboot.img copy"
    );
}

// ---- isolinux.cfg: the edited text must parse back ----

#[test]
fn hostile_isolinux_edit_reads_back() {
    // A menu the build edits, through every edit: the result parses again into what was
    // edited (the check runs inside every build; here it must pass on the real 8.3 menu).
    let dir = setup();
    let source = source_with(dir.path(), |_| {});
    let body = "[boot]\ndefault = \"install\"\ntimeout = 7\n\
                dom0_args = { add = [\"a=1\"] }\n\
                [[boot.entry]]\nlabel = \"site\"\ntitle = \"Site install\"\nfrom = \"install\"\n";
    built(dir.path(), &profile(body), &source);
}

// ---- efiboot.img ----

#[test]
fn hostile_efiboot_not_fat_is_named() {
    let dir = setup();
    let source = source_with(dir.path(), |tree| {
        std::fs::write(tree.join("boot/efiboot.img"), pseudo_random(1_474_560, 11)).unwrap();
    });
    refused(
        dir.path(),
        &profile(BOOT_EDIT),
        &source,
        &["boot/efiboot.img", "FAT"],
    );
    // The EFI fallback loader comes from the same image.
    refused(
        dir.path(),
        &profile("[boot]\nefi_fallback = true\n"),
        &source,
        &["boot/efiboot.img", "FAT"],
    );
}

// ---- install.img: the base of an overlay must be whole bzip2 streams ----

/// A bzip2 (level 1: several blocks) install.img holding a newc archive made by GNU cpio.
fn bzip2_install_img(dir: &Path) -> Vec<u8> {
    let root = dir.join("initrd");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/data"), pseudo_random(400_000, 5)).unwrap();
    let cpio = common::initrd::gnu_cpio(&root);
    common::initrd::sh("bzip2 -1 -c", Path::new("/"), &cpio)
}

/// A profile adding one file to install.img (an overlay: nothing of the image is decoded).
fn add_marker(dir: &Path) -> String {
    let marker = dir.join("marker");
    std::fs::write(&marker, "marker\n").unwrap();
    profile(&format!(
        "[installer]\n[[installer.files]]\nsrc = \"{}\"\ndest = \"/etc/marker\"\n",
        marker.display()
    ))
}

#[test]
fn hostile_install_img_with_broken_bzip2_framing_is_refused() {
    let work = setup();
    let good = bzip2_install_img(work.path());
    let n = good.len();
    let flip = |at: usize| {
        let mut b = good.clone();
        b[at] ^= 0x24;
        b
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (good[..n - 40].to_vec(), "no end-of-stream marker"),
        (flip(n - 3), "combined CRC mismatch"),
        (flip(11), "combined CRC mismatch"),
        ([&b"BZh0"[..], &good[4..]].concat(), "BZh1 to BZh9"),
        (
            [&good[..], &[0u8; 3][..], b"JUNKJUNK"].concat(),
            "unknown data at image offset",
        ),
    ];
    for (image, what) in cases {
        let dir = setup();
        let source = source_with(dir.path(), |tree| {
            std::fs::write(tree.join("install.img"), &image).unwrap();
        });
        refused(
            dir.path(),
            &add_marker(dir.path()),
            &source,
            &["install.img", what],
        );
        // The check runs beside the ISO write; a plan, which writes nothing, waits for it.
        let plan = common::isoremix()
            .arg("build")
            .arg("--plan")
            .arg(dir.path().join("profile.toml"))
            .arg("--source")
            .arg(&source)
            .output()
            .unwrap();
        let msg = String::from_utf8_lossy(&plan.stderr);
        assert_eq!(plan.status.code(), Some(1), "plan not refused: {msg}");
        assert!(msg.contains(what), "{msg:?} does not mention {what:?}");
    }
    // The same image whole takes the overlay.
    let dir = setup();
    let source = source_with(dir.path(), |tree| {
        std::fs::write(tree.join("install.img"), &good).unwrap();
    });
    built(dir.path(), &add_marker(dir.path()), &source);
}

// ---- two edits of one path; names the source lacks; arguments the menus cannot carry ----

/// `text`'s `file:line:col` of the `nth` (0-based) occurrence of `needle`, as errors print it.
fn at(dir: &Path, text: &str, needle: &str, nth: usize) -> String {
    let offset = text.match_indices(needle).nth(nth).expect("needle").0;
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    format!("{}:{line}:{col}", dir.join("profile.toml").display())
}

#[test]
fn hostile_conflicting_edits_of_one_path_name_both_lines() {
    let dir = setup();
    let source = source_with(dir.path(), |_| {});
    std::fs::write(dir.path().join("x"), "x\n").unwrap();
    let src = dir.path().join("x").display().to_string();
    let cases = [
        (
            format!(
                "[iso]\nremove = [\"/EULA\"]\n[[iso.files]]\nsrc = \"{src}\"\ndest = \"/EULA\"\n"
            ),
            ("\"/EULA\"", 1, "\"/EULA\"", 0),
            "both removed and written",
        ),
        (
            "[iso]\nremove = [\"/EULA\", \"/EULA\"]\n".to_string(),
            ("\"/EULA\"", 1, "\"/EULA\"", 0),
            "removed twice",
        ),
        (
            format!(
                "[[iso.files]]\nsrc = \"{src}\"\ndest = \"/a\"\n\
                 [[iso.files]]\nsrc = \"{src}\"\ndest = \"/a/b\"\n"
            ),
            ("\"/a/b\"", 0, "\"/a\"", 0),
            "cannot hold other files",
        ),
        (
            format!(
                "[installer]\nremove = [\"/etc/hosts\"]\n\
                 [[installer.files]]\nsrc = \"{src}\"\ndest = \"/etc/hosts\"\n"
            ),
            ("\"/etc/hosts\"", 1, "\"/etc/hosts\"", 0),
            "both removed and written",
        ),
        (
            // A patch of a path below one `[installer] remove` takes away.
            "[installer]\nremove = [\"/etc\"]\npatches = [\"hosts.patch\"]\n".to_string(),
            ("\"hosts.patch\"", 0, "\"/etc\"", 0),
            "removals come before patches",
        ),
    ];
    std::fs::write(
        dir.path().join("hosts.patch"),
        "--- a/etc/hosts\n+++ b/etc/hosts\n@@ -1 +1 @@\n-a\n+b\n",
    )
    .unwrap();
    for (body, (second, n2, first, n1), why) in cases {
        let text = profile(&body);
        let second = at(dir.path(), &text, second, n2);
        let first = at(dir.path(), &text, first, n1);
        refused(dir.path(), &text, &source, &[&second, &first, why]);
    }
}

#[test]
fn hostile_unknown_boot_entry_points_at_the_profile_and_lists_the_entries() {
    let dir = setup();
    let source = source_with(dir.path(), |_| {});
    for body in [
        "[boot]\nentries = [\"install\", \"instal\"]\ndom0_args = { add = [\"x=1\"] }\n",
        "[boot]\ndefault = \"instal\"\n",
        "[[boot.entry]]\nlabel = \"site\"\ntitle = \"Site\"\nfrom = \"instal\"\n",
    ] {
        let text = profile(body);
        let place = at(dir.path(), &text, "\"instal\"", 0);
        refused(
            dir.path(),
            &text,
            &source,
            &[&place, "\"instal\"", "install, no-serial", "safe"],
        );
    }
}

#[test]
fn hostile_boot_argument_the_menus_cannot_carry_points_at_the_profile() {
    let dir = setup();
    let source = source_with(dir.path(), |_| {});
    for arg in ["a;b", "x={y}", "u=http://h/?a=1&b=2", "$x"] {
        let text = profile(&format!("[boot]\ndom0_args = {{ add = [\"{arg}\"] }}\n"));
        let place = at(dir.path(), &text, &format!("\"{arg}\""), 0);
        refused(
            dir.path(),
            &text,
            &source,
            &[&place, arg, "quote or interpret"],
        );
    }
}

// ---- a write the OS refuses keeps the OS reason ----

#[test]
fn hostile_full_disk_says_the_os_reason() {
    // A file size limit makes the write fail as a full disk does (EFBIG instead of ENOSPC),
    // without root; SIGXFSZ is ignored so that the write returns the error.
    let dir = setup();
    let source = source_with(dir.path(), |_| {});
    let before = sha256(&source);
    let path = dir.path().join("profile.toml");
    std::fs::write(&path, profile("[iso]\nremove = [\"/EULA\"]\n")).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 1000; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_isoremix"))
        .arg("build")
        .arg(&path)
        .arg("--source")
        .arg(&source)
        .arg("-o")
        .arg(target(dir.path()))
        .output()
        .unwrap();
    assert_refused(
        &out,
        dir.path(),
        &source,
        &before,
        &["out/new.iso", "File too large (os error 27)"],
    );
}

/// A real full disk: a 2 MiB tmpfs mounted in a user and mount namespace of the test's own
/// (`unshare`, no root needed). `sample` and `build` fail naming the OS reason, and leave nothing
/// on the full filesystem (listed from inside the namespace, where the mount lives).
#[test]
fn hostile_full_disk_says_no_space_left_and_leaves_nothing() {
    let dir = setup();
    let source = source_with(dir.path(), |_| {});
    let before = sha256(&source);
    let path = dir.path().join("profile.toml");
    std::fs::write(&path, profile("[iso]\nremove = [\"/EULA\"]\n")).unwrap();
    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    let bin = env!("CARGO_BIN_EXE_isoremix");
    for args in [
        vec![
            "sample".to_string(),
            full.join("s.iso").display().to_string(),
        ],
        vec![
            "build".to_string(),
            path.display().to_string(),
            "--source".to_string(),
            source.display().to_string(),
            "-o".to_string(),
            full.join("new.iso").display().to_string(),
        ],
    ] {
        let out = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
            .arg(
                "mount -t tmpfs -o size=2m tmpfs \"$1\" || exit 99; shift; \
                 \"$@\"; rc=$?; echo \"left: $(ls -A \"$0\" 2>/dev/null)\"; exit $rc",
            )
            .arg(&full)
            .arg(&full)
            .arg(bin)
            .args(&args)
            .output()
            .expect("unshare (util-linux) runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_ne!(
            out.status.code(),
            Some(99),
            "cannot mount a tmpfs: {stderr}"
        );
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stdout}{stderr}");
        assert!(
            stderr.contains("No space left on device (os error 28)"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains(&args.last().unwrap().to_string()),
            "{stderr}"
        );
        assert!(stdout.contains("left: \n"), "{args:?} left files: {stdout}");
    }
    assert_eq!(sha256(&source), before, "the source changed");
}
