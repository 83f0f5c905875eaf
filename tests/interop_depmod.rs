//! The module indexes against Debian's `depmod` (kmod 30), byte for byte,
//! for Debian's own kernel package and for trees with modules swapped into
//! `updates/`, `override/` and `extra/` under a depmod.d configuration; then
//! `modprobe --show-depends` and `modinfo` (the same kmod) must find the
//! swapped modules where the configuration says.
//!
//! The kernel package is downloaded with `apt-get download` into
//! `target/test-cache/` (or `$ISOREMIX_TEST_CACHE`) and unpacked with
//! `dpkg-deb -x`; a failed download fails the test.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use common::debian_kernel::{Kernel, kernel, run_tool as run};
use common::elf::build_elf;
use isoremix::kmod::{self, Depmod, INDEX_FILES, ModuleInfo, Resolved};

// ---------------------------------------------------------------- helpers

impl Kernel {
    /// A fresh root whose `kernel/` links to the unpacked modules, with
    /// copies of the kernel's list files and an empty `etc/depmod.d`.
    fn root(&self) -> tempfile::TempDir {
        let root = tempfile::tempdir().expect("tempdir");
        let moddir = root.path().join("lib/modules").join(&self.kver);
        std::fs::create_dir_all(&moddir).expect("mkdir");
        std::fs::create_dir_all(root.path().join("etc/depmod.d")).expect("mkdir");
        std::os::unix::fs::symlink(self.moddir().join("kernel"), moddir.join("kernel"))
            .expect("symlink");
        for f in [
            "modules.order",
            "modules.builtin",
            "modules.builtin.modinfo",
        ] {
            std::fs::copy(self.moddir().join(f), moddir.join(f)).expect("copy list file");
        }
        root
    }
}

/// Runs the referee on `root` (configuration only from `root/etc/depmod.d`)
/// and returns what it wrote.
fn referee_depmod(root: &Path, kver: &str) -> BTreeMap<String, Vec<u8>> {
    let conf = root.join("etc/depmod.d");
    std::fs::create_dir_all(&conf).expect("mkdir");
    run(
        "depmod",
        &[
            "-b",
            root.to_str().expect("utf-8"),
            "-C",
            conf.to_str().expect("utf-8"),
            kver,
        ],
        None,
    );
    let moddir = root.join("lib/modules").join(kver);
    INDEX_FILES
        .iter()
        .map(|name| {
            let data = std::fs::read(moddir.join(name))
                .unwrap_or_else(|e| panic!("depmod wrote no {name}: {e}"));
            (name.to_string(), data)
        })
        .collect()
}

fn assert_identical(ours: &[(String, Vec<u8>)], referee: &BTreeMap<String, Vec<u8>>) {
    let names: Vec<&str> = ours.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, INDEX_FILES, "file list");
    for (name, data) in ours {
        let theirs = &referee[name];
        if data != theirs {
            let at = data
                .iter()
                .zip(theirs)
                .position(|(a, b)| a != b)
                .unwrap_or(data.len().min(theirs.len()));
            let lo = at.saturating_sub(80);
            panic!(
                "{name} differs from depmod's at byte {at} (ours {} bytes, depmod {} bytes)\nours:   {:?}\ndepmod: {:?}",
                data.len(),
                theirs.len(),
                String::from_utf8_lossy(&data[lo..(at + 80).min(data.len())]),
                String::from_utf8_lossy(&theirs[lo..(at + 80).min(theirs.len())]),
            );
        }
    }
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut enc = liblzma::write::XzEncoder::new(Vec::new(), 6);
    enc.write_all(data).expect("xz");
    enc.finish().expect("xz")
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).expect("zstd")
}

fn put(root: &Path, path: &str, data: &[u8]) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, data).expect("write");
}

