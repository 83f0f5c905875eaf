//! Proof by booting: an XCP-ng-shaped installer ISO, and the same ISO remastered by `isoremix build`,
//! boot in qemu in BIOS CD, BIOS disk, UEFI CD, UEFI disk and UEFI-from-efiboot.img, each through Xen
//! and directly (10 boots per ISO), and the console shows the installer marker, the kernel and Xen
//! arguments, and which GRUB config copy ran.
//!
//! Needs Debian's referee tools (a missing one fails the test, naming the package) and, on the first
//! run, Debian's package archive for the kernel and Xen (cached, see `boot_support::assets`).

mod boot_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use boot_support::hand_remaster::{HandEdits, remaster_leaving_efiboot_stale};
use boot_support::source_iso::{DIRECT_ARGS, DOM0_ARGS, SOURCE_MARKER, XEN_ARGS};
use boot_support::tools::{self, mkdir, write};
use boot_support::{
    ArgCheck, Ending, Entry, Expectation, Mode, SerialLog, boot, check, exclusive, run_matrix,
    source_iso, source_tree, work_dir,
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

/// What a boot of the unmodified source must show.
fn source_expectation(entry: Entry) -> Expectation {
    match entry {
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
    }
}

/// What a boot of the remastered ISO must show: the new marker everywhere, the new arguments in
/// the Xen entry, the direct entry's arguments unchanged.
fn remastered_expectation(entry: Entry) -> Expectation {
    match entry {
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
    }
}

#[test]
fn source_boots_in_every_mode() {
    let _guard = exclusive();
    run_matrix("source", source_iso(), |_mode, entry| {
        source_expectation(entry)
    });
}

#[test]
fn remastered_boots_in_every_mode() {
    let _guard = exclusive();
    let source = source_iso();
    let dir = work_dir().join("remaster");
    mkdir(&dir);
    let output = remaster(source, &dir);
    run_matrix("remastered", &output, |_mode, entry| {
        remastered_expectation(entry)
    });
}

/// The harness itself: a remaster that edits the ISO's menus but leaves the grub.cfg copy inside
/// efiboot.img as it was passes where GRUB reads the ISO's config (UEFI CD) and fails, on exactly
/// the two new arguments, where GRUB reads the copy (UEFI from the El Torito image).
/// The other way of writing install.img: one re-packed archive (parallel
/// bzip2 segments) instead of an appended overlay. Two boots prove the
/// kernel unpacks it: BIOS CD through Xen, UEFI CD directly.
#[test]
fn repacked_install_img_boots() {
    let _guard = exclusive();
    let dir = work_dir().join("remaster-repack");
    mkdir(&dir);
    let profile = PROFILE.replace("[installer]\n", "[installer]\nmode = \"repack\"\n");
    assert!(profile.contains("mode = \"repack\""));
    let output = remaster_with(source_iso(), &dir, &profile);
    for (mode, entry) in [(Mode::BiosCd, Entry::Xen), (Mode::UefiCd, Entry::Direct)] {
        let log = boot(&output, mode, entry);
        let problems = check(&log, mode, entry, &remastered_expectation(entry));
        assert!(
            problems.is_empty(),
            "repacked {mode:?} {entry:?} ({:.1} s): {problems:#?}\n{}",
            log.elapsed.as_secs_f64(),
            log.tail(40)
        );
    }
}

#[test]
fn harness_catches_a_stale_efiboot_grub_cfg() {
    let _guard = exclusive();
    let dir = work_dir().join("stale-efiboot");
    mkdir(&dir);
    let edits = HandEdits {
        marker: NEW_MARKER,
        xen_arg: NEW_XEN_ARG,
        dom0_arg: NEW_DOM0_ARG,
    };
    let iso = remaster_leaving_efiboot_stale(&source_tree(), &dir, &edits);
    let expect = remastered_expectation(Entry::Xen);

    let edited = boot(&iso, Mode::UefiCd, Entry::Xen);
    let problems = check(&edited, Mode::UefiCd, Entry::Xen, &expect);
    assert!(
        problems.is_empty(),
        "UEFI CD boot of the hand remaster ({:.1} s): {problems:#?}\n{}",
        edited.elapsed.as_secs_f64(),
        edited.tail(40)
    );

    let stale = boot(&iso, Mode::UefiEsp, Entry::Xen);
    let problems = check(&stale, Mode::UefiEsp, Entry::Xen, &expect);
    let lacks = |arg: &str| {
        problems
            .iter()
            .any(|p| p.contains(&format!("lacks `{arg}`")))
    };
    assert!(
        problems.len() == 2 && lacks(NEW_XEN_ARG) && lacks(NEW_DOM0_ARG),
        "booting through the stale efiboot.img copy should fail on the two new arguments only \
         ({:.1} s): {problems:#?}\n{}",
        stale.elapsed.as_secs_f64(),
        stale.tail(40)
    );
    eprintln!(
        "[stale-efiboot] uefi-cd xen {:.1} s, uefi-esp xen {:.1} s",
        edited.elapsed.as_secs_f64(),
        stale.elapsed.as_secs_f64()
    );
}

/// The console parser reads the marker lines through the escape sequences OVMF and GRUB write.
#[test]
fn serial_log_reads_lines_through_terminal_escapes() {
    let raw =
        b"\x1b[0m\x1b[37m\x1b[40mGRUB-CONFIG: efiboot-grub-cfg\r\n\x1b[2J\x1b[01;01H menu\r\n\
        (XEN) Command line: com1=115200,8n1 console=com1 loglvl=all\r\n\
        [    0.000000] Command line: console=hvc0\r\n\
        MARKER: new text\r\nCMDLINE: console=hvc0  isoremix.test=1\r\n\
        HYPERVISOR: xen\r\nMODULES: \r\nPOWEROFF: now\r\n";
    let log = SerialLog {
        raw: raw.to_vec(),
        path: PathBuf::from("serial.log"),
        elapsed: Duration::from_secs(1),
        ending: Ending::Exited(Some(0)),
        menu_answered: true,
    };
    assert_eq!(log.grub_config_echo().as_deref(), Some("efiboot-grub-cfg"));
    assert_eq!(log.marker().as_deref(), Some("new text"));
    assert_eq!(
        log.cmdline(),
        Some(vec![
            "console=hvc0".to_owned(),
            "isoremix.test=1".to_owned()
        ])
    );
    assert_eq!(log.hypervisor().as_deref(), Some("xen"));
    assert_eq!(log.modules(), Some(vec![]));
    let xen = log.xen_cmdline().expect("Xen's command line");
    assert_eq!(xen.last().map(String::as_str), Some("loglvl=all"));
    assert!(log.init_finished());
    assert!(
        check(
            &log,
            Mode::UefiEsp,
            Entry::Xen,
            &remastered_expectation(Entry::Xen)
        )
        .iter()
        .any(|p| p.contains("lacks `dom0_max_vcpus=1-16`"))
    );
    assert!(
        check(
            &log,
            Mode::UefiCd,
            Entry::Xen,
            &remastered_expectation(Entry::Xen)
        )
        .iter()
        .any(|p| p.contains("GRUB config echo"))
    );
}

/// Runs `isoremix build PROFILE --source SOURCE -o OUT` with [`PROFILE`] written into `dir`.
fn remaster(source: &Path, dir: &Path) -> PathBuf {
    remaster_with(source, dir, PROFILE)
}

/// Runs `isoremix build` with `profile_text` written into `dir`.
fn remaster_with(source: &Path, dir: &Path, profile_text: &str) -> PathBuf {
    let profile = dir.join("profile.toml");
    write(&profile, profile_text);
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
