//! Valid profiles load into the typed profile with every value where it belongs, and a loaded
//! profile written back as TOML loads again to the same profile.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use common::position_of;
use isoremix::profile::{
    BuildArch, DiskSource, DriverDiskProfile, DriverSource, InstallerMode, ModuleDir, Profile,
    SourceIso,
};

fn demo_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/demo.toml")
}

fn values(list: &[isoremix::profile::Located<String>]) -> Vec<&str> {
    list.iter().map(|l| l.value.as_str()).collect()
}

#[test]
fn the_demo_profile_loads_with_every_active_key_set() {
    let path = demo_path();
    let p = Profile::load(&path).expect("demo.toml loads");
    let demo = path.parent().expect("profiles").join("demo");

    assert_eq!(p.source.iso, SourceIso::Sample);
    assert_eq!(p.output.iso, p.base_dir.join("demo-out/xcp-ng-demo.iso"));
    let volume_id = p.output.volume_id.as_ref().expect("volume_id");
    assert_eq!(volume_id.value, "XCP-ng 8.3 demo");
    let text = fs::read_to_string(&path).expect("read demo");
    let (line, col) = position_of(&text, "\"XCP-ng 8.3 demo\"");
    assert_eq!(
        volume_id.origin.to_string(),
        format!("{}:{line}:{col}", path.display())
    );

    assert_eq!(values(&p.iso.remove), ["/EULA"]);
    assert_eq!(p.iso.files.len(), 1);
    assert_eq!(p.iso.files[0].src.value, demo.join("files/README.site"));
    assert_eq!(p.iso.files[0].dest.value, "/README.site");

    assert_eq!(values(&p.installer.remove), ["/etc/motd"]);
    assert_eq!(p.installer.patches.len(), 1);
    assert_eq!(
        p.installer.patches[0].value,
        demo.join("patches/0001-installer-site-banner.patch")
    );
    assert_eq!(
        p.installer.answerfile.as_ref().map(|a| &a.value),
        Some(&demo.join("answerfile.xml"))
    );
    assert_eq!(p.installer.mode, InstallerMode::Repack);
    assert_eq!(p.installer.files.len(), 1);
    assert_eq!(
        p.installer.files[0].src.value,
        demo.join("files/99-site.conf")
    );
    assert_eq!(
        p.installer.files[0].dest.value,
        "/etc/modprobe.d/99-site.conf"
    );
    assert_eq!(p.installer.files[0].mode, 0o640);

    let b = &p.boot;
    assert_eq!(
        b.entries.as_deref().map(values),
        Some(vec!["install", "multipath"])
    );
    assert_eq!(values(&b.xen_args.set), ["dom0_mem=max:16384M"]);
    assert_eq!(values(&b.xen_args.add), ["ucode=scan"]);
    assert_eq!(values(&b.xen_args.remove), ["com1"]);
    assert_eq!(values(&b.dom0_args.set), ["console=tty0"]);
    assert_eq!(values(&b.dom0_args.add), ["nomodeset"]);
    assert_eq!(values(&b.dom0_args.remove), ["console=hvc0"]);
    assert_eq!(
        b.default.as_ref().map(|d| d.value.as_str()),
        Some("install-site")
    );
    assert_eq!(b.timeout.as_ref().map(|t| t.value), Some(3));
    assert!(b.efi_fallback);
    assert_eq!(b.new_entries.len(), 1);
    let e = &b.new_entries[0];
    assert_eq!(e.label.value, "install-site");
    assert_eq!(e.title.value, "Install with site defaults");
    assert_eq!(e.from.value, "install");
    assert_eq!(values(&e.xen_args.set), ["dom0_max_vcpus=1-8"]);
    assert_eq!(
        values(&e.dom0_args.add),
        ["answerfile=file:///answerfile.xml", "install"]
    );
    let (line, _) = position_of(&text, "[[boot.entry]]\n");
    assert_eq!((e.origin.line, e.origin.col), (line, 1));

    let k = &p.packages;
    assert!(k.add.is_empty(), "{:?}", k.add);
    assert_eq!(k.build.len(), 1);
    let b = &k.build[0];
    assert_eq!(
        (b.name.value.as_str(), b.version.value.as_str()),
        ("site-tools", "1.0")
    );
    assert_eq!(b.release, "1");
    assert_eq!(b.arch, BuildArch::Noarch);
    assert_eq!(b.summary, "Site tools for the isoremix demo");
    assert_eq!(
        b.description.as_deref(),
        Some("A tiny package the demo profile adds to the installer's repository.")
    );
    assert_eq!(b.license, "MIT");
    assert_eq!(b.group.as_deref(), Some("System Environment/Base"));
    assert_eq!(b.vendor.as_deref(), Some("isoremix demo"));
    assert!(b.requires.is_empty());
    let files: Vec<(PathBuf, &str, u32)> = b
        .files
        .iter()
        .map(|f| (f.src.value.clone(), f.dest.value.as_str(), f.mode))
        .collect();
    assert_eq!(
        files,
        [
            (demo.join("files/site-tool"), "/usr/bin/site-tool", 0o755),
            (
                demo.join("files/site-tools.conf"),
                "/etc/site-tools.conf",
                0o644
            ),
        ]
    );
    let (line, _) = position_of(&text, "[[packages.build]]\n");
    assert_eq!((b.origin.line, b.origin.col), (line, 1));
    assert_eq!(values(&k.remove), ["sample-docs"]);
    assert_eq!(values(&k.install), ["site-tools"]);
    assert_eq!(k.group, None);
    assert_eq!(
        k.meta.as_ref().map(|m| m.value.as_str()),
        Some("xcp-ng-deps")
    );
    assert!(!k.allow_downgrade);

    let t = &p.treeinfo;
    assert_eq!(
        t.build_number.as_ref().map(|v| v.value.as_str()),
        Some("site-2026.11")
    );
    assert_eq!(
        t.product_name.as_ref().map(|v| v.value.as_str()),
        Some("XCP-ng")
    );
    assert_eq!(
        t.product_version.as_ref().map(|v| v.value.as_str()),
        Some("8.3.0")
    );

    let signing = p
        .signing
        .as_ref()
        .expect("the demo signs with its throwaway key");
    assert_eq!(signing.key.value, demo.join("keys/demo-signing-key.asc"));
    assert!(signing.passphrase_env.is_none());
    assert!(p.drivers.is_empty());
}

