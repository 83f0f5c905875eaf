//! The external programs and data files the harness needs, and running them.
//!
//! A missing tool is a test failure that names the Debian package providing it, never a skip.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Programs the harness runs, with the Debian package that provides each.
pub const PROGRAMS: &[(&str, &str)] = &[
    ("genisoimage", "genisoimage"),
    ("isohybrid", "syslinux-utils"),
    ("grub-mkimage", "grub-common"),
    ("mformat", "mtools"),
    ("mmd", "mtools"),
    ("mcopy", "mtools"),
    ("xorriso", "xorriso"),
    ("cpio", "cpio"),
    ("bzip2", "bzip2"),
    ("qemu-system-x86_64", "qemu-system-x86"),
    ("apt-get", "apt"),
    ("apt-cache", "apt"),
    ("dpkg-deb", "dpkg"),
    ("tar", "tar"),
];

/// Data files the harness copies into the source ISO or hands to qemu, with their Debian package.
pub const FILES: &[(&str, &str)] = &[
    (ISOLINUX_BIN, "isolinux"),
    (LDLINUX_C32, "syslinux-common"),
    (MBOOT_C32, "syslinux-common"),
    (LIBCOM32_C32, "syslinux-common"),
    (GRUB_EFI_MODULES_PROBE, "grub-efi-amd64-bin"),
    (BUSYBOX, "busybox-static"),
    (OVMF_CODE, "ovmf"),
    (OVMF_VARS, "ovmf"),
];

/// isolinux's El Torito boot image.
pub const ISOLINUX_BIN: &str = "/usr/lib/ISOLINUX/isolinux.bin";
/// The syslinux core module isolinux.bin loads first.
pub const LDLINUX_C32: &str = "/usr/lib/syslinux/modules/bios/ldlinux.c32";
/// The multiboot loader XCP-ng's isolinux menu uses to start Xen.
pub const MBOOT_C32: &str = "/usr/lib/syslinux/modules/bios/mboot.c32";
/// The COM32 library mboot.c32 links against.
pub const LIBCOM32_C32: &str = "/usr/lib/syslinux/modules/bios/libcom32.c32";
/// GRUB's x86_64-efi module directory.
pub const GRUB_EFI_MODULES: &str = "/usr/lib/grub/x86_64-efi";
/// One module whose presence shows that [`GRUB_EFI_MODULES`] is complete enough for Xen.
pub const GRUB_EFI_MODULES_PROBE: &str = "/usr/lib/grub/x86_64-efi/multiboot2.mod";
/// Debian's busybox; must be the static build (busybox-static) to run alone in the initrd.
pub const BUSYBOX: &str = "/bin/busybox";
/// The OVMF firmware code (4 MiB flash layout).
pub const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
/// The OVMF variable store template; each boot gets its own copy.
pub const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

/// Fails the test, naming every missing program or file and the Debian packages to install.
pub fn require_all() {
    let mut missing: Vec<(String, &str)> = Vec::new();
    for (program, package) in PROGRAMS {
        if find_program(program).is_none() {
            missing.push((format!("program `{program}`"), package));
        }
    }
    for (file, package) in FILES {
        if !Path::new(file).is_file() {
            missing.push((format!("file {file}"), package));
        }
    }
    if missing.is_empty() {
        require_static_busybox();
        return;
    }
    let mut packages: Vec<&str> = missing.iter().map(|(_, p)| *p).collect();
    packages.sort_unstable();
    packages.dedup();
    let list: Vec<String> = missing
        .iter()
        .map(|(what, package)| format!("  {what} (Debian package {package})"))
        .collect();
    panic!(
        "the boot test needs tools that are not installed:\n{}\ninstall them with: apt-get install {}",
        list.join("\n"),
        packages.join(" ")
    );
}

/// The full path of `program` in `$PATH`, if it is there.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Busybox from the `busybox` package is dynamically linked and cannot run in the bare initrd.
fn require_static_busybox() {
    let bytes = std::fs::read(BUSYBOX).unwrap_or_else(|e| panic!("cannot read {BUSYBOX}: {e}"));
    let file = object::File::parse(&*bytes)
        .unwrap_or_else(|e| panic!("{BUSYBOX} is not an executable this test can inspect: {e}"));
    use object::Object;
    if file.section_by_name(".interp").is_some() {
        panic!(
            "{BUSYBOX} is dynamically linked; the boot test needs the static build: \
             apt-get install busybox-static"
        );
    }
}

/// Runs `command` to completion; panics with its command line, exit status and stderr on failure.
pub fn run(command: &mut Command) -> Output {
    let line = describe(command);
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot start `{line}`: {e}"));
    if !output.status.success() {
        panic!(
            "`{line}` failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}

/// Runs `command` with its standard output written to the file `out`.
pub fn run_to_file(command: &mut Command, out: &Path) {
    let file = std::fs::File::create(out)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", out.display()));
    let line = describe(command);
    let output = command
        .stdout(file)
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("cannot start `{line}`: {e}"));
    if !output.status.success() {
        panic!(
            "`{line}` failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// A command line for messages.
pub fn describe(command: &Command) -> String {
    let mut words = vec![command.get_program().to_string_lossy().into_owned()];
    words.extend(command.get_args().map(quote));
    words.join(" ")
}

fn quote(arg: &OsStr) -> String {
    let text = arg.to_string_lossy();
    if text.is_empty() || text.contains(char::is_whitespace) {
        format!("'{text}'")
    } else {
        text.into_owned()
    }
}

/// Creates `dir` and its parents, panicking with the path on failure.
pub fn mkdir(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
}

/// Writes `contents` to `path`, panicking with the path on failure.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) {
    std::fs::write(path, contents)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// Copies `from` to `to`, panicking with both paths on failure.
pub fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), to.display()));
}
