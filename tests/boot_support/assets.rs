//! A real kernel and hypervisor for the source ISO: Debian 12's `linux-image-6.1.0-*-amd64` and
//! `xen-hypervisor-4.17-amd64`, fetched with `apt-get download` and unpacked with `dpkg-deb`.
//!
//! They are cached under `$ISOREMIX_TEST_CACHE` (or `<target>/test-cache`), never in the source tree;
//! a cache that already holds them needs no network.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::tools::{mkdir, run};

/// The Debian meta-package whose dependency names the current 6.1 kernel package.
const KERNEL_META_PACKAGE: &str = "linux-image-amd64";
/// The kernel package name is `KERNEL_PREFIX` + ABI + `KERNEL_SUFFIX`.
const KERNEL_PREFIX: &str = "linux-image-6.1.0-";
const KERNEL_SUFFIX: &str = "-amd64";
/// The hypervisor package (XCP-ng 8.3 ships Xen 4.17 too).
const XEN_PACKAGE: &str = "xen-hypervisor-4.17-amd64";
/// The hypervisor image inside [`XEN_PACKAGE`].
const XEN_MEMBER: &str = "./boot/xen-4.17-amd64.gz";

/// The boot payload of the source ISO.
#[derive(Debug)]
pub struct Assets {
    /// The bzImage used as dom0 kernel and as directly booted kernel (`/boot/vmlinuz`).
    pub vmlinuz: PathBuf,
    /// The gzip-compressed Xen hypervisor (`/boot/xen.gz`).
    pub xen: PathBuf,
    /// Which Debian packages they came from (for messages).
    pub packages: String,
}

/// The cached kernel and hypervisor, downloaded and unpacked on first use in this process.
pub fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| fetch(&cache_dir()))
}

/// `$ISOREMIX_TEST_CACHE`, else `test-cache` in cargo's target folder.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ISOREMIX_TEST_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    // CARGO_TARGET_TMPDIR is `<target>/tmp`, which also honours CARGO_TARGET_DIR.
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("test-cache")
}

fn fetch(cache: &Path) -> Assets {
    let dir = cache.join("debian-boot");
    let assets = Assets {
        vmlinuz: dir.join("vmlinuz"),
        xen: dir.join("xen.gz"),
        packages: std::fs::read_to_string(dir.join("packages.txt")).unwrap_or_default(),
    };
    if assets.vmlinuz.is_file() && assets.xen.is_file() {
        return assets;
    }

    let scratch = cache.join(format!("download-{}", std::process::id()));
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).ok();
    }
    mkdir(&scratch);
    let kernel_package = with_package_lists(|| {
        let package = kernel_package()?;
        download(&scratch, &[&package, XEN_PACKAGE])?;
        Ok(package)
    });

    let root = scratch.join("root");
    mkdir(&root);
    let mut debs = Vec::new();
    for entry in std::fs::read_dir(&scratch).expect("the download folder is readable") {
        let path = entry.expect("the download folder is readable").path();
        if path.extension().is_some_and(|e| e == "deb") {
            debs.push(path);
        }
    }
    debs.sort();
    let kernel_deb = debs
        .iter()
        .find(|d| file_name(d).starts_with(&format!("{kernel_package}_")))
        .unwrap_or_else(|| panic!("apt-get download did not leave a {kernel_package} .deb"));
    let xen_deb = debs
        .iter()
        .find(|d| file_name(d).starts_with(&format!("{XEN_PACKAGE}_")))
        .unwrap_or_else(|| panic!("apt-get download did not leave a {XEN_PACKAGE} .deb"));

    // Only the two images are needed: extracting the kernel package whole would write ~400 MB of
    // modules, so its data archive is streamed through tar with a member filter.
    extract_members(kernel_deb, &root, &["./boot/vmlinuz-*"]);
    extract_members(xen_deb, &root, &[XEN_MEMBER]);

    let boot = root.join("boot");
    let vmlinuz = std::fs::read_dir(&boot)
        .unwrap_or_else(|e| panic!("{kernel_package} has no /boot: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| file_name(p).starts_with("vmlinuz-"))
        .unwrap_or_else(|| panic!("{kernel_package} has no /boot/vmlinuz-*"));

    mkdir(&dir);
    let packages = format!("{}\n{}\n", file_name(kernel_deb), file_name(xen_deb));
    std::fs::write(dir.join("packages.txt"), &packages).expect("the cache folder is writable");
    // Renames last, so a cache with both files is always complete.
    rename(&boot.join("xen-4.17-amd64.gz"), &assets.xen);
    rename(&vmlinuz, &assets.vmlinuz);
    std::fs::remove_dir_all(&scratch).ok();
    Assets { packages, ..assets }
}

/// Runs `step`; if it fails and this process is root (as on CI), refreshes apt's package lists
/// once and retries. A failure after that is a test failure with apt's message.
fn with_package_lists<T>(step: impl Fn() -> Result<T, String>) -> T {
    let first = match step() {
        Ok(value) => return value,
        Err(message) => message,
    };
    if !is_root() {
        panic!(
            "{first}\nthe boot test needs Debian's package archive: run `apt-get update` as root"
        );
    }
    run(Command::new("apt-get").args(["update", "-qq"]));
    step().unwrap_or_else(|second| {
        panic!("{second}\n(after `apt-get update`; first attempt: {first})")
    })
}

/// Whether the process runs as root: `/proc/self` belongs to the effective user.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `linux-image-6.1.0-<abi>-amd64`, the current dependency of `linux-image-amd64`.
fn kernel_package() -> Result<String, String> {
    let output = Command::new("apt-cache")
        .args(["depends", KERNEL_META_PACKAGE])
        .output()
        .map_err(|e| format!("cannot start apt-cache: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|name| name.starts_with(KERNEL_PREFIX) && name.ends_with(KERNEL_SUFFIX))
        .map(str::to_owned)
        .ok_or_else(|| {
            format!(
                "`apt-cache depends {KERNEL_META_PACKAGE}` names no {KERNEL_PREFIX}*{KERNEL_SUFFIX} \
                 package (is the Debian 12 archive configured?):\n{text}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

/// `apt-get download PACKAGES...` into `dir`.
fn download(dir: &Path, packages: &[&str]) -> Result<(), String> {
    let output = Command::new("apt-get")
        .arg("download")
        .args(packages)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start apt-get: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "`apt-get download {}` failed ({}):\n{}",
        packages.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// `dpkg-deb --fsys-tarfile DEB | tar -x -C ROOT --wildcards MEMBERS...`
fn extract_members(deb: &Path, root: &Path, members: &[&str]) {
    let mut dpkg = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start dpkg-deb: {e}"));
    let tar_input = dpkg.stdout.take().expect("stdout was piped");
    let tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(root)
        .arg("--wildcards")
        .args(members)
        .stdin(tar_input)
        .output()
        .unwrap_or_else(|e| panic!("cannot start tar: {e}"));
    let dpkg_status = dpkg.wait().expect("dpkg-deb was started");
    if !dpkg_status.success() || !tar.status.success() {
        panic!(
            "unpacking {} from {} failed (dpkg-deb: {dpkg_status}, tar: {}):\n{}",
            members.join(" "),
            deb.display(),
            tar.status,
            String::from_utf8_lossy(&tar.stderr)
        );
    }
}

fn rename(from: &Path, to: &Path) {
    std::fs::rename(from, to)
        .unwrap_or_else(|e| panic!("cannot move {} to {}: {e}", from.display(), to.display()));
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