/// Lists module files below `dir` as paths relative to it.
fn module_files(dir: &Path, rel: &str, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().into_string().expect("utf-8 name");
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let meta = std::fs::metadata(e.path()).expect("stat");
        if meta.is_dir() {
            module_files(&e.path(), &child, out);
        } else if kmod::is_module_path(&child) {
            out.push(child);
        }
    }
}

// ------------------------------------------------------------ kernel tests

#[test]
fn debian_kernel_tree_is_byte_identical() {
    let k = kernel();
    let root = k.root();
    let ours = kmod::depmod_dir(root.path(), &k.kver).expect("depmod_dir");
    let referee = referee_depmod(root.path(), &k.kver);
    assert!(referee["modules.dep"].len() > 100_000, "a real kernel tree");
    assert_identical(&ours, &referee);
}

#[test]
fn swapped_modules_follow_depmod_d_and_modprobe_finds_them() {
    let k = kernel();
    let root = k.root();
    let r = root.path();
    let moddir = format!("lib/modules/{}", k.kver);
    let e1000e = std::fs::read(k.module_file("e1000e.ko")).expect("e1000e");
    let ixgbe = std::fs::read(k.module_file("ixgbe.ko")).expect("ixgbe");
    let igb = std::fs::read(k.module_file("igb.ko")).expect("igb");
    let r8169 = std::fs::read(k.module_file("r8169.ko")).expect("r8169");
    let dummy = std::fs::read(k.module_file("dummy.ko")).expect("dummy");

    // updates/ beats the kernel's copy.
    put(
        r,
        &format!("{moddir}/updates/drivers/net/e1000e.ko.xz"),
        &xz(&e1000e),
    );
    // override/ is searched before updates/.
    put(r, &format!("{moddir}/override/ixgbe.ko.zst"), &zstd(&ixgbe));
    put(r, &format!("{moddir}/updates/ixgbe.ko"), &ixgbe);
    // An override line beats the search order.
    put(r, &format!("{moddir}/extra/igb.ko"), &igb);
    put(r, &format!("{moddir}/updates/igb.ko"), &igb);
    // Excluded directory: the kernel's r8169 stays.
    put(r, &format!("{moddir}/updates/skipme/r8169.ko"), &r8169);
    // A new module name, not in modules.order.
    put(r, &format!("{moddir}/extra/net/dummy-extra.ko"), &dummy);
    put(
        r,
        "etc/depmod.d/00-search.conf",
        b"# test configuration\nsearch override updates extra built-in\nexclude skipme\n",
    );
    put(
        r,
        "etc/depmod.d/10-override.conf",
        b"override igb ^6\\.1\\.0-[0-9]+-amd64$ extra\noverride r8169 5.10.* \\\nupdates\n",
    );

    // The streaming API, as the pipeline uses it.
    let mut depmod = Depmod::new(&k.kver);
    for name in ["00-search.conf", "10-override.conf"] {
        let text = std::fs::read_to_string(r.join("etc/depmod.d").join(name)).expect("conf");
        depmod.add_config(name, &text).expect("config");
    }
    let md = r.join(&moddir);
    depmod.set_order(&std::fs::read_to_string(md.join("modules.order")).expect("order"));
    depmod.set_builtin(&std::fs::read_to_string(md.join("modules.builtin")).expect("builtin"));
    depmod
        .set_builtin_modinfo(&std::fs::read(md.join("modules.builtin.modinfo")).expect("modinfo"));
    let mut files = Vec::new();
    module_files(&md, "", &mut files);
    for rel in &files {
        let data = std::fs::read(md.join(rel)).expect("module");
        depmod.add_module(ModuleInfo::parse(rel, &data).expect("parse"));
    }
    let ours = depmod.write().expect("write");
    // The convenience path gives the same result.
    assert_eq!(kmod::depmod_dir(r, &k.kver).expect("depmod_dir"), ours);

    let referee = referee_depmod(r, &k.kver);
    assert_identical(&ours, &referee);

    // modprobe (reading only the .bin indexes) and modinfo find the chosen files.
    let root_s = r.to_str().expect("utf-8");
    let abs = |rel: &str| format!("{root_s}/{moddir}/{rel}");
    let show = |what: &str| {
        let out = run(
            "modprobe",
            &["-d", root_s, "-S", &k.kver, "--show-depends", what],
            None,
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let expect = [
        ("e1000e", "updates/drivers/net/e1000e.ko.xz"),
        ("ixgbe", "override/ixgbe.ko.zst"),
        ("igb", "extra/igb.ko"),
        ("dummy_extra", "extra/net/dummy-extra.ko"),
        // An Intel 82574L, matched through the alias index.
        (
            "pci:v00008086d000010D3sv00008086sd0000A01Fbc02sc00i00",
            "updates/drivers/net/e1000e.ko.xz",
        ),
    ];
    for (what, rel) in expect {
        let out = show(what);
        assert!(
            out.contains(&format!("insmod {} ", abs(rel)))
                || out.ends_with(&format!("insmod {}\n", abs(rel))),
            "modprobe --show-depends {what}: expected {rel}, got:\n{out}"
        );
        let resolved = depmod.resolve(what).expect("resolve");
        assert!(
            resolved
                .iter()
                .any(|m| matches!(m, Resolved::Module { path, .. } if path == rel)),
            "resolve({what}) = {resolved:?}, expected {rel}"
        );
    }
    let r8169_path = show("r8169");
    assert!(
        r8169_path.contains("/kernel/drivers/net/ethernet/realtek/r8169.ko"),
        "{r8169_path}"
    );
    assert!(!r8169_path.contains("skipme"), "{r8169_path}");
    // ixgbe's dependencies come from the kernel tree, in load order.
    let ixgbe_deps = show("ixgbe");
    assert!(ixgbe_deps.lines().count() >= 2, "{ixgbe_deps}");

    for (module, rel) in [
        ("e1000e", "updates/drivers/net/e1000e.ko.xz"),
        ("igb", "extra/igb.ko"),
    ] {
        let out = run(
            "modinfo",
            &["-b", root_s, "-k", &k.kver, "-F", "filename", module],
            None,
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            abs(rel),
            "modinfo {module}"
        );
        let vermagic = run(
            "modinfo",
            &["-b", root_s, "-k", &k.kver, "-F", "vermagic", module],
            None,
        );
        assert_eq!(
            depmod.vermagic(module).expect("vermagic").as_deref(),
            Some(String::from_utf8_lossy(&vermagic.stdout).trim_end_matches('\n')),
            "vermagic of {module}"
        );
    }
    // A built-in module resolves as built-in, like modprobe says.
    let builtin = std::fs::read_to_string(md.join("modules.builtin")).expect("builtin");
    let first = builtin.lines().next().expect("a builtin module");
    let name = kmod::module_name(first).expect("name");
    let out = show(&name);
    assert!(
        out.contains("builtin"),
        "modprobe on built-in {name}: {out}"
    );
    assert_eq!(
        depmod.resolve(&name).expect("resolve"),
        vec![Resolved::Builtin { name: name.clone() }]
    );
}

// ------------------------------------------------------- synthetic modules

/// A module: `.modinfo` entries, exports (through `__crc_` symbols when
/// `crc`, else `__ksymtab_strings`), undefined symbols (`weak:` prefix for a
/// weak one) and `__versions` names.
fn synthetic(
    modinfo: &[&str],
    exports: &[&str],
    crc: bool,
    imports: &[&str],
    versions: &[&str],
) -> Vec<u8> {
    let mut info = Vec::new();
    for e in modinfo {
        info.extend_from_slice(e.as_bytes());
        info.push(0);
    }
    let mut ksymtab = Vec::new();
    let mut strtab = vec![0u8];
    let mut symtab = vec![0u8; 24];
    let mut sym = |strtab: &mut Vec<u8>, name: &str, info: u8, shndx: u16| {
        let off = strtab.len() as u32;
        strtab.extend_from_slice(name.as_bytes());
        strtab.push(0);
        symtab.extend_from_slice(&off.to_le_bytes());
        symtab.push(info);
        symtab.push(0);
        symtab.extend_from_slice(&shndx.to_le_bytes());
        symtab.extend_from_slice(&[0u8; 16]);
    };
    for import in imports {
        match import.strip_prefix("weak:") {
            Some(name) => sym(&mut strtab, name, 0x20, 0),
            None => sym(&mut strtab, import, 0x10, 0),
        }
    }
    for export in exports {
        if crc {
            sym(&mut strtab, &format!("__crc_{export}"), 0x10, 1);
        } else {
            ksymtab.extend_from_slice(export.as_bytes());
            ksymtab.push(0);
        }
    }
    let mut vers = Vec::new();
    for v in versions {
        let mut rec = [0u8; 64];
        rec[..8].copy_from_slice(&0x1234_5678u64.to_le_bytes());
        rec[8..8 + v.len()].copy_from_slice(v.as_bytes());
        vers.extend_from_slice(&rec);
    }
    let mut sections = vec![
        (".modinfo", 1, info, 0),
        (".symtab", 2, symtab, 3),
        (".strtab", 3, strtab, 0),
        ("__ksymtab_strings", 1, ksymtab, 0),
    ];
    if !versions.is_empty() {
        sections.push(("__versions", 1, vers, 0));
    }
    build_elf(&sections)
}

#[test]
fn synthetic_tree_edge_cases_are_byte_identical() {
    let kver = "1.2.3-test";
    let root = tempfile::tempdir().expect("tempdir");
    let r = root.path();
    let md = format!("lib/modules/{kver}");
    let vm = "vermagic=1.2.3-test SMP mod_unload ";
    let m = |path: &str, data: Vec<u8>| put(r, &format!("{md}/{path}"), &data);

    let base = synthetic(
        &[
            "alias=pci:v00001234d*sv*sd*bc*sc*i*",
            "alias=devname:foo",
            "alias=char-major-10-123",
            "softdep=pre: helper post: other",
            "license=GPL",
            vm,
        ],
        &["base_fn", "base_data"],
        false,
        &[],
        &["module_layout"],
    );
    m("kernel/lib/base.ko", base.clone());
    m(
        "kernel/lib/mid-dep.ko",
        synthetic(
            &[
                "alias=usb:v1234p*d*",
                "alias=pci:v00001234d*sv*sd*bc*sc*i*",
                "alias=acpi*:PNP-0A03:*",
                "alias=of:N*T*Cfoo[-_]bar",
                "alias=block-major-8-*",
                "alias=devname:disk/x",
                "alias=block-major-259-0",
                "alias=char-major-10-5",
                vm,
            ],
            &["mid_fn"],
            true,
            &["base_fn", "printk_not_here"],
            &["base_fn", "module_layout"],
        ),
    );
    m(
        "kernel/drv/top.ko",
        synthetic(
            &["alias=platform:top", vm],
            &[],
            false,
            &["mid_fn", "base_data", "weak:weak_sym"],
            &[],
        ),
    );
    m(
        "kernel/drv/solo.ko",
        synthetic(&["devname=x", vm], &["weak_sym"], true, &[], &[]),
    );
    m(
        "kernel/dup/dup1.ko",
        synthetic(&[vm], &["dup_sym"], false, &[], &[]),
    );
    m(
        "kernel/dup/dup2.ko",
        synthetic(&[vm], &["dup_sym"], false, &[], &[]),
    );
    m(
        // Compressed, still placed by its `.ko` line in modules.order.
        "kernel/dup/user.ko.zst",
        zstd(&synthetic(&[vm], &[], false, &["dup_sym", ".base_fn"], &[])),
    );
    m(
        "kernel/build/skipped.ko",
        synthetic(&[vm], &["never"], false, &[], &[]),
    );
    m(
        "kernel/drv/source/skipped2.ko",
        synthetic(&[vm], &["never2"], false, &[], &[]),
    );
    // updates/ replaces the kernel's base (the default search is `updates`).
    m("updates/base.ko", base);
    // Many modules outside modules.order: their order is depmod's hash order.
    for i in 0..60u32 {
        let name = if i % 7 == 0 {
            format!("gen-{i:02}")
        } else {
            format!("gen{i:02}")
        };
        let mut imports = Vec::new();
        for j in [i / 2, i / 3, (i * 7) % 11] {
            if j < i {
                imports.push(format!("gen{j}_sym"));
            }
        }
        if i % 5 == 0 {
            imports.push("mid_fn".to_string());
        }
        let imports: Vec<&str> = imports.iter().map(String::as_str).collect();
        let alias = format!("alias=gen:{}*", i % 9);
        let export = format!("gen{i}_sym");
        m(
            &format!("updates/g{}/{name}.ko", i % 4),
            synthetic(&[&alias, vm], &[&export], i % 2 == 0, &imports, &[]),
        );
    }
    put(
        r,
        &format!("{md}/extra/extra-one.ko.xz"),
        &xz(&synthetic(
            &["alias=extra:one", vm],
            &[],
            false,
            &["gen3_sym"],
            &[],
        )),
    );
    put(
        r,
        &format!("{md}/extra/extra-two.ko.zst"),
        &zstd(&synthetic(
            &["alias=extra:two", vm],
            &[],
            false,
            &["base_fn"],
            &[],
        )),
    );
    put(
        r,
        &format!("{md}/modules.order"),
        b"kernel/drv/top.ko\nkernel/lib/mid-dep.ko\nkernel/lib/base.ko\nkernel/dup/dup2.ko\nkernel/dup/dup1.ko\nkernel/dup/user.ko\nkernel/gone.ko\n",
    );
    put(
        r,
        &format!("{md}/modules.builtin"),
        b"kernel/fs/ext4.ko\nkernel/crypto/crc32c-generic.ko\n\n# not a module\nkernel/x/no-dot\nkernel/fs/ext4.ko\n",
    );
    put(
        r,
        &format!("{md}/modules.builtin.modinfo"),
        b"ext4.alias=fs-ext4\0ext4.description=x\0crc32c_generic.alias=crypto-crc32c\0crc32c_generic.alias=crc32c\0foo.alias=pci:v*d0000ABCDsv*\0bar.alias=fs-ext4\0baz.alias\0qux.alias=x-y[a-b]\0",
    );
    put(r, "etc/depmod.d/a.conf", b"search extra updates built-in\n");
    put(r, "etc/depmod.d/README", b"not read: no .conf\n");

    let ours = kmod::depmod_dir(r, kver).expect("depmod_dir");

    // The order modules stream in (e.g. cpio order) does not matter.
    let mut streamed = Depmod::new(kver);
    let moddir = r.join(&md);
    let mut files = Vec::new();
    module_files(&moddir, "", &mut files);
    assert!(files.len() > 60);
    for rel in files.iter().rev() {
        let data = std::fs::read(moddir.join(rel)).expect("module");
        streamed.add_module(ModuleInfo::parse(&format!("./{rel}"), &data).expect("parse"));
    }
    streamed
        .add_config("a.conf", "search extra updates built-in\n")
        .expect("config");
    streamed.set_order(&std::fs::read_to_string(moddir.join("modules.order")).expect("order"));
    streamed
        .set_builtin(&std::fs::read_to_string(moddir.join("modules.builtin")).expect("builtin"));
    streamed.set_builtin_modinfo(
        &std::fs::read(moddir.join("modules.builtin.modinfo")).expect("modinfo"),
    );
    assert_eq!(
        streamed.write().expect("write"),
        ours,
        "independent of module order"
    );

    let referee = referee_depmod(r, kver);
    assert_identical(&ours, &referee);
    let dep = String::from_utf8_lossy(&referee["modules.dep"]).into_owned();
    assert!(dep.contains("updates/base.ko:"), "{dep}");
    assert!(dep.starts_with("kernel/drv/top.ko:"), "{dep}");
    assert!(
        dep.contains("kernel/dup/dup1.ko:\nkernel/dup/user.ko.zst:"),
        "{dep}"
    );
    assert!(!dep.contains("skipped"), "{dep}");
}

#[test]
fn external_directories_follow_the_search_list() {
    let kver = "1.2.4-ext";
    let root = tempfile::tempdir().expect("tempdir");
    let ext = tempfile::tempdir().expect("tempdir");
    let ext2 = tempfile::tempdir().expect("tempdir");
    let r = root.path();
    let vm = "vermagic=1.2.4-ext SMP ";
    let md = format!("lib/modules/{kver}");
    let a_kernel = synthetic(&["alias=a:kernel", vm], &["a_sym"], false, &[], &[]);
    let a_ext = synthetic(&["alias=a:external", vm], &["a_sym"], true, &[], &[]);
    let c = synthetic(&[vm], &["c_sym"], false, &[], &[]);
    let b = synthetic(&["alias=b:*", vm], &[], false, &["a_sym", "c_sym"], &[]);
    let ext_s = ext.path().to_str().expect("utf-8").to_string();
    let ext2_s = ext2.path().to_str().expect("utf-8").to_string();
    let conf = format!("search external built-in\nexternal * {ext_s}\nexternal ^9\\. {ext2_s}\n");

    // (path as the streaming API takes it, data, where it goes on disk)
    let files: Vec<(String, Vec<u8>, std::path::PathBuf)> = vec![
        (
            "kernel/a.ko".into(),
            a_kernel,
            r.join(&md).join("kernel/a.ko"),
        ),
        (
            "kernel/c.ko".into(),
            c.clone(),
            r.join(&md).join("kernel/c.ko"),
        ),
        (format!("{ext_s}/a.ko"), a_ext, ext.path().join("a.ko")),
        (format!("{ext_s}/sub/b.ko"), b, ext.path().join("sub/b.ko")),
        // ext2 does not match the kernel version: never searched.
        (format!("{ext2_s}/c.ko"), c, ext2.path().join("c.ko")),
    ];
    let mut depmod = Depmod::new(kver);
    depmod.add_config("ext.conf", &conf).expect("config");
    for (path, data, disk) in &files {
        std::fs::create_dir_all(disk.parent().expect("parent")).expect("mkdir");
        std::fs::write(disk, data).expect("write");
        depmod.add_module(ModuleInfo::parse(path, data).expect("parse"));
    }
    put(r, "etc/depmod.d/ext.conf", conf.as_bytes());
    let ours = depmod.write().expect("write");
    let referee = referee_depmod(r, kver);
    assert_identical(&ours, &referee);
    let dep = String::from_utf8_lossy(&referee["modules.dep"]).into_owned();
    assert!(
        dep.contains(&format!("{ext_s}/sub/b.ko: kernel/c.ko {ext_s}/a.ko")),
        "{dep}"
    );
    assert_eq!(
        depmod.resolve("a:external").expect("resolve"),
        vec![Resolved::Module {
            name: "a".into(),
            path: format!("{ext_s}/a.ko")
        }]
    );
}

#[test]
fn empty_tree_is_byte_identical() {
    let kver = "1.2.5-empty";
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("lib/modules").join(kver)).expect("mkdir");
    let ours = kmod::depmod_dir(root.path(), kver).expect("depmod_dir");
    let referee = referee_depmod(root.path(), kver);
    assert_identical(&ours, &referee);
    // Without modules.builtin(.modinfo) depmod still writes both, empty.
    assert!(referee["modules.builtin.bin"].is_empty());
    assert!(referee["modules.builtin.alias.bin"].is_empty());
    assert!(referee["modules.devname"].is_empty());
}
