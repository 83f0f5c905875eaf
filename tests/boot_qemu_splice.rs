//! Proof by booting that the kernel unpacks a spliced install.img: a patch of `/etc/marker` in
//! the boot test's source (a bzip2 -9 install.img made by GNU cpio, with a few megabytes of
//! files after the marker, so that untouched blocks follow the patched one) is written by
//! re-encoding only the bzip2 block holding it, with unused selectors added so that the blocks
//! after it keep their bit positions, and the remastered ISO boots (BIOS CD through Xen, UEFI
//! CD directly) with the console showing the patched marker.
//!
//! Needs what `tests/boot_qemu.rs` needs (see `boot_support`).

mod boot_support;

use std::process::Command;

use boot_support::initrd::build_initrd_with;
use boot_support::source_iso::{
    DIRECT_ARGS, DOM0_ARGS, SOURCE_MARKER, XEN_ARGS, build_source_tree, pack_iso,
};
use boot_support::tools::{self, copy, mkdir, write};
use boot_support::{ArgCheck, Entry, Expectation, Mode, boot, check, exclusive, work_dir};

/// The marker the patch writes.
const PATCHED_MARKER: &str = "isoremix boot test: spliced installer";

#[test]
fn spliced_install_img_boots() {
    let _guard = exclusive();
    let dir = work_dir().join("remaster-splice");
    mkdir(&dir);
    write(
        &dir.join("marker.patch"),
        format!(
            "--- a/etc/marker\n+++ b/etc/marker\n@@ -1 +1 @@\n-{SOURCE_MARKER}\n+{PATCHED_MARKER}\n"
        ),
    );
    // The boot test's source with files sorted after /etc/marker: about 4 MB of text, bzip2
    // blocks that the splice keeps as they are after the one it encodes again.
    let source_dir = dir.join("source");
    let tree = build_source_tree(&source_dir);
    let fill: Vec<u8> = (0..120_000u32)
        .flat_map(|i| format!("line {i} of a file that follows the marker\n").into_bytes())
        .collect();
    let initrd = build_initrd_with(
        &source_dir,
        SOURCE_MARKER,
        &[("etc/zz-fill.txt".to_owned(), fill)],
    );
    copy(&initrd, &tree.join("install.img"));
    let source = source_dir.join("source-fill.iso");
    pack_iso(&tree, &source);
    let profile = dir.join("profile.toml");
    write(
        &profile,
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n\
         [installer]\npatches = [\"marker.patch\"]\n",
    );
    let out = dir.join("spliced.iso");
    let output = tools::run(
        Command::new(env!("CARGO_BIN_EXE_isoremix"))
            .arg("build")
            .arg(&profile)
            .arg("--source")
            .arg(&source)
            .arg("-o")
            .arg(&out)
            .arg("--json")
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("SOURCE_DATE_EPOCH", "946684800"),
    );
    let report = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value =
        serde_json::from_str(&report[report.find('{').unwrap()..=report.rfind('}').unwrap()])
            .unwrap();
    let change = &report["changes"]["install_img"];
    assert_eq!(change["strategy"], "splice", "{change}");
    // Blocks were kept after the new one, and it needed selectors to end where the old did.
    let why = change["why"].as_str().unwrap();
    assert!(!why.contains("; 0 unused selectors"), "{why}");
    assert!(!why.contains("(1 of 1 blocks)"), "{why}");
    for (mode, entry) in [(Mode::BiosCd, Entry::Xen), (Mode::UefiCd, Entry::Direct)] {
        let expect = match entry {
            Entry::Xen => Expectation {
                marker: PATCHED_MARKER.to_owned(),
                xen_args: ArgCheck::new(XEN_ARGS, [""; 0]),
                kernel_args: ArgCheck::new(DOM0_ARGS, [""; 0]),
            },
            Entry::Direct => Expectation {
                marker: PATCHED_MARKER.to_owned(),
                xen_args: ArgCheck::default(),
                kernel_args: ArgCheck::new(DIRECT_ARGS, [""; 0]),
            },
        };
        let log = boot(&out, mode, entry);
        let problems = check(&log, mode, entry, &expect);
        assert!(
            problems.is_empty(),
            "spliced {mode:?} {entry:?} ({:.1} s): {problems:#?}\n{}",
            log.elapsed.as_secs_f64(),
            log.tail(40)
        );
    }
}
