//! Bad inputs to the module-index layer: files that are not modules, broken
//! ELF, broken `.modinfo`, broken compression, dependency cycles, odd
//! depmod.d files. Each must give a clear error (naming the file) or the
//! same tolerant result depmod gives, and never a panic or a hang.

use std::io::Write;
use std::process::Command;

mod common;

use common::elf::build_elf;
use isoremix::kmod::{self, Depmod, Error, ModuleInfo};

/// A symbol table entry (undefined, global) with the given name offset.
fn undef_sym(name_off: u32) -> Vec<u8> {
    let mut s = name_off.to_le_bytes().to_vec();
    s.push(0x10);
    s.push(0);
    s.extend_from_slice(&0u16.to_le_bytes());
    s.extend_from_slice(&[0u8; 16]);
    s
}

/// A module with `.modinfo` entries, one export and one import.
fn module(modinfo: &[&[u8]], export: &str, import: &str) -> Vec<u8> {
    let mut info = Vec::new();
    for e in modinfo {
        info.extend_from_slice(e);
        info.push(0);
    }
    let mut strtab = vec![0u8];
    strtab.extend_from_slice(import.as_bytes());
    strtab.push(0);
    let mut symtab = vec![0u8; 24];
    symtab.extend(undef_sym(1));
    build_elf(&[
        (".modinfo", 1, info, 0),
        (".symtab", 2, symtab, 3),
        (".strtab", 3, strtab, 0),
        (
            "__ksymtab_strings",
            1,
            format!("{export}\0").into_bytes(),
            0,
        ),
    ])
}

fn message(err: Error) -> String {
    err.to_string()
}

#[test]
fn a_ko_that_is_not_elf_is_refused_by_name() {
    let err = ModuleInfo::parse("updates/bogus.ko", b"#!/bin/sh\necho not a module\n").unwrap_err();
    assert!(matches!(err, Error::NotElf { .. }), "{err:?}");
    let msg = message(err);
    assert!(
        msg.contains("updates/bogus.ko") && msg.contains("not an ELF"),
        "{msg}"
    );

    let err = ModuleInfo::parse("updates/empty.ko", b"").unwrap_err();
    assert!(matches!(err, Error::NotElf { .. }), "{err:?}");
}

#[test]
fn truncated_or_inconsistent_elf_is_refused() {
    let good = module(&[b"vermagic=1.0 SMP"], "f", "g");
    for cut in [5, 20, 63, good.len() - 10] {
        let err = ModuleInfo::parse("kernel/cut.ko", &good[..cut]).unwrap_err();
        assert!(
            matches!(err, Error::BadElf { .. } | Error::NotElf { .. }),
            "cut at {cut}: {err:?}"
        );
    }
    let mut class = good.clone();
    class[4] = 9;
    assert!(matches!(
        ModuleInfo::parse("kernel/class.ko", &class).unwrap_err(),
        Error::BadElf { .. }
    ));
    // Section header table pointing past the end of the file.
    let mut far = good.clone();
    far[40..48].copy_from_slice(&(u64::MAX - 8).to_le_bytes());
    assert!(matches!(
        ModuleInfo::parse("kernel/far.ko", &far).unwrap_err(),
        Error::BadElf { .. }
    ));
    // A symbol whose name lies beyond the string table.
    let mut symtab = vec![0u8; 24];
    symtab.extend(undef_sym(0x7fff_0000));
    let elf = build_elf(&[
        (".modinfo", 1, b"license=GPL\0".to_vec(), 0),
        (".symtab", 2, symtab, 3),
        (".strtab", 3, b"\0x\0".to_vec(), 0),
    ]);
    let err = ModuleInfo::parse("kernel/sym.ko", &elf).unwrap_err();
    assert!(matches!(err, Error::BadElf { .. }), "{err:?}");
    assert!(message(err).contains(".strtab"));
}

#[test]
fn bad_modinfo_is_refused_with_the_entry() {
    let no_modinfo = build_elf(&[(".strtab", 3, b"\0".to_vec(), 0)]);
    let err = ModuleInfo::parse("kernel/none.ko", &no_modinfo).unwrap_err();
    assert!(matches!(err, Error::NoModinfo { .. }), "{err:?}");

    let cases: [(&[u8], &str); 4] = [
        (b"justakey", "no '='"),
        (b"=value", "empty key"),
        (b"alias=pci:v[0-9", "unmatched bracket"),
        (b"alias=usb:v\xc3\xa9", "7-bit ASCII"),
    ];
    for (entry, why) in cases {
        let data = module(&[b"license=GPL", entry], "f", "g");
        let err = ModuleInfo::parse("extra/bad.ko", &data).unwrap_err();
        let msg = message(err);
        assert!(msg.contains("extra/bad.ko") && msg.contains(why), "{msg}");
    }
    // A good one parses.
    let ok = ModuleInfo::parse(
        "extra/good-one.ko",
        &module(&[b"alias=x:y-z", b"vermagic=6.1 SMP"], "f", "g"),
    )
    .expect("good module");
    assert_eq!(ok.name(), "good_one");
    assert_eq!(ok.vermagic(), Some("6.1 SMP"));
    assert_eq!(ok.exports().collect::<Vec<_>>(), ["f"]);
    assert_eq!(ok.imports().collect::<Vec<_>>(), ["g"]);
}

