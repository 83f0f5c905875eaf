//! Helpers shared by the integration tests: referee tools, running commands, foreign-made source images.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod bootcfg;
pub mod demo;
pub mod dnf;
pub mod elf;
pub mod error_chain;
pub mod gpg;
pub mod initrd;
pub mod package;
pub mod referee;
pub mod refusal;
pub mod rpmbuild;

/// Runs a command, failing the test with its output if it fails; returns stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether the tool `tool` is on the PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Fails the test (never skips) when a referee tool is missing.
pub fn require(tool: &str) {
    assert!(
        have(tool),
        "referee tool `{tool}` is missing: install it (see .ci/run) — this test does not skip"
    );
}

/// Runs a command, failing the test with its output when it fails; returns
/// stdout and stderr together (for tools that report on stderr).
pub fn run_all(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    s
}

/// The isoremix binary built for this test run, with its cache folder in the build's
/// temporary folder rather than the user's (a test that wants its own sets it again).
pub fn isoremix() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_isoremix"));
    cmd.env(
        "XDG_CACHE_HOME",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("test-cache"),
    );
    cmd
}

/// Lays out an XCP-ng-shaped tree (real isolinux.bin from Debian's isolinux
/// package, an efiboot.img made with mtools, the 8.3 boot configs) in `dir`.
pub fn xcpng_tree(dir: &Path) {
    for tool in ["mformat", "mmd", "mcopy"] {
        require(tool);
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/xcp-ng-8.3");
    std::fs::create_dir_all(dir.join("boot/isolinux")).unwrap();
    std::fs::create_dir_all(dir.join("EFI/xenserver")).unwrap();
    std::fs::create_dir_all(dir.join("Packages")).unwrap();
    std::fs::copy(
        "/usr/lib/ISOLINUX/isolinux.bin",
        dir.join("boot/isolinux/isolinux.bin"),
    )
    .expect("isolinux.bin from Debian's isolinux package");
    std::fs::copy(
        "/usr/lib/syslinux/modules/bios/mboot.c32",
        dir.join("boot/isolinux/mboot.c32"),
    )
    .expect("mboot.c32 from syslinux-common");
    std::fs::copy(
        fixtures.join("boot/isolinux/isolinux.cfg"),
        dir.join("boot/isolinux/isolinux.cfg"),
    )
    .unwrap();
    std::fs::copy(
        fixtures.join("EFI/xenserver/grub.cfg"),
        dir.join("EFI/xenserver/grub.cfg"),
    )
    .unwrap();
    std::fs::write(dir.join("EULA"), "End user licence agreement\n").unwrap();
    std::fs::write(dir.join("boot/xen.gz"), vec![0x5a; 100_000]).unwrap();
    std::fs::write(dir.join("boot/vmlinuz"), vec![0x4b; 300_000]).unwrap();
    std::fs::write(dir.join("install.img"), pseudo_random(2_000_000, 7)).unwrap();
    std::fs::write(
        dir.join("Packages/a-rather-long-package-name-that-joliet-cuts-1.0-1.xcpng8.3.x86_64.rpm"),
        pseudo_random(5000, 3),
    )
    .unwrap();
    std::os::unix::fs::symlink("EULA", dir.join("LICENSES")).unwrap();
    let img = dir.join("boot/efiboot.img");
    let img_s = img.to_str().unwrap();
    run(Command::new("mformat")
        .args(["-i", img_s, "-f", "2880", "-N", "0", "-C", "-L", "16", "::"]));
    run(Command::new("mmd").args(["-i", img_s, "::/EFI", "::/EFI/BOOT", "::/EFI/xenserver"]));
    let efi = dir.join("bootx64.tmp");
    std::fs::write(&efi, b"MZ placeholder EFI application").unwrap();
    run(Command::new("mcopy").args([
        "-i",
        img_s,
        efi.to_str().unwrap(),
        "::/EFI/BOOT/BOOTX64.EFI",
    ]));
    std::fs::remove_file(&efi).unwrap();
}

/// Builds an ISO from `tree` the way XCP-ng's create-iso.sh does:
/// genisoimage with its command line, then `isohybrid --uefi`.
pub fn genisoimage_xcpng(tree: &Path, out: &Path, hybrid: bool) {
    require("genisoimage");
    run(Command::new("genisoimage")
        .args([
            "-quiet",
            "-r",
            "-J",
            "--joliet-long",
            "-V",
            "XCP-ng 8.3",
            "-c",
            "boot/isolinux/boot.cat",
            "-b",
            "boot/isolinux/isolinux.bin",
            "-no-emul-boot",
            "-boot-load-size",
            "4",
            "-boot-info-table",
            "-eltorito-alt-boot",
            "-e",
            "boot/efiboot.img",
            "-no-emul-boot",
            "-o",
        ])
        .arg(out)
        .arg(tree));
    if hybrid {
        require("isohybrid");
        run(Command::new("isohybrid").arg("--uefi").arg(out));
    }
}

/// A foreign-made XCP-ng-shaped hybrid source image in `dir`.
pub fn foreign_source(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    xcpng_tree(&tree);
    let iso = dir.join("source.iso");
    genisoimage_xcpng(&tree, &iso, true);
    iso
}

/// Deterministic incompressible bytes.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Extracts an ISO with xorriso (the referee reader) into `dir`.
pub fn xorriso_extract(iso: &Path, dir: &Path) {
    require("xorriso");
    run(Command::new("xorriso")
        .args(["-osirrox", "on", "-indev"])
        .arg(iso)
        .args(["-extract", "/"])
        .arg(dir));
}

/// Every file of `iso` as xorriso lays it out: path → (first byte, size).
pub fn xorriso_layout(iso: &Path) -> std::collections::BTreeMap<String, (u64, u64)> {
    require("xorriso");
    let out = Command::new("xorriso")
        .args(["-indev"])
        .arg(iso)
        .args(["-find", "/", "-type", "f", "-exec", "report_lba", "--"])
        .output()
        .expect("xorriso is needed: it reads the layout");
    assert!(
        out.status.success(),
        "xorriso could not read {}",
        iso.display()
    );
    let mut files = std::collections::BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(fields) = line.strip_prefix("File data lba:") else {
            continue;
        };
        let f: Vec<&str> = fields.split(',').map(str::trim).collect();
        let lba: u64 = f[1].parse().unwrap();
        let size: u64 = f[3].parse().unwrap();
        files.insert(f[4].trim_matches('\'').to_string(), (lba * 2048, size));
    }
    assert!(
        !files.is_empty(),
        "xorriso listed no file of {}",
        iso.display()
    );
    files
}

