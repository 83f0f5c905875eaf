//! Proof by booting that a driver swapped in by `[[drivers]]` loads: the source's install.img
//! has the kernel's module folder but no modules; the remaster adds Debian's `dummy.ko` (from
//! the same kernel package as the booted kernel) with `ko = [...]`, and `/init` runs busybox's
//! `modprobe dummy`, which reads the regenerated `modules.dep`. Two boots (BIOS CD, through Xen
//! and directly); the source, booted the same way, fails to load it.
//!
//! The harness's source has an empty repository, so the driver goes into install.img only
//! (`system = false`). Needs the boot harness's referee tools and Debian's package archive on the first run.

mod boot_support;
mod common;

use std::path::Path;
use std::process::Command;

use boot_support::initrd::{MODPROBE_LIST_PATH, MODPROBE_PREFIX, build_initrd_with};
use boot_support::source_iso::{SOURCE_MARKER, build_source_tree, pack_iso};
use boot_support::tools::copy;
use boot_support::{Entry, Mode, SerialLog, boot, exclusive, work_dir};
use common::debian_kernel::kernel;

/// The module the remaster adds.
const MODULE: &str = "dummy";

fn modprobe_result(log: &SerialLog) -> Option<String> {
    log.lines()
        .iter()
        .find_map(|l| l.trim().strip_prefix(MODPROBE_PREFIX).map(str::to_string))
}

fn check_boot(log: &SerialLog, entry: Entry, want_loaded: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if !log.init_finished() {
        problems.push("/init did not finish".to_string());
    }
    if log.marker().as_deref() != Some(SOURCE_MARKER) {
        problems.push(format!("marker {:?}", log.marker()));
    }
    let hypervisor = log.hypervisor().unwrap_or_default();
    let want_hv = if entry == Entry::Xen { "xen" } else { "none" };
    if hypervisor != want_hv {
        problems.push(format!("hypervisor {hypervisor:?}, expected {want_hv}"));
    }
    let result = modprobe_result(log);
    let want = if want_loaded {
        format!("{MODULE} loaded")
    } else {
        format!("{MODULE} failed")
    };
    if result.as_deref() != Some(want.as_str()) {
        problems.push(format!("modprobe: {result:?}, expected {want:?}"));
    }
    let listed = log
        .modules()
        .unwrap_or_default()
        .iter()
        .any(|m| m == MODULE);
    if listed != want_loaded {
        problems.push(format!("/proc/modules lists {MODULE}: {listed}"));
    }
    problems
}

#[test]
fn swapped_module_loads_with_modprobe_through_xen_and_directly() {
    let _guard = exclusive();
    let k = kernel();
    let dir = work_dir().join("drivers");
    let tree = build_source_tree(&dir);
    // The kernel's module folder without modules, as XCP-ng's installer has it for the kernel
    // it boots, plus the list of modules /init loads.
    let moddir = format!("lib/modules/{}", k.kver);
    let mut extra = vec![
        (format!("{moddir}/modules.order"), Vec::new()),
        (
            "etc/depmod.d/dist.conf".to_string(),
            b"search override updates extra built-in weak-updates\n".to_vec(),
        ),
        (
            MODPROBE_LIST_PATH.trim_start_matches('/').to_string(),
            format!("{MODULE}\n").into_bytes(),
        ),
    ];
    for f in ["modules.builtin", "modules.builtin.modinfo"] {
        extra.push((
            format!("{moddir}/{f}"),
            std::fs::read(k.moddir().join(f)).unwrap(),
        ));
    }
    let initrd = build_initrd_with(&dir, SOURCE_MARKER, &extra);
    copy(&initrd, &tree.join("install.img"));
    let source = dir.join("source.iso");
    pack_iso(&tree, &source);

    let ko = k.module_file(&format!("{MODULE}.ko"));
    let profile = dir.join("profile.toml");
    std::fs::write(
        &profile,
        format!(
            "[source]\niso = \"{}\"\n[output]\niso = \"out.iso\"\n\n[[drivers]]\nko = [\"{}\"]\nname = \"dummy-module\"\nversion = \"1.0\"\nsystem = false\n",
            source.display(),
            ko.display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_isoremix"))
        .arg("build")
        .arg(&profile)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "isoremix build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let remastered = dir.join("out.iso");

    let mut failures = Vec::new();
    for entry in [Entry::Xen, Entry::Direct] {
        let log = boot(&remastered, Mode::BiosCd, entry);
        let problems = check_boot(&log, entry, true);
        if !problems.is_empty() {
            failures.push(format!(
                "{} {:?}: {}\n{}",
                name(&remastered),
                entry,
                problems.join("; "),
                log.tail(30)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
