//! Proof by booting that the kernel unpacks a spliced install.img: a patch of `/etc/marker` in
//! the boot test's source (a bzip2 -9 install.img made by GNU cpio) is written by re-encoding
//! only the bzip2 block holding it, and the remastered ISO boots (BIOS CD through Xen, UEFI CD
//! directly) with the console showing the patched marker.
//!
//! Needs what `tests/boot_qemu.rs` needs (see `boot_support`).

mod boot_support;

use std::process::Command;

use boot_support::source_iso::{DIRECT_ARGS, DOM0_ARGS, SOURCE_MARKER, XEN_ARGS};
use boot_support::tools::{self, mkdir, write};
use boot_support::{
    ArgCheck, Entry, Expectation, Mode, boot, check, exclusive, source_iso, work_dir,
};

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
            .arg(source_iso())
            .arg("-o")
            .arg(&out)
            .arg("--json")
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("SOURCE_DATE_EPOCH", "946684800"),
    );
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        report.contains("\"strategy\":\"splice\"") || report.contains("\"strategy\": \"splice\""),
        "install.img was not spliced: {report}"
    );
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