/// xorriso's El Torito and system-area report.
pub fn xorriso_report(iso: &Path) -> String {
    require("xorriso");
    run(Command::new("xorriso").arg("-indev").arg(iso).args([
        "-report_el_torito",
        "plain",
        "-report_system_area",
        "plain",
    ]))
}

/// Debian's kernel package (module trees for tests).
pub mod debian_kernel;

/// The comps of a XenServer-style source: groups `xenserver_base` and `xenserver_dom0`.
pub const XENSERVER_COMPS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <!-- kept byte for byte -->
  <group>
    <id>xenserver_base</id>
    <name>Base</name>
    <default>true</default>
    <uservisible>false</uservisible>
    <packagelist>
      <packagereq type="mandatory">xenserver-release</packagereq>
      <packagereq type="mandatory">base-tool</packagereq>
    </packagelist>
  </group>
  <group>
    <id>xenserver_dom0</id>
    <name>Dom0</name>
    <packagelist>
      <packagereq type="mandatory">dom0-tool</packagereq>
    </packagelist>
  </group>
</comps>
"#;

/// A foreign-made XenServer-style source in `dir`: the XCP-ng-shaped tree whose `Packages/`
/// holds three small RPMs, `repodata/` made by `createrepo_c -g` with `comps` as the groups
/// file, a `.treeinfo`, written by genisoimage.
pub fn groups_source(dir: &Path, comps: &[u8]) -> PathBuf {
    use isoremix::rpm::{FileSpec, PackageSpec, build_package};
    require("createrepo_c");
    let tree = dir.join("tree");
    xcpng_tree(&tree);
    for entry in std::fs::read_dir(tree.join("Packages")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let time = 1_600_000_000;
    for (name, version, path) in [
        ("xenserver-release", "7.0.0", "/etc/xenserver-release"),
        ("base-tool", "1.0", "/usr/bin/base-tool"),
        ("dom0-tool", "2.0", "/usr/sbin/dom0-tool"),
    ] {
        let mut spec = PackageSpec::new(name, version, "1", "x86_64", time, "groups.example");
        spec.summary = format!("{name} of a groups-style source");
        spec.description = spec.summary.clone();
        spec.files.push(FileSpec::new(
            path,
            0o755,
            time,
            format!("{name}\n").into_bytes(),
        ));
        let mut bytes = Vec::new();
        build_package(&spec, &mut bytes).unwrap();
        std::fs::write(tree.join("Packages").join(spec.file_name()), bytes).unwrap();
    }
    let groups = dir.join("groups.xml");
    std::fs::write(&groups, comps).unwrap();
    run(Command::new("createrepo_c")
        .args(["-q", "--no-database", "--general-compress-type=gz", "-g"])
        .arg(&groups)
        .arg(&tree));
    std::fs::write(
        tree.join(".treeinfo"),
        "[platform]\nname = XCP\nversion = 2.1.0\n\n[branding]\nname = XenServer\nversion = 7.0.0\n\n\
[build]\nnumber = 125380c\n\n[keys]\nkey1 = RPM-GPG-KEY\n\n[general]\nname = XenServer-7.0.0\n\
timestamp = 1600000000\nversion = 7.0.0\n\n[vendor-notes]\nkept = yes\n",
    )
    .unwrap();
    std::fs::write(
        tree.join("RPM-GPG-KEY"),
        "not a key: this source is unsigned\n",
    )
    .unwrap();
    let iso = dir.join("groups-source.iso");
    genisoimage_xcpng(&tree, &iso, true);
    iso
}

/// The 1-based line and column (in characters) of the first occurrence of `needle` in `text`.
pub fn position_of(text: &str, needle: &str) -> (usize, usize) {
    let offset = text.find(needle).expect("needle in text");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Runs `isoremix ARGS` in `dir`, failing the test with its stderr unless it succeeds.
pub fn isoremix_ok(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = isoremix()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run isoremix {args:?}: {e}"));
    assert!(
        out.status.success(),
        "isoremix {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The names in `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
