//! Proof by booting: an XCP-ng-shaped installer ISO, and the same ISO remastered by `isoremix build`,
//! boot in qemu in BIOS CD, BIOS disk, UEFI CD, UEFI disk and UEFI-from-efiboot.img, each through Xen
//! and directly (10 boots per ISO), and the console shows the installer marker, the kernel and Xen
//! arguments, and which GRUB config copy ran.
//!
//! Needs Debian's referee tools (a missing one fails the test, naming the package) and, on the first
//! run, Debian's package archive for the kernel and Xen (cached, see `boot_support::assets`).

mod boot_support;

use std::path::Path;
use std::process::Command;

use boot_support::source_iso::{DIRECT_ARGS, DOM0_ARGS, SOURCE_MARKER, XEN_ARGS};
use boot_support::tools::{self, mkdir, write};
use boot_support::{
    ArgCheck, Entry, Expectation, Mode, exclusive, run_matrix, source_iso, work_dir,
};

/// The marker text the remastering profile puts into `/etc/marker` of install.img.
const NEW_MARKER: &str = "isoremix boot test: remastered installer";
/// The argument the profile adds to the dom0 kernel.
const NEW_DOM0_ARG: &str = "isoremix.test=1";
/// The argument the profile adds to Xen.
const NEW_XEN_ARG: &str = "loglvl=all";
/// No argument is forbidden.
const NONE: [&str; 0] = [];

/// The profile: a new `/etc/marker` through `[installer]`, new arguments through `[boot]`. With no
/// `entries` key, `[boot]` edits every entry that boots Xen, so the direct entry keeps its arguments.
const PROFILE: &str = r#"[source]
iso = "builtin:sample"          # overridden by --source

[output]
iso = "out.iso"                 # overridden by -o

[installer]
[[installer.files]]
src = "marker-new"
dest = "/etc/marker"

[boot]
dom0_args = { add = ["isoremix.test=1"] }
xen_args = { add = ["loglvl=all"] }
"#;

#[test]
fn source_boots_in_every_mode() {
    let _guard = exclusive();
    let iso = source_iso();
    run_matrix("source", iso, |_mode: Mode, entry| match entry {
        Entry::Xen => Expectation {
            marker: SOURCE_MARKER.to_owned(),
            xen_args: ArgCheck::new(XEN_ARGS, [NEW_XEN_ARG]),
            kernel_args: ArgCheck::new(DOM0_ARGS, [NEW_DOM0_ARG]),
        },
        Entry::Direct => Expectation {
            marker: SOURCE_MARKER.to_owned(),
            xen_args: ArgCheck::default(),
            kernel_args: ArgCheck::new(DIRECT_ARGS, [NEW_DOM0_ARG]),
        },
    });
}

#[test]
fn remastered_boots_in_every_mode() {
    let _guard = exclusive();
    let source = source_iso();
    let dir = work_dir().join("remaster");
    mkdir(&dir);
    let output = remaster(source, &dir);
    run_matrix("remastered", &output, |_mode: Mode, entry| match entry {
        Entry::Xen => Expectation {
            marker: NEW_MARKER.to_owned(),
            xen_args: ArgCheck::new(XEN_ARGS.iter().chain(&[NEW_XEN_ARG]), NONE),
            kernel_args: ArgCheck::new(DOM0_ARGS.iter().chain(&[NEW_DOM0_ARG]), NONE),
        },
        Entry::Direct => Expectation {
            marker: NEW_MARKER.to_owned(),
            xen_args: ArgCheck::default(),
            kernel_args: ArgCheck::new(DIRECT_ARGS, [NEW_DOM0_ARG]),
        },
    });
}

/// Runs `isoremix build PROFILE --source SOURCE -o OUT` with [`PROFILE`] written into `dir`.
fn remaster(source: &Path, dir: &Path) -> std::path::PathBuf {
    let profile = dir.join("profile.toml");
    write(&profile, PROFILE);
    write(&dir.join("marker-new"), format!("{NEW_MARKER}\n"));
    let out = dir.join("remastered.iso");
    let mut command = Command::new(env!("CARGO_BIN_EXE_isoremix"));
    command
        .arg("build")
        .arg(&profile)
        .arg("--source")
        .arg(source)
        .arg("-o")
        .arg(&out)
        .env("SOURCE_DATE_EPOCH", "946684800");
    tools::run(&mut command);
    assert!(
        out.is_file(),
        "`{}` succeeded but wrote no {}",
        tools::describe(&command),
        out.display()
    );
    out
}
