//! Drivers swapped into a remastered ISO, checked with kmod's own tools on the output's
//! install.img: `modprobe --show-depends` and `modinfo` find the swapped module in the chosen
//! folder, and the module indexes are byte-identical to what `depmod` writes for the unpacked
//! tree. The install.img is split into its segments and each is unpacked by bzip2 and GNU cpio.
//! Wrapped driver packages are checked with `rpm` (file list, scriptlets, digests).
//!
//! The source's install.img holds a subset of Debian's kernel package (downloaded once into
//! `target/test-cache/`), packed by GNU cpio and bzip2, with indexes made by depmod.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::debian_kernel::{Kernel, kernel};
use common::initrd::{cli_compress, cpio_extract_all, gnu_cpio, sh};
use common::{XENSERVER_COMPS, groups_source, isoremix, require, run, xorriso_extract};
use isoremix::initrd::{Compression, Reader};
use isoremix::kmod::INDEX_FILES;
use isoremix::rpm::{Dep, FileSpec, PackageSpec, build_package};

/// Modules of the source's install.img (file names in Debian's package).
const IMAGE_MODULES: [&str; 5] = [
    "scsi_common.ko",
    "scsi_mod.ko",
    "scsi_transport_sas.ko",
    "e1000.ko",
    "e1000e.ko",
];

/// depmod.d of the source's install.img, as XCP-ng's.
const DEPMOD_CONF: &str = "search override updates extra built-in weak-updates\n";

/// A root holding `modules` of the Debian kernel under `kernel/`, its list files (with
/// `modules.order` cut to those modules), XCP-ng's depmod.d and indexes made by depmod.
fn kernel_root(k: &Kernel, root: &Path, modules: &[&str]) {
    let moddir = root.join("lib/modules").join(&k.kver);
    fs::create_dir_all(root.join("etc/depmod.d")).unwrap();
    fs::write(root.join("etc/depmod.d/dist.conf"), DEPMOD_CONF).unwrap();
    let order = fs::read_to_string(k.moddir().join("modules.order")).unwrap();
    let mut kept = String::new();
    for line in order.lines() {
        if modules.iter().any(|m| line.rsplit('/').next() == Some(m)) {
            let dest = moddir.join(line);
            fs::create_dir_all(dest.parent().unwrap()).unwrap();
            fs::copy(k.moddir().join(line), &dest).unwrap();
            kept.push_str(line);
            kept.push('\n');
        }
    }
    fs::write(moddir.join("modules.order"), kept).unwrap();
    for f in ["modules.builtin", "modules.builtin.modinfo"] {
        fs::copy(k.moddir().join(f), moddir.join(f)).unwrap();
    }
    depmod(root, &k.kver);
}

/// Runs the referee depmod on `root` with `root`'s depmod.d only.
fn depmod(root: &Path, kver: &str) {
    require("depmod");
    run(Command::new("depmod")
        .arg("-b")
        .arg(root)
        .arg("-C")
        .arg(root.join("etc/depmod.d"))
        .arg(kver));
}

/// A XenServer-style source ISO (packages, repodata by createrepo_c, comps group
/// `xenserver_base`) whose install.img is `root` packed by GNU cpio and bzip2, put in place by
/// xorriso.
fn source_iso(dir: &Path, root: &Path) -> PathBuf {
    let base = groups_source(dir, XENSERVER_COMPS.as_bytes());
    let img = dir.join("install.img");
    fs::write(&img, cli_compress("bzip2", &gnu_cpio(root))).unwrap();
    let iso = dir.join("source.iso");
    run(Command::new("xorriso")
        .arg("-indev")
        .arg(&base)
        .arg("-outdev")
        .arg(&iso)
        .args(["-boot_image", "any", "replay", "-map"])
        .arg(&img)
        .args(["/install.img", "-commit"]));
    iso
}