/// Copies `profiles/demo.toml` and `profiles/demo/` into `dir`, with stand-ins for the binary
/// inputs the demo names in comments, and returns the demo text with those comments made active.
fn demo_with_binaries(dir: &Path) -> String {
    let src = demo_path();
    let from = src.parent().expect("profiles").join("demo");
    copy_tree(&from, &dir.join("demo"));
    for rel in [
        "demo/rpms/site-tools-1.0-1.x86_64.rpm",
        "demo/rpms/site-agent-2.1-3.x86_64.rpm",
        "demo/drivers/intel-igc-5.10.214-1.xcpng8.3.x86_64.rpm",
        "demo/drivers/mpi3mr.ko",
    ] {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, b"stand-in").expect("write");
    }
    let text = fs::read_to_string(&src).expect("read demo");
    text.lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if is_toml_line(rest) => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The demo text split before its `[driver_disk]` example: the remaster part and the rest.
fn split_at_driver_disk(text: &str) -> (&str, &str) {
    let split = text
        .find("\n[driver_disk]")
        .expect("a [driver_disk] example");
    text.split_at(split)
}

/// The remaster part of the demo, binary inputs active (see [`demo_with_binaries`]), written to
/// `dir/demo.toml` and loaded: its text and the profile.
fn load_demo_remaster_part(dir: &Path) -> (String, Profile) {
    let text = demo_with_binaries(dir);
    let (remaster_text, _) = split_at_driver_disk(&text);
    let path = dir.join("demo.toml");
    fs::write(&path, remaster_text).expect("write");
    let profile = Profile::load(&path).expect("load");
    (remaster_text.to_owned(), profile)
}

