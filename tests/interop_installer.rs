//! `[installer]` end to end: files, a patch and an answer file go into the
//! output's install.img, as an appended overlay or a re-pack, and GNU cpio
//! and bzip2 (the referees) read back exactly what the profile asked for.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

const PATCH: &str = "--- a/opt/xensource/installer/constants.py\n\
+++ b/opt/xensource/installer/constants.py\n\
@@ -1,3 +1,3 @@\n \
# isoremix sample\n \
ANSWERFILE_PATH = '/tmp/answerfile'\n\
-DEFAULT_TIMEOUT = 30\n\
+DEFAULT_TIMEOUT = 10\n";

const ANSWER: &str = "<?xml version=\"1.0\"?>\n<installation mode=\"fresh\">\n  <primary-disk>sda</primary-disk>\n</installation>\n";

fn profile(dir: &Path, mode: &str, extra: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("site.conf"), "options igc debug=1\n").unwrap();
    std::fs::write(dir.join("fix.patch"), PATCH).unwrap();
    std::fs::write(dir.join("answer.xml"), ANSWER).unwrap();
    let p = dir.join("p.toml");
    std::fs::write(
        &p,
        format!(
            "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n\
             [installer]\nmode = \"{mode}\"\npatches = [\"fix.patch\"]\nanswerfile = \"answer.xml\"\n{extra}\
             [[installer.files]]\nsrc = \"site.conf\"\ndest = \"/etc/modprobe.d/99-site.conf\"\nmode = \"0640\"\n"
        ),
    )
    .unwrap();
    p
}

/// Unpacks every archive of a bzip2 stream sequence with GNU cpio (one
/// `cpio -idm` per archive) into `dir`; returns cpio's listing.
fn unpack_with_cpio(data: &[u8], dir: &Path) -> String {
    require("bzip2");
    require("cpio");
    std::fs::create_dir_all(dir).unwrap();
    let raw = dir.with_extension("cpio");
    let mut child = Command::new("bzip2")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&raw).unwrap())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(data).unwrap();
    assert!(
        child.wait().unwrap().success(),
        "bzip2 -dc refused the archive"
    );
    // GNU cpio stops at each archive's trailer: run it until the input is used up.
    let list = dir.with_extension(format!("list{}", data.len()));
    run(Command::new("sh")
        .arg("-c")
        .arg("last=; while cpio -idmuv --no-absolute-filenames 2>>\"$0\"; do n=$(wc -c < \"$0\"); [ \"$n\" = \"$last\" ] && break; last=$n; done")
        .arg(&list)
        .current_dir(dir)
        .stdin(std::fs::File::open(&raw).unwrap()));
    std::fs::read_to_string(&list).unwrap()
}

fn install_img(iso: &Path, dir: &Path) -> Vec<u8> {
    let x = dir.join("x");
    xorriso_extract(iso, &x);
    std::fs::read(x.join("install.img")).unwrap()
}

fn check_tree(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let conf = root.join("etc/modprobe.d/99-site.conf");
    assert_eq!(
        std::fs::read_to_string(&conf).unwrap(),
        "options igc debug=1\n"
    );
    assert_eq!(
        std::fs::metadata(&conf).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    let constants =
        std::fs::read_to_string(root.join("opt/xensource/installer/constants.py")).unwrap();
    assert!(
        constants.contains("DEFAULT_TIMEOUT = 10") && !constants.contains("= 30"),
        "{constants}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("answerfile.xml")).unwrap(),
        ANSWER
    );
}

fn grub_cfg(iso: &Path, dir: &Path) -> String {
    std::fs::read_to_string(dir.join("x/EFI/xenserver/grub.cfg")).unwrap_or_else(|_| {
        xorriso_extract(iso, &dir.join("x"));
        std::fs::read_to_string(dir.join("x/EFI/xenserver/grub.cfg")).unwrap()
    })
}

#[test]
fn repack_is_one_bzip2_sequence_that_gnu_cpio_unpacks_to_the_asked_tree() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), "repack", "remove = [\"/etc/motd\"]\n");
    run(isoremix().arg("build").arg(&p));
    let out = dir.path().join("out.iso");
    let img = install_img(&out, dir.path());
    let root = dir.path().join("root");
    unpack_with_cpio(&img, &root);
    check_tree(&root);
    assert!(
        !root.join("etc/motd").exists(),
        "a removed file is still there"
    );
    assert!(
        root.join("etc/hostname").exists(),
        "an untouched file is missing"
    );
    // The answer file's boot arguments are on the installer entries.
    let grub = grub_cfg(&out, dir.path());
    assert!(
        grub.contains("answerfile=file:///answerfile.xml install"),
        "{grub}"
    );
}

