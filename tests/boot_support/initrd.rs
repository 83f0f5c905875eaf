//! The installer root filesystem of the test ISO: a bzip2-compressed newc cpio (like XCP-ng's
//! `install.img`) holding a static busybox and an `/init` that reports what it sees on the console.
//!
//! Built with GNU cpio and bzip2, so the source ISO owes nothing to isoremix's own writers.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::tools::{self, BUSYBOX, copy, mkdir, run_to_file, write};

/// Where the marker text lives in the initrd; the remastering profile replaces this file.
pub const MARKER_PATH: &str = "/etc/marker";

/// Prefixes of the lines `/init` prints; [`super::SerialLog`] reads them back.
pub const MARKER_PREFIX: &str = "MARKER: ";
/// The kernel command line as the booted kernel saw it (`/proc/cmdline`).
pub const CMDLINE_PREFIX: &str = "CMDLINE: ";
/// `/sys/hypervisor/type`, or `none` on bare (emulated) hardware.
pub const HYPERVISOR_PREFIX: &str = "HYPERVISOR: ";
/// The names in `/proc/modules` (the loaded kernel modules), space-separated.
pub const MODULES_PREFIX: &str = "MODULES: ";
/// `modprobe NAME` result for each name listed in [`MODPROBE_LIST_PATH`]: `NAME loaded` or
/// `NAME failed`.
pub const MODPROBE_PREFIX: &str = "MODPROBE: ";
/// Module names `/init` loads with busybox's modprobe before listing `/proc/modules`, one per
/// line; absent in the default image.
pub const MODPROBE_LIST_PATH: &str = "/etc/modprobe-test";
/// Printed last, right before powering off.
pub const DONE_LINE: &str = "POWEROFF: now";

/// The `/init` script. The kernel finds no `/dev/console` in the archive (creating device nodes
/// would need root), so the script mounts devtmpfs and attaches itself to the console first.
fn init_script() -> String {
    format!(
        r#"#!/bin/busybox sh
/bin/busybox mkdir -p /dev /proc /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# Kernel messages off the console from here on: a late one (the TSC calibration, say) would
# otherwise land in the middle of a report line.
echo 1 > /proc/sys/kernel/printk
echo "{MARKER_PREFIX}$(cat {MARKER_PATH})"
echo "{CMDLINE_PREFIX}$(cat /proc/cmdline)"
echo "{HYPERVISOR_PREFIX}$(cat /sys/hypervisor/type 2>/dev/null || echo none)"
if [ -f {MODPROBE_LIST_PATH} ]; then
  for m in $(cat {MODPROBE_LIST_PATH}); do
    if modprobe "$m"; then echo "{MODPROBE_PREFIX}$m loaded"; else echo "{MODPROBE_PREFIX}$m failed"; fi
  done
fi
echo "{MODULES_PREFIX}$(cut -d ' ' -f 1 /proc/modules | tr '\n' ' ')"
echo "{DONE_LINE}"
poweroff -f
"#
    )
}

/// Builds `dir/install.img` whose `/etc/marker` holds `marker` (plus a newline); returns its path.
pub fn build_initrd(dir: &Path, marker: &str) -> PathBuf {
    build_initrd_with(dir, marker, &[])
}

/// [`build_initrd`] with `extra` files (path relative to the root, content; mode 0644) added.
pub fn build_initrd_with(dir: &Path, marker: &str, extra: &[(String, Vec<u8>)]) -> PathBuf {
    let root = dir.join("initrd-root");
    if root.exists() {
        std::fs::remove_dir_all(&root)
            .unwrap_or_else(|e| panic!("cannot empty {}: {e}", root.display()));
    }
    for sub in ["bin", "etc", "dev", "proc", "sys"] {
        mkdir(&root.join(sub));
    }
    copy(Path::new(BUSYBOX), &root.join("bin/busybox"));
    write(&root.join("init"), init_script());
    write(&root.join("etc/marker"), format!("{marker}\n"));
    set_mode(&root.join("init"), 0o755);
    set_mode(&root.join("bin/busybox"), 0o755);
    set_mode(&root.join("etc/marker"), 0o644);
    for (path, content) in extra {
        let dest = root.join(path);
        mkdir(dest.parent().expect("an extra file has a parent folder"));
        write(&dest, content);
        set_mode(&dest, 0o644);
    }

    compress_tree(&root, dir, "install.img")
}

/// An overlay archive that replaces `/etc/marker` with `marker` when appended to an install.img
/// (the kernel unpacks concatenated compressed archives in order; a later entry wins). Written as
/// `dir/marker-overlay.img`; returns its path.
pub fn build_marker_overlay(dir: &Path, marker: &str) -> PathBuf {
    let root = dir.join("overlay-root");
    if root.exists() {
        std::fs::remove_dir_all(&root)
            .unwrap_or_else(|e| panic!("cannot empty {}: {e}", root.display()));
    }
    mkdir(&root.join("etc"));
    write(&root.join("etc/marker"), format!("{marker}\n"));
    set_mode(&root.join("etc/marker"), 0o644);
    compress_tree(&root, dir, "marker-overlay.img")
}

/// `root` as a bzip2-compressed newc archive (GNU cpio, owner 0:0, every time set to one fixed
/// time, inode numbers renumbered) written to `dir/name`: the same bytes on every run.
fn compress_tree(root: &Path, dir: &Path, name: &str) -> PathBuf {
    tools::run(Command::new("find").arg(root).args([
        "-exec",
        "touch",
        "-h",
        "-d",
        "@946684800",
        "{}",
        "+",
    ]));
    // The archive member list, sorted so the archive does not depend on directory order.
    let mut names = vec![".".to_owned()];
    collect(root, root, &mut names);
    names[1..].sort();
    let list = dir.join(format!("{name}.list"));
    write(&list, names.join("\n") + "\n");

    let cpio = dir.join(format!("{name}.cpio"));
    let list_file = std::fs::File::open(&list).expect("the list was just written");
    run_to_file(
        Command::new("cpio")
            .args([
                "--create",
                "--format=newc",
                "--owner=0:0",
                "--reproducible",
                "--quiet",
            ])
            .current_dir(root)
            .stdin(list_file),
        &cpio,
    );
    let image = dir.join(name);
    run_to_file(Command::new("bzip2").arg("-9").arg("-c").arg(&cpio), &image);
    std::fs::remove_file(&cpio).ok();
    image
}

fn collect(root: &Path, dir: &Path, names: &mut Vec<String>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a staged initrd entry is readable").path();
        let relative = path.strip_prefix(root).expect("entries are under the root");
        names.push(relative.to_string_lossy().into_owned());
        if path.is_dir() {
            collect(root, &path, names);
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}