/// True for a commented-out TOML line: a table header or `key = value`.
fn is_toml_line(s: &str) -> bool {
    if s.starts_with('[') {
        return true;
    }
    s.split_once(" = ").is_some_and(|(k, _)| {
        !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    })
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Every key path of a TOML table (`a.b` for nested tables and arrays of tables).
fn key_paths(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (k, v) in table {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => key_paths(t, &path, out),
            toml::Value::Array(items)
                if items.iter().all(toml::Value::is_table) && !items.is_empty() =>
            {
                for item in items {
                    if let toml::Value::Table(t) = item {
                        key_paths(t, &path, out);
                    }
                }
            }
            _ => {
                out.insert(path);
            }
        }
    }
}

/// Every key a profile can have.
const ALL_KEYS: &[&str] = &[
    "source.iso",
    "output.iso",
    "output.volume_id",
    "iso.remove",
    "iso.files.src",
    "iso.files.dest",
    "installer.remove",
    "installer.patches",
    "installer.answerfile",
    "installer.mode",
    "installer.files.src",
    "installer.files.dest",
    "installer.files.mode",
    "boot.entries",
    "boot.xen_args.set",
    "boot.xen_args.add",
    "boot.xen_args.remove",
    "boot.dom0_args.set",
    "boot.dom0_args.add",
    "boot.dom0_args.remove",
    "boot.default",
    "boot.timeout",
    "boot.efi_fallback",
    "boot.entry.label",
    "boot.entry.title",
    "boot.entry.from",
    "boot.entry.xen_args",
    "boot.entry.dom0_args",
    "packages.add",
    "packages.remove",
    "packages.install",
    "packages.group",
    "packages.meta",
    "packages.allow_downgrade",
    "packages.from",
    "packages.update",
    "packages.allow_unresolved",
    "packages.build.name",
    "packages.build.version",
    "packages.build.release",
    "packages.build.arch",
    "packages.build.summary",
    "packages.build.description",
    "packages.build.license",
    "packages.build.group",
    "packages.build.vendor",
    "packages.build.requires",
    "packages.build.files.src",
    "packages.build.files.dest",
    "packages.build.files.mode",
    "treeinfo.build_number",
    "treeinfo.product_name",
    "treeinfo.product_version",
    "signing.key",
    "signing.passphrase_env",
    "drivers.rpm",
    "drivers.ko",
    "drivers.name",
    "drivers.version",
    "drivers.dir",
    "drivers.installer",
    "drivers.system",
    "drivers.kernel",
    "drivers.force",
    "driver_disk.name",
    "driver_disk.version",
    "driver_disk.description",
    "driver_disk.rpm",
    "driver_disk.ko",
    "driver_disk.dir",
    "driver_disk.kernel",
    "driver_disk.force",
    "driver_disk.uuid",
];