#[test]
fn overlay_keeps_the_source_bytes_and_appends_an_aligned_archive() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.iso");
    run(isoremix().arg("sample").arg(&src));
    let base = {
        let d = dir.path().join("s");
        std::fs::create_dir_all(&d).unwrap();
        install_img(&src, &d)
    };
    let p = profile(dir.path(), "overlay", "");
    run(isoremix().arg("build").arg(&p).arg("--source").arg(&src));
    let img = install_img(&dir.path().join("out.iso"), dir.path());
    assert_eq!(
        &img[..base.len()],
        &base[..],
        "the source's compressed bytes changed"
    );
    let start = base.len().div_ceil(4) * 4;
    assert!(img[base.len()..start].iter().all(|&b| b == 0));
    assert_eq!(
        &img[start..start + 3],
        b"BZh",
        "the overlay does not start at a 4-byte boundary"
    );
    // Base first, then the overlay on top, each unpacked by GNU cpio.
    let root = dir.path().join("root");
    unpack_with_cpio(&base, &root);
    let listing = unpack_with_cpio(&img[start..], &root);
    for entry in [
        "etc/modprobe.d/99-site.conf",
        "answerfile.xml",
        "opt/xensource/installer/constants.py",
    ] {
        assert!(
            listing.contains(entry),
            "{entry} not in the overlay: {listing}"
        );
    }
    assert!(
        !listing.contains("etc/hostname"),
        "the overlay carries unchanged files: {listing}"
    );
    check_tree(&root);
}

#[test]
fn same_profile_same_install_img_in_both_modes() {
    for mode in ["overlay", "repack"] {
        let mut images: BTreeMap<u8, Vec<u8>> = BTreeMap::new();
        for n in 0..2u8 {
            let dir = tempfile::tempdir().unwrap();
            let p = profile(dir.path(), mode, "");
            run(isoremix().arg("build").arg(&p));
            images.insert(n, std::fs::read(dir.path().join("out.iso")).unwrap());
        }
        assert!(images[&0] == images[&1], "{mode}: two builds differ");
    }
}

#[test]
fn a_patch_that_does_not_apply_names_patch_file_and_hunk_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), "auto", "");
    std::fs::write(
        dir.path().join("fix.patch"),
        PATCH.replace("DEFAULT_TIMEOUT = 30", "DEFAULT_TIMEOUT = 99"),
    )
    .unwrap();
    let out = isoremix().arg("build").arg(&p).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("fix.patch") && err.contains("constants.py") && err.contains("hunk #1"),
        "{err}"
    );
    assert!(!dir.path().join("out.iso").exists());
}

#[test]
fn an_answer_file_that_is_not_xml_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile(dir.path(), "auto", "");
    std::fs::write(
        dir.path().join("answer.xml"),
        "<installation><oops></installation>",
    )
    .unwrap();
    let out = isoremix().arg("build").arg(&p).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("answer.xml"), "{err}");
    assert!(!dir.path().join("out.iso").exists());
}

#[test]
fn a_truncated_install_img_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    xcpng_tree(&tree);
    // A bzip2 stream cut in the middle.
    let mut img = Vec::new();
    {
        use std::io::Write;
        let mut e = bzip2::write::BzEncoder::new(&mut img, bzip2::Compression::best());
        e.write_all(&pseudo_random(300_000, 1)).unwrap();
        e.finish().unwrap();
    }
    img.truncate(img.len() / 2);
    std::fs::write(tree.join("install.img"), &img).unwrap();
    let src = dir.path().join("src.iso");
    genisoimage_xcpng(&tree, &src, true);
    let p = profile(dir.path(), "repack", "");
    let out = isoremix()
        .arg("build")
        .arg(&p)
        .arg("--source")
        .arg(&src)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("install.img"), "{err}");
    assert!(!dir.path().join("out.iso").exists());
}