#[test]
fn names_that_are_not_modules_or_escape_are_refused() {
    let data = module(&[b"license=GPL"], "f", "g");
    for path in [
        "",
        "kernel/x.txt",
        "kernel/.ko",
        "../../etc/x.ko",
        "kernel/../x.ko",
        "x.ko/",
    ] {
        let err = ModuleInfo::parse(path, &data).unwrap_err();
        assert!(
            matches!(err, Error::NotModulePath { .. }),
            "{path:?}: {err:?}"
        );
    }
}

#[test]
fn corrupt_compressed_modules_are_refused() {
    let cases: [(&str, Vec<u8>); 3] = [
        ("kernel/a.ko.xz", b"\xfd7zXZ\0garbage follows here".to_vec()),
        (
            "kernel/b.ko.zst",
            b"\x28\xb5\x2f\xfdgarbage follows here".to_vec(),
        ),
        ("kernel/c.ko.gz", b"\x1f\x8bgarbage".to_vec()),
    ];
    for (path, data) in cases {
        let err = ModuleInfo::parse(path, &data).unwrap_err();
        assert!(matches!(err, Error::Decompress { .. }), "{path}: {err:?}");
        assert!(message(err).contains(path));
    }
    // Truncated xz of a good module.
    let mut enc = liblzma::write::XzEncoder::new(Vec::new(), 6);
    enc.write_all(&module(&[b"license=GPL"], "f", "g"))
        .expect("xz");
    let xz = enc.finish().expect("xz");
    let err = ModuleInfo::parse("kernel/d.ko.xz", &xz[..xz.len() / 2]).unwrap_err();
    assert!(matches!(err, Error::Decompress { .. }), "{err:?}");
    // Compressed non-ELF content.
    let err = ModuleInfo::parse(
        "kernel/e.ko.zst",
        &zstd::encode_all(&b"text"[..], 3).expect("zstd"),
    )
    .unwrap_err();
    assert!(matches!(err, Error::NotElf { .. }), "{err:?}");
}

#[test]
fn dependency_cycle_is_an_error_as_in_depmod() {
    let kver = "1.0.0-cycle";
    let a = module(&[b"license=GPL"], "a_sym", "b_sym");
    let b = module(&[b"license=GPL"], "b_sym", "a_sym");
    let mut depmod = Depmod::new(kver);
    depmod.add_module(ModuleInfo::parse("kernel/a.ko", &a).expect("a"));
    depmod.add_module(ModuleInfo::parse("kernel/b.ko", &b).expect("b"));
    let err = depmod.write().unwrap_err();
    match &err {
        Error::Cycle { modules } => assert_eq!(modules.len(), 2, "{modules:?}"),
        other => panic!("expected a cycle error, got {other:?}"),
    }
    assert!(message(err).contains("cycle"));

    // The referee refuses the same tree.
    let root = tempfile::tempdir().expect("tempdir");
    let md = root.path().join("lib/modules").join(kver).join("kernel");
    std::fs::create_dir_all(&md).expect("mkdir");
    std::fs::write(md.join("a.ko"), &a).expect("write");
    std::fs::write(md.join("b.ko"), &b).expect("write");
    std::fs::create_dir_all(root.path().join("etc/depmod.d")).expect("mkdir");
    let conf = root.path().join("etc/depmod.d");
    let out = Command::new("depmod")
        .args([
            "-b",
            root.path().to_str().expect("utf-8"),
            "-C",
            conf.to_str().expect("utf-8"),
            kver,
        ])
        .output()
        .unwrap_or_else(|e| panic!("referee depmod cannot run ({e}); install Debian package kmod"));
    assert!(!out.status.success(), "depmod accepted a cycle");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cycle"));
    let err = kmod::depmod_dir(root.path(), kver).unwrap_err();
    assert!(matches!(err, Error::Cycle { .. }), "{err:?}");
}

#[test]
fn non_ascii_module_name_cannot_enter_an_index() {
    let mut depmod = Depmod::new("1.0.0");
    let data = module(&[b"license=GPL"], "f", "g");
    depmod.add_module(ModuleInfo::parse("kernel/caf\u{e9}.ko", &data).expect("parse"));
    let err = depmod.write().unwrap_err();
    assert!(matches!(err, Error::NonAsciiKey { .. }), "{err:?}");
}

#[test]
fn hostile_depmod_d_files_do_not_hang_or_break() {
    let mut depmod = Depmod::new("6.1.0-56-amd64");
    assert!(matches!(
        depmod
            .add_config("../etc/x.conf", "search updates")
            .unwrap_err(),
        Error::BadConfigName { .. }
    ));
    // Ignored like depmod ignores them: not *.conf, hidden.
    depmod
        .add_config("README", "search nothing")
        .expect("ignored");
    depmod
        .add_config(".hidden.conf", "search nothing")
        .expect("ignored");
    depmod
        .add_config(
            "evil.conf",
            "override a ((((a*)*)*)*)*b extra\noverride b ( extra\nexternal [z-a] /x\nsearch\n\\\nbogus line\n\
             override\nexternal *\n\u{0}\u{ff}\n",
        )
        .expect("config");
    let cfg = depmod.config();
    assert!(cfg.overrides.is_empty(), "{cfg:?}");
    assert!(cfg.externals.is_empty(), "{cfg:?}");
    assert_eq!(cfg.searches, vec![kmod::Search::Path("updates".into())]);
    depmod.write().expect("empty tree still writes every file");
}

#[test]
fn missing_tree_is_an_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = kmod::depmod_dir(dir.path(), "1.0.0").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}