#[test]
fn the_demo_shows_every_key_and_its_commented_examples_are_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = demo_with_binaries(dir.path());
    let (remaster_text, disk_part) = split_at_driver_disk(&text);

    // The remaster part, with the binary inputs active, loads.
    let path = dir.path().join("demo.toml");
    fs::write(&path, remaster_text).expect("write");
    let p = Profile::load(&path).expect("demo with binaries loads");
    let demo = p.base_dir.join("demo");
    assert_eq!(
        p.packages
            .add
            .iter()
            .map(|f| f.value.clone())
            .collect::<Vec<_>>(),
        [
            demo.join("rpms/site-agent-2.1-3.x86_64.rpm"),
            demo.join("rpms/site-tools-1.0-1.x86_64.rpm"),
        ]
    );
    assert_eq!(
        values(&p.packages.build[0].requires),
        ["bash"],
        "the commented example of requires"
    );
    let signing = p.signing.as_ref().expect("signing");
    assert_eq!(signing.key.value, demo.join("keys/demo-signing-key.asc"));
    assert_eq!(
        signing.passphrase_env.as_ref().map(|e| e.value.as_str()),
        Some("ISOREMIX_KEY_PASSPHRASE")
    );
    assert_eq!(p.drivers.len(), 2);
    match &p.drivers[0].source {
        DriverSource::Rpm(rpm) => assert_eq!(
            rpm.value,
            demo.join("drivers/intel-igc-5.10.214-1.xcpng8.3.x86_64.rpm")
        ),
        other => panic!("first driver is an RPM, got {other:?}"),
    }
    match &p.drivers[1].source {
        DriverSource::Modules {
            modules,
            package,
            version,
        } => {
            assert_eq!(modules.ko.len(), 1);
            assert_eq!(modules.ko[0].value, demo.join("drivers/mpi3mr.ko"));
            assert_eq!(modules.dir, ModuleDir::Override);
            assert_eq!(
                modules.kernel.as_ref().map(|k| k.value.as_str()),
                Some("4.19.0+1")
            );
            assert_eq!(package.value, "mpi3mr-module");
            assert_eq!(
                version.as_ref().map(|v| v.value.as_str()),
                Some("8.9.1.0.0")
            );
        }
        other => panic!("second driver is modules, got {other:?}"),
    }

    // The driver-disk example loads as a driver-disk profile.
    let disk_text = format!("[output]\niso = \"dd.iso\"\n{disk_part}");
    let disk_path = dir.path().join("disk.toml");
    fs::write(&disk_path, &disk_text).expect("write");
    let d = DriverDiskProfile::load(&disk_path).expect("driver-disk example loads");
    assert_eq!(d.driver_disk.name.value, "intel-igc");
    assert_eq!(
        d.driver_disk.uuid.as_ref().map(|u| u.value.as_str()),
        Some("4f6c8d2e-3a1b-4c5d-8e9f-0a1b2c3d4e5f")
    );
    assert!(matches!(d.driver_disk.source, DiskSource::Rpm(_)));

    // Together they name every key; the driver-disk module keys (which exclude `rpm`) are shown
    // as a nested comment.
    let mut seen = BTreeSet::new();
    for t in [remaster_text, disk_part] {
        let table: toml::Table = toml::from_str(t).expect("toml");
        key_paths(&table, "", &mut seen);
    }
    let seen: BTreeSet<String> = seen
        .into_iter()
        .map(|k| {
            for args in ["boot.entry.xen_args", "boot.entry.dom0_args"] {
                if k.starts_with(args) {
                    return args.to_owned();
                }
            }
            k
        })
        .collect();
    let nested = ["driver_disk.ko", "driver_disk.dir", "driver_disk.kernel"];
    for key in ALL_KEYS {
        if nested.contains(key) {
            let leaf = key.rsplit('.').next().expect("leaf");
            assert!(
                disk_part.contains(&format!("# # {leaf} = ")),
                "demo.toml does not show {key}"
            );
        } else {
            assert!(seen.contains(*key), "demo.toml does not show {key}");
        }
    }
    for key in &seen {
        assert!(
            ALL_KEYS.contains(&key.as_str()),
            "{key} is not in the key list"
        );
    }
}