/// A package providing `/bin/sh` (wrapped packages' scriptlets need it), so dnf can install
/// into an empty root.
fn sh_stub(dir: &Path) -> PathBuf {
    let mut s = PackageSpec::new(
        "sh-stub",
        "1.0",
        "1",
        "noarch",
        1_700_000_000,
        "test.invalid",
    );
    s.summary = "Provides /bin/sh for the test root".into();
    s.description = s.summary.clone();
    s.provides.push(Dep::any("/bin/sh"));
    s.files.push(FileSpec::new(
        "/usr/share/sh-stub/README",
        0o644,
        1_700_000_000,
        b"stub\n".to_vec(),
    ));
    let mut bytes = Vec::new();
    build_package(&s, &mut bytes).unwrap();
    let path = dir.join(s.file_name());
    fs::write(&path, bytes).unwrap();
    path
}

/// Installs the comps group `xenserver_base` from the repository of the extracted ISO `tree`
/// into a fresh root with dnf; returns the root.
fn dnf_install_base(tree: &Path, root: &Path) {
    common::dnf::dnf_install(root, tree, &["@xenserver_base"]);
}

fn rpm_in_root(root: &Path, name: &str) -> String {
    run(Command::new("rpm")
        .arg(format!("--root={}", root.display()))
        .args(["-q", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}", name]))
}

/// Unpacks an install.img with the referees: each segment (boundaries as our reader finds
/// them) decompressed by its command-line tool and unpacked by GNU cpio, later over earlier.
fn unpack_with_gnu_cpio(img: &Path, dest: &Path) {
    let data = fs::read(img).unwrap();
    let mut reader = Reader::new(&data[..]);
    while reader.next_entry().unwrap().is_some() {}
    let segments = reader.segments().to_vec();
    assert!(!segments.is_empty());
    for s in &segments {
        let start = usize::try_from(s.offset).unwrap();
        let end = start + usize::try_from(s.stored_len).unwrap();
        let raw = &data[start..end];
        let tool = match s.compression {
            Compression::Bzip2 => "bzip2 -dc",
            Compression::Gzip => "gzip -dc",
            Compression::Xz => "xz -dc",
            Compression::Zstd => "zstd -dc",
            Compression::None => "cat",
        };
        let plain = sh(tool, Path::new("/"), raw);
        cpio_extract_all(&plain, dest);
    }
}

/// Builds `profile` (text) in `dir`; returns the output ISO.
fn build(dir: &Path, profile: &str) -> PathBuf {
    let path = dir.join("profile.toml");
    fs::write(&path, profile).unwrap();
    let out = run_status(isoremix().arg("build").arg(&path));
    assert!(out.0, "isoremix build failed:\n{}", out.1);
    dir.join("out.iso")
}

fn run_status(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("run isoremix");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// The output extracted by xorriso into `dir/out-tree`, and its install.img unpacked by the
/// referees into `dir/root`: (tree, root).
fn output_root(iso: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let tree = dir.join("out-tree");
    xorriso_extract(iso, &tree);
    run(Command::new("chmod").arg("-R").arg("u+w").arg(&tree));
    let root = dir.join("root");
    unpack_with_gnu_cpio(&tree.join("install.img"), &root);
    (tree, root)
}

/// The index files of `root` against those depmod writes for a copy of it.
fn assert_indexes_are_depmods(root: &Path, kver: &str, work: &Path) {
    let copy = work.join("depmod-copy");
    let _ = fs::remove_dir_all(&copy);
    run(Command::new("cp").arg("-a").arg(root).arg(&copy));
    let moddir = copy.join("lib/modules").join(kver);
    for name in INDEX_FILES {
        let _ = fs::remove_file(moddir.join(name));
    }
    depmod(&copy, kver);
    let ours = root.join("lib/modules").join(kver);
    for name in INDEX_FILES {
        let a = fs::read(ours.join(name)).unwrap_or_else(|e| panic!("output has no {name}: {e}"));
        let b = fs::read(moddir.join(name)).unwrap();
        assert!(
            a == b,
            "{name} differs from depmod's ({} vs {} bytes)",
            a.len(),
            b.len()
        );
    }
}

fn modprobe_show_depends(root: &Path, kver: &str, module: &str) -> String {
    require("modprobe");
    run(Command::new("modprobe")
        .arg("-d")
        .arg(root)
        .args(["-S", kver, "--show-depends", module]))
}

fn modinfo_field(root: &Path, kver: &str, field: &str, module: &str) -> String {
    require("modinfo");
    run(Command::new("modinfo")
        .arg("-b")
        .arg(root)
        .args(["-k", kver, "-F", field, module]))
    .trim()
    .to_string()
}

#[test]
fn bare_module_goes_into_the_override_folder_and_indexes_match_depmod() {
    let k = kernel();
    let work = tempfile::tempdir().unwrap();
    let src_root = work.path().join("src-root");
    kernel_root(k, &src_root, &IMAGE_MODULES);
    let iso = source_iso(work.path(), &src_root);
    let ko = k.module_file("mpi3mr.ko");
    let stub = sh_stub(work.path());
    let profile = format!(
        "[source]\niso = \"{}\"\n[output]\niso = \"out.iso\"\n\n[packages]\nadd = [\"{}\"]\n\n[[drivers]]\nko = [\"{}\"]\nname = \"mpi3mr-module\"\ndir = \"override\"\n",
        iso.display(),
        stub.display(),
        ko.display()
    );
    let out = build(work.path(), &profile);
    let (tree, root) = output_root(&out, work.path());

    // The same build again gives the same image.
    let again = work.path().join("again.iso");
    let (ok, text) = run_status(
        isoremix()
            .arg("build")
            .arg(work.path().join("profile.toml"))
            .arg("-o")
            .arg(&again),
    );
    assert!(ok, "{text}");
    assert!(
        fs::read(&out).unwrap() == fs::read(&again).unwrap(),
        "two builds differ"
    );

    // The installed system: the wrapped package is in the repository, and dnf installs it with
    // the installer's group.
    let wrapped = tree.join("Packages/mpi3mr-module-8.2.0.3.0-1.xcpng7.0.x86_64.rpm");
    assert!(wrapped.exists(), "the wrapped package is not in Packages/");
    let checked = common::run_all(
        Command::new("rpm")
            .args(["-K", "--nosignature"])
            .arg(&wrapped),
    );
    assert!(checked.contains("digests OK"), "{checked}");
    let host = work.path().join("host");
    dnf_install_base(&tree, &host);
    assert_eq!(
        rpm_in_root(&host, "mpi3mr-module"),
        "mpi3mr-module-8.2.0.3.0-1.xcpng7.0"
    );
    assert_eq!(
        fs::read(host.join(format!("lib/modules/{}/override/mpi3mr.ko", k.kver))).unwrap(),
        fs::read(&ko).unwrap(),
        "dnf installed the module"
    );

    let moddir = root.join("lib/modules").join(&k.kver);
    assert_eq!(
        fs::read(moddir.join("override/mpi3mr.ko")).unwrap(),
        fs::read(&ko).unwrap(),
        "the module is in override/ unchanged"
    );
    let deps = modprobe_show_depends(&root, &k.kver, "mpi3mr");
    let last = deps.lines().last().unwrap_or_default();
    assert!(
        last.ends_with(&format!("/lib/modules/{}/override/mpi3mr.ko ", k.kver))
            || last.ends_with(&format!("/lib/modules/{}/override/mpi3mr.ko", k.kver)),
        "modprobe loads the swapped module last: {deps}"
    );
    for dep in ["scsi_common", "scsi_mod", "scsi_transport_sas"] {
        assert!(
            deps.contains(&format!("/{dep}.ko")),
            "{dep} missing from:\n{deps}"
        );
    }
    let filename = modinfo_field(&root, &k.kver, "filename", "mpi3mr");
    assert!(
        filename.ends_with(&format!("/lib/modules/{}/override/mpi3mr.ko", k.kver)),
        "modinfo: {filename}"
    );
    assert_eq!(
        modinfo_field(&root, &k.kver, "version", "mpi3mr"),
        "8.2.0.3.0"
    );
    assert_indexes_are_depmods(&root, &k.kver, work.path());

    // `inspect --module` names the files modprobe loads, in modprobe's order, and the module
    // that differs from the source.
    let report = run(isoremix()
        .arg("inspect")
        .arg(&out)
        .args(["--module", "mpi3mr"]));
    let ours: Vec<&str> = report
        .lines()
        .filter_map(|l| l.trim().strip_prefix("modprobe loads: "))
        .collect();
    let prefix = format!("insmod {}/", root.display());
    let referee: Vec<&str> = deps
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(str::trim_end)
        .collect();
    assert!(!referee.is_empty(), "{deps}");
    assert_eq!(ours, referee, "inspect:\n{report}");
    assert!(
        report.contains(&format!("{}: 6 module files", k.kver))
            && report.contains("differs from the source (overlay): override/mpi3mr.ko"),
        "{report}"
    );
    let before = run(isoremix().arg("inspect").arg(&iso));
    assert!(
        before.contains(&format!("{}: 5 module files", k.kver)),
        "{before}"
    );
    assert!(!before.contains("differs from the source"), "{before}");
    // The image's own modules are untouched.
    for m in IMAGE_MODULES {
        let rel = fs::read_to_string(
            src_root
                .join("lib/modules")
                .join(&k.kver)
                .join("modules.order"),
        )
        .unwrap()
        .lines()
        .find(|l| l.ends_with(m))
        .unwrap()
        .to_string();
        assert_eq!(
            fs::read(moddir.join(&rel)).unwrap(),
            fs::read(k.moddir().join(&rel)).unwrap()
        );
    }
}

/// A driver RPM made by rpmbuild, as XCP-ng's are, with `payload` compression (rpm macro
/// value) holding e1000e in updates/, a firmware file and a modprobe.d file.
fn rpmbuild_driver(k: &Kernel, dir: &Path, payload: &str) -> PathBuf {
    require("rpmbuild");
    let top = dir.join(format!("rpmbuild-{}", payload.replace('.', "-")));
    fs::create_dir_all(top.join("SOURCES")).unwrap();
    fs::copy(k.module_file("e1000e.ko"), top.join("SOURCES/e1000e.ko")).unwrap();
    let spec = format!(
        "Name: intel-e1000e\nVersion: 3.8.7\nRelease: 1.xcpng8.3\nSummary: e1000e driver\nLicense: GPLv2\n\
         Source0: e1000e.ko\nBuildArch: x86_64\n%description\nIntel e1000e.\n\
         %install\nmkdir -p %{{buildroot}}/lib/modules/{kver}/updates %{{buildroot}}/lib/firmware/e1000e-test %{{buildroot}}/etc/modprobe.d\n\
         install -m 644 %{{SOURCE0}} %{{buildroot}}/lib/modules/{kver}/updates/e1000e.ko\n\
         echo firmware > %{{buildroot}}/lib/firmware/e1000e-test/fw.bin\n\
         echo 'options e1000e InterruptThrottleRate=1' > %{{buildroot}}/etc/modprobe.d/e1000e.conf\n\
         %post\n/sbin/depmod -a {kver}\n%postun\n/sbin/depmod -a {kver}\n\
         %files\n/lib/modules/{kver}/updates/e1000e.ko\n/lib/firmware/e1000e-test/fw.bin\n/etc/modprobe.d/e1000e.conf\n",
        kver = k.kver
    );
    fs::write(top.join("intel-e1000e.spec"), spec).unwrap();
    run(Command::new("rpmbuild")
        .arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .arg("--define")
        .arg(format!("_binary_payload {payload}"))
        .args([
            "--define",
            "__os_install_post %{nil}",
            "--define",
            "debug_package %{nil}",
        ])
        .arg("-bb")
        .arg(top.join("intel-e1000e.spec")));
    top.join("RPMS/x86_64/intel-e1000e-3.8.7-1.xcpng8.3.x86_64.rpm")
}

#[test]
fn driver_rpm_in_every_payload_compression_reaches_install_img() {
    let k = kernel();
    let work = tempfile::tempdir().unwrap();
    let src_root = work.path().join("src-root");
    kernel_root(k, &src_root, &IMAGE_MODULES);
    let iso = source_iso(work.path(), &src_root);
    for (payload, compressor) in [
        ("w9.gzdio", "gzip"),
        ("w2.xzdio", "xz"),
        ("w3.zstdio", "zstd"),
        ("w9.bzdio", "bzip2"),
    ] {
        let case = work.path().join(payload);
        fs::create_dir_all(&case).unwrap();
        let rpm = rpmbuild_driver(k, &case, payload);
        let made = run(Command::new("rpm")
            .args(["-qp", "--qf", "%{PAYLOADCOMPRESSOR}"])
            .arg(&rpm));
        assert_eq!(made, compressor, "rpmbuild made a {made} payload");
        let stub = sh_stub(&case);
        let profile = format!(
            "[source]\niso = \"{}\"\n[output]\niso = \"out.iso\"\n\n[packages]\nadd = [\"{}\"]\n\n[[drivers]]\nrpm = \"{}\"\n",
            iso.display(),
            stub.display(),
            rpm.display()
        );
        let out = build(&case, &profile);
        let (tree, root) = output_root(&out, &case);
        let copied = tree.join("Packages").join(rpm.file_name().unwrap());
        assert_eq!(
            fs::read(&copied).unwrap(),
            fs::read(&rpm).unwrap(),
            "the RPM is in Packages/"
        );
        if payload == "w9.gzdio" {
            let host = case.join("host");
            dnf_install_base(&tree, &host);
            assert_eq!(
                rpm_in_root(&host, "intel-e1000e"),
                "intel-e1000e-3.8.7-1.xcpng8.3"
            );
            assert!(
                host.join(format!("lib/modules/{}/updates/e1000e.ko", k.kver))
                    .exists()
            );
        }
        let deps = modprobe_show_depends(&root, &k.kver, "e1000e");
        assert!(
            deps.contains(&format!("/lib/modules/{}/updates/e1000e.ko", k.kver)),
            "{payload}: modprobe loads updates/ over kernel/: {deps}"
        );
        assert_eq!(
            fs::read_to_string(root.join("lib/firmware/e1000e-test/fw.bin")).unwrap(),
            "firmware\n"
        );
        assert_eq!(
            fs::read_to_string(root.join("etc/modprobe.d/e1000e.conf")).unwrap(),
            "options e1000e InterruptThrottleRate=1\n"
        );
        let config = run(Command::new("modprobe")
            .arg("-d")
            .arg(&root)
            .arg("-C")
            .arg(root.join("etc/modprobe.d"))
            .args(["-S", &k.kver, "--showconfig"]));
        assert!(
            config.contains("options e1000e InterruptThrottleRate=1"),
            "{config}"
        );
        assert_indexes_are_depmods(&root, &k.kver, &case);
    }
}

#[test]
fn wrapped_package_is_accepted_by_rpm() {
    require("rpm");
    let k = kernel();
    let work = tempfile::tempdir().unwrap();
    let ko = k.module_file("mpi3mr.ko");
    let modules = vec![("mpi3mr.ko".to_string(), fs::read(&ko).unwrap())];
    let wrapped = isoremix::driver::wrap_modules(&isoremix::driver::WrapSpec {
        name: "mpi3mr-module",
        version: None,
        release: "1.xcpng8.3",
        kver: &k.kver,
        dir: "override",
        modules: &modules,
        force: false,
        build_time: 1_700_000_000,
        build_host: "build.example",
    })
    .unwrap();
    assert_eq!(
        wrapped.file_name,
        "mpi3mr-module-8.2.0.3.0-1.xcpng8.3.x86_64.rpm"
    );
    let path = work.path().join(&wrapped.file_name);
    fs::write(&path, &wrapped.rpm).unwrap();

    let list = run(Command::new("rpm").args(["-qpl"]).arg(&path));
    assert!(
        list.lines()
            .any(|l| l == format!("/lib/modules/{}/override/mpi3mr.ko", k.kver)),
        "{list}"
    );
    let scripts = run(Command::new("rpm").args(["-qp", "--scripts"]).arg(&path));
    let depmod = format!("depmod -a {}", k.kver);
    assert!(scripts.contains("postinstall scriptlet"), "{scripts}");
    assert!(scripts.contains("postuninstall scriptlet"), "{scripts}");
    assert_eq!(scripts.matches(&depmod).count(), 2, "{scripts}");
    let checked = common::run_all(Command::new("rpm").args(["-K", "--nosignature"]).arg(&path));
    assert!(checked.contains("digests OK"), "{checked}");
    let nevra = run(Command::new("rpm")
        .args([
            "-qp",
            "--queryformat",
            "%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}",
        ])
        .arg(&path));
    assert_eq!(nevra, "mpi3mr-module|8.2.0.3.0|1.xcpng8.3|x86_64");

    // The installed file is the module, byte for byte (rpm2cpio + GNU cpio).
    require("rpm2cpio");
    let dest = work.path().join("payload");
    fs::create_dir_all(&dest).unwrap();
    sh(
        &format!("rpm2cpio '{}' | cpio -idm --quiet", path.display()),
        &dest,
        b"",
    );
    assert_eq!(
        fs::read(dest.join(format!("lib/modules/{}/override/mpi3mr.ko", k.kver))).unwrap(),
        fs::read(&ko).unwrap()
    );

    // Same inputs, same bytes.
    let again = isoremix::driver::wrap_modules(&isoremix::driver::WrapSpec {
        name: "mpi3mr-module",
        version: None,
        release: "1.xcpng8.3",
        kver: &k.kver,
        dir: "override",
        modules: &modules,
        force: false,
        build_time: 1_700_000_000,
        build_host: "build.example",
    })
    .unwrap();
    assert!(again.rpm == wrapped.rpm);
}

/// `installer = false` leaves install.img byte for byte and only adds the wrapped package, which
/// the new meta-package requires; `system = false` changes install.img and adds no package.
#[test]
fn installer_and_system_switches_choose_where_the_driver_goes() {
    require("rpm");
    let k = kernel();
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("sample.iso");
    run(isoremix().arg("sample").arg(&source));
    let src_tree = work.path().join("src-tree");
    xorriso_extract(&source, &src_tree);
    let ko = k.module_file("dummy.ko");
    let profile = |switch: &str| {
        format!(
            "[source]\niso = \"{}\"\n[output]\niso = \"out.iso\"\n\n[[drivers]]\nko = [\"{}\"]\nname = \"dummy-module\"\nversion = \"1.0\"\nforce = true\n{switch}\n",
            source.display(),
            ko.display()
        )
    };

    let case = work.path().join("host-only");
    fs::create_dir_all(&case).unwrap();
    let out = build(&case, &profile("installer = false"));
    let tree = case.join("out-tree");
    xorriso_extract(&out, &tree);
    assert!(
        fs::read(tree.join("install.img")).unwrap()
            == fs::read(src_tree.join("install.img")).unwrap(),
        "install.img changed although installer = false"
    );
    let packages: Vec<String> = fs::read_dir(tree.join("Packages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        packages
            .iter()
            .any(|p| p == "dummy-module-1.0-1.xcpng8.3.x86_64.rpm"),
        "{packages:?}"
    );
    let meta = packages
        .iter()
        .find(|p| p.starts_with("xcp-ng-deps-"))
        .expect("a meta-package");
    let requires = run(Command::new("rpm")
        .args(["-qp", "--requires"])
        .arg(tree.join("Packages").join(meta)));
    assert!(
        requires.lines().any(|l| l.trim() == "dummy-module"),
        "{requires}"
    );

    let case = work.path().join("installer-only");
    fs::create_dir_all(&case).unwrap();
    let out = build(&case, &profile("system = false"));
    let (tree, root) = output_root(&out, &case);
    assert!(
        !fs::read_dir(tree.join("Packages")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("dummy-module")),
        "a package was added although system = false"
    );
    assert!(root.join("lib/modules/4.19.0+1/updates/dummy.ko").exists());
    let deps = modprobe_show_depends(&root, "4.19.0+1", "dummy");
    assert!(
        deps.contains("/lib/modules/4.19.0+1/updates/dummy.ko"),
        "{deps}"
    );
}