#[test]
fn a_resolved_profile_written_as_toml_loads_back_to_the_same_profile() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, first) = load_demo_remaster_part(dir.path());

    let written = first.to_toml().expect("to_toml");
    // Loaded from another folder: the written paths are absolute.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let second = Profile::from_str(&written, Path::new("resolved.toml"), elsewhere.path())
        .expect("the written profile loads");
    assert_eq!(second.to_toml().expect("to_toml"), written);

    // Same values, positions aside.
    assert_eq!(second.source, first.source);
    assert_eq!(second.output.iso, first.output.iso);
    let add = |p: &Profile| {
        p.packages
            .add
            .iter()
            .map(|f| f.value.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(add(&second), add(&first));
    assert_eq!(second.installer.mode, first.installer.mode);
    assert_eq!(second.installer.files[0].mode, 0o640);
    assert_eq!(second.drivers.len(), first.drivers.len());
    assert_eq!(
        second.boot.new_entries[0].dom0_args.add.len(),
        first.boot.new_entries[0].dom0_args.add.len()
    );
    assert!(written.contains("[[boot.entry]]"), "{written}");
    let builds = |p: &Profile| {
        p.packages
            .build
            .iter()
            .map(|b| {
                let files: Vec<_> = (b.files.iter())
                    .map(|f| (f.src.value.clone(), f.dest.value.clone(), f.mode))
                    .collect();
                let text = (&b.summary, &b.description, &b.license, &b.group, &b.vendor);
                let text = format!("{text:?}");
                (
                    b.name.value.clone(),
                    b.version.value.clone(),
                    b.release.clone(),
                    b.arch,
                    text,
                    values(&b.requires).join(" "),
                    files,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(builds(&second), builds(&first));
    // Defaults are left out.
    assert!(written.contains("[[packages.build.files]]"), "{written}");
    assert!(!written.contains("release = "), "{written}");
}

#[test]
fn a_driver_disk_profile_written_as_toml_loads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir_all(dir.path().join("ko")).expect("mkdir");
    fs::write(dir.path().join("ko/a.ko.zst"), b"x").expect("write");
    fs::write(dir.path().join("ko/b.ko"), b"x").expect("write");
    let text = "[output]\niso = \"out/dd.iso\"\nvolume_id = \"DRIVERS\"\n\
                [driver_disk]\nname = \"mpi3mr\"\nko = [\"ko/a.ko.zst\", \"ko/b.ko\"]\n\
                dir = \"extra\"\nkernel = \"4.19.0+1\"\nforce = true\n\
                uuid = \"4F6C8D2E-3A1B-4C5D-8E9F-0A1B2C3D4E5F\"\n";
    let path = dir.path().join("dd.toml");
    fs::write(&path, text).expect("write");
    let first = DriverDiskProfile::load(&path).expect("load");
    let d = &first.driver_disk;
    assert_eq!(
        d.uuid.as_ref().map(|u| u.value.as_str()),
        Some("4f6c8d2e-3a1b-4c5d-8e9f-0a1b2c3d4e5f")
    );
    assert!(d.force);
    assert!(d.version.is_none() && d.description.is_none());
    match &d.source {
        DiskSource::Modules(m) => {
            assert_eq!(m.dir, ModuleDir::Extra);
            assert_eq!(m.ko.len(), 2);
            assert_eq!(m.ko[0].value, first.base_dir.join("ko/a.ko.zst"));
        }
        other => panic!("modules expected, got {other:?}"),
    }
    let written = first.to_toml().expect("to_toml");
    let second = DriverDiskProfile::from_str(&written, Path::new("w.toml"), Path::new("/"), None)
        .expect("reload");
    assert_eq!(second.to_toml().expect("to_toml"), written);
    assert_eq!(second.output, {
        let mut o = first.output.clone();
        o.volume_id = second.output.volume_id.clone();
        o
    });
    assert_eq!(
        second.output.volume_id.as_ref().map(|v| v.value.as_str()),
        Some("DRIVERS")
    );
}

#[test]
fn a_minimal_profile_gets_the_documented_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("conf"), b"x").expect("write");
    fs::write(dir.path().join("m.ko.xz"), b"x").expect("write");
    let text = "[source]\niso = \"builtin:sample\"\n[output]\niso = \"o.iso\"\n\
                [[installer.files]]\nsrc = \"conf\"\ndest = \"/etc/conf\"\n\
                [[drivers]]\nko = [\"m.ko.xz\"]\nname = \"m-module\"\n";
    let p = Profile::from_str(text, Path::new("p.toml"), dir.path()).expect("load");
    assert_eq!(p.output.volume_id, None);
    assert_eq!(p.installer.mode, InstallerMode::Auto);
    assert_eq!(p.installer.files[0].mode, 0o644);
    assert_eq!(p.boot.entries, None);
    assert!(p.boot.xen_args.is_empty() && p.boot.dom0_args.is_empty());
    assert!(!p.boot.efi_fallback);
    assert!(!p.packages.allow_downgrade);
    assert!(p.signing.is_none());
    let d = &p.drivers[0];
    assert!(d.installer && d.system && !d.force);
    match &d.source {
        DriverSource::Modules {
            modules, version, ..
        } => {
            assert_eq!(modules.dir, ModuleDir::Updates);
            assert!(modules.kernel.is_none() && version.is_none());
        }
        other => panic!("modules expected, got {other:?}"),
    }
    assert_eq!((d.origin.line, d.origin.col), (8, 1));
    let written = p.to_toml().expect("to_toml");
    assert!(
        !written.contains("mode"),
        "defaults are left out:\n{written}"
    );
}

#[test]
fn relative_paths_resolve_against_the_profile_folder_not_the_working_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("site");
    fs::create_dir_all(sub.join("files")).expect("mkdir");
    fs::write(sub.join("files/motd"), b"hello").expect("write");
    fs::write(sub.join("src.iso"), b"x").expect("write");
    let text = "[source]\niso = \"src.iso\"\n[output]\niso = \"../out.iso\"\n\
                [[iso.files]]\nsrc = \"files/motd\"\ndest = \"/motd\"\n";
    let path = sub.join("p.toml");
    fs::write(&path, text).expect("write");
    let p = Profile::load(&path).expect("load");
    assert!(p.base_dir.is_absolute());
    assert_eq!(p.source.iso, SourceIso::File(sub.join("src.iso")));
    assert_eq!(p.output.iso, sub.join("../out.iso"));
    assert_eq!(p.iso.files[0].src.value, sub.join("files/motd"));
    assert_eq!(p.file, path);
}

#[test]
fn globs_are_expanded_sorted_without_duplicates_even_in_a_folder_with_glob_characters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let odd = dir.path().join("we[ir]d *dir");
    fs::create_dir_all(odd.join("rpms/sub")).expect("mkdir");
    for name in [
        "c-1-1.noarch.rpm",
        "a-1-1.noarch.rpm",
        "b-1-1.noarch.rpm",
        "sub/d-1-1.noarch.rpm",
    ] {
        fs::write(odd.join("rpms").join(name), b"x").expect("write");
    }
    fs::write(odd.join("rpms/.hidden.rpm"), b"x").expect("write");
    let text = "[source]\niso = \"builtin:sample\"\n[output]\niso = \"o.iso\"\n\
                [packages]\nadd = [\"rpms/c*.rpm\", \"rpms/*.rpm\", \"rpms/sub/*.rpm\"]\n";
    let path = odd.join("p.toml");
    fs::write(&path, text).expect("write");
    let p = Profile::load(&path).expect("load");
    let rpms = p.base_dir.join("rpms");
    let got: Vec<_> = p.packages.add.iter().map(|f| f.value.clone()).collect();
    assert_eq!(
        got,
        [
            rpms.join("a-1-1.noarch.rpm"),
            rpms.join("b-1-1.noarch.rpm"),
            rpms.join("c-1-1.noarch.rpm"),
            rpms.join("sub/d-1-1.noarch.rpm"),
        ]
    );
    // `c` keeps the position of the first glob that matched it.
    let c = &p.packages.add[2];
    assert_eq!((c.origin.line, c.origin.col), (6, 8));
    let a = &p.packages.add[0];
    assert_eq!((a.origin.line, a.origin.col), (6, 23));

    // The written globs match exactly the same files, even with the folder's odd characters.
    let written = p.to_toml().expect("to_toml");
    let again = Profile::from_str(&written, Path::new("w.toml"), dir.path()).expect("reload");
    let again: Vec<_> = again.packages.add.iter().map(|f| f.value.clone()).collect();
    assert_eq!(again, got);
}

/// Parses TOML with Python's `tomllib`, an independent TOML 1.0 reader, and returns it as JSON.
fn python_tomllib(text: &str, dir: &Path) -> serde_json::Value {
    let file = dir.join("referee.toml");
    fs::write(&file, text).expect("write");
    let script = "import json, sys, tomllib\n\
                  with open(sys.argv[1], 'rb') as f:\n\
                  \x20   print(json.dumps(tomllib.load(f)))\n";
    let out = match std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!(
            "referee `python3` cannot run ({e}); install the Debian package `python3` (3.11+)"
        ),
    };
    assert!(
        out.status.success(),
        "tomllib rejects the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json from python")
}

#[test]
fn the_demo_and_written_profiles_read_the_same_with_python_tomllib() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (remaster_text, p) = load_demo_remaster_part(dir.path());

    let written = p.to_toml().expect("to_toml");
    for t in [
        fs::read_to_string(demo_path()).expect("demo"),
        remaster_text,
        written,
    ] {
        let ours: toml::Table = toml::from_str(&t).expect("toml");
        let ours = serde_json::to_value(&ours).expect("json");
        assert_eq!(
            python_tomllib(&t, dir.path()),
            ours,
            "readers disagree on:\n{t}"
        );
    }
}

#[test]
fn a_package_build_gets_its_documented_defaults_and_writes_them_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("tool"), "#!/bin/sh\n").expect("write");
    let text = "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n\
                [[packages.build]]\nname = \"site-tools\"\nversion = \"2.0~rc1\"\n\
                summary = \"Tools\"\nlicense = \"MIT\"\n\
                [[packages.build.files]]\nsrc = \"tool\"\ndest = \"/usr/bin/tool\"\n\
                [[packages.build]]\nname = \"site-agent\"\nversion = \"1\"\nrelease = \"3.el7\"\n\
                arch = \"x86_64\"\nsummary = \"Agent\"\nlicense = \"GPLv2\"\n\
                description = \"Line one.\\nLine two.\"\ngroup = \"Applications/System\"\n\
                vendor = \"Site\"\nrequires = [\"site-tools\", \"/bin/sh\", \"libc.so.6()(64bit)\"]\n";
    let path = dir.path().join("p.toml");
    fs::write(&path, text).expect("write");
    let p = Profile::load(&path).expect("loads");
    let [tools, agent] = &p.packages.build[..] else {
        panic!("two packages: {:?}", p.packages.build)
    };
    assert_eq!(tools.version.value, "2.0~rc1");
    assert_eq!(tools.release, "1");
    assert_eq!(tools.arch, BuildArch::Noarch);
    assert_eq!(tools.description, None);
    assert_eq!(tools.group, None);
    assert_eq!(tools.vendor, None);
    assert!(tools.requires.is_empty());
    assert_eq!(tools.files[0].src.value, dir.path().join("tool"));
    assert_eq!(tools.files[0].mode, 0o644);
    assert_eq!(agent.release, "3.el7");
    assert_eq!(agent.arch, BuildArch::X86_64);
    assert_eq!(agent.description.as_deref(), Some("Line one.\nLine two."));
    assert_eq!(agent.group.as_deref(), Some("Applications/System"));
    assert_eq!(agent.vendor.as_deref(), Some("Site"));
    assert_eq!(
        values(&agent.requires),
        ["site-tools", "/bin/sh", "libc.so.6()(64bit)"]
    );
    assert!(agent.files.is_empty());

    let written = p.to_toml().expect("to_toml");
    let again = Profile::from_str(&written, Path::new("w.toml"), Path::new("/")).expect("reload");
    assert_eq!(again.to_toml().expect("to_toml"), written);
    assert!(written.contains("arch = \"x86_64\""), "{written}");
    assert_eq!(written.matches("release = ").count(), 1, "{written}");
    assert_eq!(written.matches("arch = ").count(), 1, "{written}");
}
