//! The bodies of the fuzz targets: one function per parser, fed arbitrary bytes.
//!
//! Each function must never panic, hang or exhaust memory on any input: errors are the expected
//! answer to bad input. Round-trip targets also assert their property (what was parsed renders to
//! something that parses the same, an unedited config renders to its own bytes, an edit reads
//! back as made), so a bug in a renderer fails as loudly as a crash.
//!
//! The `fuzz/` crate calls these from its libFuzzer targets, and `tests/fuzz_corpus.rs` replays
//! every kept input through them on stable Rust: one home for each target's body. [`TARGETS`]
//! lists them by the name of their corpus folder. Not a stable API.

use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::OnceLock;

use crate::boot::{BootMenu, EntryView};
use crate::boot::{efiboot, grub::GrubCfg, isolinux::IsolinuxCfg};
use crate::initrd::{self, Edits, NewcWriter, Tree, newc};
use crate::patch::Patch;
use crate::repo::{comps, filelists, other, primary, reader, repomd};
use crate::rpm::{build::Dep, container::PackageStart, index::Header};

/// A fuzz target: its name (the folder of its corpus) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("iso", iso),
    ("initrd", initrd),
    ("rpm", rpm),
    ("isolinux", isolinux),
    ("grub", grub),
    ("patch", patch),
    ("repomd", repomd),
    ("primary", primary),
    ("comps", comps),
    ("treeinfo", treeinfo),
    ("answerfile", answerfile),
    ("kmod", kmod),
    ("profile", profile),
    ("efiboot", efiboot),
];

/// Most bytes a target reads from one file of a fuzzed image: enough to reach every extent of a
/// small image, little enough that a file claiming gigabytes costs nothing.
const READ_LIMIT: u64 = 1 << 20;

/// Reads at most [`READ_LIMIT`] bytes of `r`, ignoring errors (they are the expected answer).
fn drain(r: impl Read) {
    let _ = io::copy(&mut r.take(READ_LIMIT), &mut io::sink());
}

/// ISO reader: open the image, walk its tree, read every file.
pub fn iso(data: &[u8]) {
    let Ok(mut file) = tempfile::NamedTempFile::new() else {
        return;
    };
    if file.write_all(data).is_err() {
        return;
    }
    let Ok(source) = crate::iso::SourceIso::open(file.path()) else {
        return;
    };
    let _ = (source.volume_id(), source.created(), source.catalog_path());
    let _ = source.boot_entries().len();
    let mut paths = Vec::new();
    crate::iso::walk(source.tree(), &mut |path, _| paths.push(path.to_string()));
    for path in &paths {
        let _ = source.exists(path);
        let _ = source.extents(path);
        if let Ok(r) = source.open_file(path) {
            drain(r);
        }
    }
}

/// install.img reader and extract: read the merged tree, list it, resolve every name, and
/// extract it into a temporary folder; nothing may appear outside the destination.
pub fn initrd(data: &[u8]) {
    let Ok(tree) = Tree::read(data) else {
        return;
    };
    let _ = (
        tree.segments().len(),
        tree.skipped().len(),
        tree.last_compression(),
    );
    let names: Vec<Vec<u8>> = tree.nodes().map(|(name, _)| name.to_vec()).collect();
    for name in &names {
        let _ = tree.list_line(name);
        let _ = tree.lookup(name);
        let _ = tree.resolve(name);
    }
    let Ok(scratch) = tempfile::tempdir() else {
        return;
    };
    let dest = scratch.path().join("out");
    let _ = initrd::extract(data, &tree, &dest);
    let outside: Vec<_> = std::fs::read_dir(scratch.path())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        outside.iter().all(|n| n == "out"),
        "extract wrote outside its destination: {outside:?}"
    );
}

/// RPM header and container: read the headers as the repodata code and as the rewriting code
/// do, check digests, re-serialize each header (it must read back the same) and rewrite the
/// package as a new release (a readable package must read back with that release and the added
/// require).
pub fn rpm(data: &[u8]) {
    let readable = crate::rpm::header::read_package(data).is_ok();
    let _ = crate::rpm::check_digests(&mut &data[..]);
    let mut input = data;
    let Ok(start) = PackageStart::read(&mut input) else {
        return;
    };
    let _ = start.verify_header_digest();
    let _ = (
        start.payload_digest(),
        start.payload_sha256(),
        start.payload_len(),
    );
    let _ = start.header_range();
    for (header, part) in [
        (&start.signature, "signature header"),
        (&start.main, "main header"),
    ] {
        let bytes = header.to_bytes();
        let (again, raw) = Header::read(&mut bytes.as_slice(), part)
            .unwrap_or_else(|e| panic!("a re-serialized {part} does not read back: {e}"));
        assert_eq!(
            raw, bytes,
            "{part}: bytes read back differ from those written"
        );
        let mut sorted = header.entries.clone();
        sorted.sort_by_key(|e| e.tag);
        assert_eq!(
            again.entries, sorted,
            "{part}: entries changed by a round trip"
        );
        assert_eq!(
            again.region_tag, header.region_tag,
            "{part}: region tag changed"
        );
    }
    let spec = crate::rpm::rewrite::RewriteSpec {
        release: crate::rpm::rewrite::NewRelease::Suffix(".fuzz1".into()),
        add_requires: vec![Dep::any("fuzz-added")],
        sign: None,
    };
    let mut out = Vec::new();
    let Ok(report) = crate::rpm::rewrite::rewrite_package(&mut &data[..], &mut out, &spec) else {
        return;
    };
    if !readable {
        // The rewrite keeps what it does not change: a package the reader refuses (no
        // architecture, say) stays refused.
        return;
    }
    let header = crate::rpm::header::read_header(out.as_slice())
        .unwrap_or_else(|e| panic!("a rewritten package does not read back: {e}"));
    assert_eq!(header.release, report.new_release);
    assert!(
        header.requires.iter().any(|d| d.name == "fuzz-added"),
        "the added require is missing from the rewritten package"
    );
}

/// The property every menu edit must keep: the rendered text parses, and reads back as the
/// edited config's entries.
fn reads_back<M: BootMenu>(cfg: &M, parse: impl Fn(&[u8]) -> Option<M>, what: &str) {
    let text = cfg.render();
    let again = parse(text.as_bytes())
        .unwrap_or_else(|| panic!("{what}: the rendered config does not parse:\n{text}"));
    assert_eq!(
        again.entries(),
        cfg.entries(),
        "{what}: entries differ after render and parse:\n{text}"
    );
    assert_eq!(again.render(), text, "{what}: rendering is not stable");
}

/// Every edit [`crate::boot::apply`] makes, one at a time, each checked with [`reads_back`].
fn menu_round_trip<M: BootMenu + Clone>(data: &[u8], parse: impl Fn(&[u8]) -> Option<M>) {
    let Some(cfg) = parse(data) else {
        return;
    };
    assert_eq!(
        cfg.render().as_bytes(),
        data,
        "an unedited config must render to its own bytes"
    );
    reads_back(&cfg, &parse, "unedited");
    let entries: Vec<EntryView> = cfg.entries();
    for (idx, entry) in entries.iter().enumerate() {
        let mut edited = cfg.clone();
        let result = if let Some(x) = &entry.xen {
            let xen: Vec<String> = x
                .xen_args
                .iter()
                .cloned()
                .chain(["fuzz=1".into()])
                .collect();
            let dom0: Vec<String> = ["fuzz-dom0".to_string()]
                .into_iter()
                .chain(x.dom0_args.iter().skip(1).cloned())
                .collect();
            edited.set_args(idx, &xen, &dom0).map(|_| ())
        } else if let Some(l) = &entry.linux {
            let args: Vec<String> = l.args.iter().cloned().chain(["fuzz=1".into()]).collect();
            edited.set_kernel_args(idx, &args).map(|_| ())
        } else {
            continue;
        };
        if result.is_ok() {
            reads_back(&edited, &parse, "argument edit");
        }
        let mut copied = cfg.clone();
        if copied.duplicate(idx, "fuzzcopy", "Fuzz copy").is_ok() {
            reads_back(&copied, &parse, "duplicated entry");
        }
        let mut default = cfg.clone();
        if default.set_default(idx).is_ok() {
            reads_back(&default, &parse, "default");
        }
    }
    let mut timeout = cfg.clone();
    if timeout.set_timeout(7).is_ok() {
        reads_back(&timeout, &parse, "timeout");
    }
}

/// isolinux.cfg parse + render round trip and every edit.
pub fn isolinux(data: &[u8]) {
    menu_round_trip(data, |b| IsolinuxCfg::parse(b).ok());
}

/// grub.cfg parse + render round trip and every edit.
pub fn grub(data: &[u8]) {
    menu_round_trip(data, |b| GrubCfg::parse(b).ok());
}

/// A small uncompressed install.img (the patch target's tree, and a seed of the initrd target):
/// a few text files, a symlink and a folder, as our own newc writer makes them.
pub fn small_image() -> &'static [u8] {
    static IMAGE: OnceLock<Vec<u8>> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let mut w = NewcWriter::new(Vec::new());
        let entries: [(&[u8], u32, &[u8]); 6] = [
            (b"etc", newc::S_IFDIR | 0o755, b""),
            (
                b"etc/hosts",
                newc::S_IFREG | 0o644,
                b"127.0.0.1 localhost\n::1 localhost\n",
            ),
            (
                b"etc/motd",
                newc::S_IFREG | 0o644,
                b"one\ntwo\nthree\nfour\nfive\n",
            ),
            (b"opt", newc::S_IFDIR | 0o755, b""),
            (b"opt/empty", newc::S_IFREG | 0o600, b""),
            (b"motd", newc::S_IFLNK | 0o777, b"etc/motd"),
        ];
        for (ino, (name, mode, body)) in entries.iter().enumerate() {
            let header = newc::Header {
                ino: ino as u32 + 1,
                mode: *mode,
                nlink: 1,
                filesize: body.len() as u32,
                ..newc::Header::default()
            };
            w.append_bytes(&header, name, body)
                .expect("writing to memory cannot fail");
        }
        w.finish().expect("writing to memory cannot fail")
    })
}

/// Unified-diff patch: parse, then apply to a small install.img tree as a build does.
pub fn patch(data: &[u8]) {
    let Ok(patch) = Patch::parse("fuzz.patch", data) else {
        return;
    };
    let image = small_image();
    let tree = Tree::read(image).expect("the patch target's own image reads");
    let edits = Edits {
        patches: vec![patch],
        mtime: 1,
        ..Edits::default()
    };
    let Ok(changes) = initrd::prepare(&edits, &tree, image) else {
        return;
    };
    let _ = initrd::plan(&changes, None);
}

/// repomd.xml: parse, write, parse again: the same records.
pub fn repomd(data: &[u8]) {
    let Ok(parsed) = repomd::parse_repomd(data) else {
        return;
    };
    let mut text = Vec::new();
    repomd::write_repomd(&mut text, &parsed).expect("writing to memory cannot fail");
    let again = repomd::parse_repomd(&text).unwrap_or_else(|e| {
        panic!(
            "written repomd.xml does not parse: {e}\n{}",
            String::from_utf8_lossy(&text)
        )
    });
    assert_eq!(again, parsed, "repomd.xml changed by a round trip");
}

/// primary, filelists and other (the input's NUL-separated parts; missing ones are empty):
/// read the records, write the three files, read them again: the same records.
pub fn primary(data: &[u8]) {
    let mut parts = data.splitn(3, |&b| b == 0);
    let primary_xml = parts.next().unwrap_or_default();
    let filelists_xml = parts.next().unwrap_or(b"<filelists/>");
    let other_xml = parts.next().unwrap_or(b"<otherdata/>");
    let Ok(records) = reader::read_records(
        ("primary.xml", primary_xml),
        ("filelists.xml", filelists_xml),
        ("other.xml", other_xml),
    ) else {
        return;
    };
    let (mut p, mut f, mut o) = (Vec::new(), Vec::new(), Vec::new());
    primary::write_primary(&mut p, &records).expect("writing to memory cannot fail");
    filelists::write_filelists(&mut f, &records).expect("writing to memory cannot fail");
    other::write_other(&mut o, &records).expect("writing to memory cannot fail");
    let again = reader::read_records(
        ("primary.xml", p.as_slice()),
        ("filelists.xml", f.as_slice()),
        ("other.xml", o.as_slice()),
    )
    .unwrap_or_else(|e| {
        panic!(
            "written repodata does not read back: {e}\n{}",
            String::from_utf8_lossy(&p)
        )
    });
    assert_eq!(again, records, "records changed by a write and read");
}

/// comps: parse the groups, add a package to each, and read the result back: the package is
/// added to the first group of that id (once), and nothing else changes.
pub fn comps(data: &[u8]) {
    let Ok(groups) = comps::parse_groups(data) else {
        return;
    };
    for group in &groups {
        let Ok(edited) =
            comps::add_packages(data, &group.id, &["fuzz-added"], comps::ReqKind::Mandatory)
        else {
            continue;
        };
        let again = comps::parse_groups(&edited).unwrap_or_else(|e| {
            panic!(
                "comps with an added package does not parse: {e}\n{}",
                String::from_utf8_lossy(&edited)
            )
        });
        assert_eq!(
            again.len(),
            groups.len(),
            "adding a package changed the groups"
        );
        let target = groups.iter().position(|g| g.id == group.id);
        for (i, (before, after)) in groups.iter().zip(&again).enumerate() {
            assert_eq!((&before.id, &before.name), (&after.id, &after.name));
            let added = after
                .packages
                .iter()
                .filter(|p| !before.packages.contains(p));
            let names: Vec<&str> = added.map(|p| p.name.as_str()).collect();
            let expected: Vec<&str> =
                if Some(i) == target && !before.packages.iter().any(|p| p.name == "fuzz-added") {
                    vec!["fuzz-added"]
                } else {
                    Vec::new()
                };
            assert_eq!(
                names, expected,
                "group {i} ({}): wrong packages added",
                before.id
            );
        }
    }
}

/// .treeinfo: parse and render unchanged, then each edit a build makes reads back.
pub fn treeinfo(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(info) = crate::treeinfo::TreeInfo::parse(text) else {
        return;
    };
    let _ = info.check_values();
    let rendered = info.to_text();
    let again = crate::treeinfo::TreeInfo::parse(&rendered)
        .unwrap_or_else(|e| panic!("rendered .treeinfo does not parse: {e}"));
    assert_eq!(again, info, ".treeinfo changed by a round trip");
    let mut edited = info.clone();
    if edited.set("build", "number", "fuzz1").is_ok() {
        let back = crate::treeinfo::TreeInfo::parse(&edited.to_text())
            .unwrap_or_else(|e| panic!("edited .treeinfo does not parse: {e}"));
        assert_eq!(back.get("build", "number"), Some("fuzz1"));
    }
    let mut keyed = info.clone();
    if keyed.set_first_key("RPM-GPG-KEY-fuzz").is_ok() {
        crate::treeinfo::TreeInfo::parse(&keyed.to_text())
            .unwrap_or_else(|e| panic!("edited .treeinfo does not parse: {e}"));
    }
    let edit = crate::treeinfo::TreeinfoEdit {
        build_number: Some("2".into()),
        product_name: Some("Fuzz".into()),
        product_version: Some("8.3.1".into()),
        first_key: Some("RPM-GPG-KEY-fuzz".into()),
        timestamp: 1,
    };
    let _ = crate::treeinfo::rewrite(text, &edit);
}

/// Answer file: validate, read a root attribute, set root attributes and read them back.
pub fn answerfile(data: &[u8]) {
    let Ok(root) = crate::answerfile::validate("answerfile.xml", data) else {
        return;
    };
    let _ = crate::answerfile::root_attribute("answerfile.xml", data, "mode");
    let Ok(edited) = crate::answerfile::set_root_attributes(
        "answerfile.xml",
        data,
        &[("gpgcheck", "false"), ("fuzz", "a<&\"'b")],
    ) else {
        return;
    };
    let again = crate::answerfile::validate("answerfile.xml", &edited).unwrap_or_else(|e| {
        panic!(
            "edited answer file does not validate: {e}\n{}",
            String::from_utf8_lossy(&edited)
        )
    });
    assert_eq!(again, root);
    for (name, value) in [("gpgcheck", "false"), ("fuzz", "a<&\"'b")] {
        let read = crate::answerfile::root_attribute("answerfile.xml", &edited, name);
        assert_eq!(
            read.ok().flatten().as_deref(),
            Some(value),
            "attribute {name} does not read back"
        );
    }
}

/// Kernel module: parse the ELF (or a compressed one, by its first byte's choice of name) and
/// read its modinfo and symbols.
pub fn kmod(data: &[u8]) {
    let (name, body) = match data.split_first() {
        Some((0, rest)) => ("kernel/fuzz.ko.xz", rest),
        Some((1, rest)) => ("kernel/fuzz.ko.zst", rest),
        Some((2, rest)) => ("kernel/fuzz.ko.gz", rest),
        _ => ("kernel/fuzz.ko", data),
    };
    let Ok(info) = crate::kmod::ModuleInfo::parse(name, body) else {
        return;
    };
    let _ = (info.name(), info.path(), info.vermagic());
    let _ = info.modinfo().count() + info.exports().count() + info.imports().count();
    let _ = info.modinfo_values("alias").count();
}

/// Profile: parse and validate as a remaster and as a driver-disk profile, relative paths
/// resolving against the crate's `profiles/` folder (the demo profile's inputs); a valid one
/// written back as TOML must load as the same profile.
pub fn profile(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let base = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles"));
    let file = Path::new("fuzz.toml");
    if let Ok(p) = crate::profile::Profile::from_str(text, file, base) {
        let written = p
            .to_toml()
            .unwrap_or_else(|e| panic!("a valid profile cannot be written: {e}"));
        let again = crate::profile::Profile::from_str(&written, file, base)
            .unwrap_or_else(|e| panic!("a written profile does not load: {e}\n{written}"));
        assert_eq!(
            again.to_toml().ok().as_deref(),
            Some(written.as_str()),
            "a written profile loads as another one"
        );
    }
    if let Ok(p) = crate::profile::DriverDiskProfile::from_str(text, file, base, None) {
        let written = p
            .to_toml()
            .unwrap_or_else(|e| panic!("a valid profile cannot be written: {e}"));
        let again = crate::profile::DriverDiskProfile::from_str(&written, file, base, None)
            .unwrap_or_else(|e| panic!("a written profile does not load: {e}\n{written}"));
        assert_eq!(
            again.to_toml().ok().as_deref(),
            Some(written.as_str()),
            "a written profile loads as another one"
        );
    }
}

/// efiboot.img: list and read every file; rebuild with the first file replaced, and read the
/// result back: the same entries, the new content, every other file unchanged.
pub fn efiboot(data: &[u8]) {
    let Ok(entries) = efiboot::list(data) else {
        return;
    };
    let mut files = Vec::new();
    for e in entries.iter().filter(|e| !e.is_dir) {
        if let Ok(content) = efiboot::read_file(data, &e.path) {
            files.push((e.path.clone(), content));
        }
    }
    let _ = efiboot::efi_fallback_loader(data);
    let Some((first, _)) = files.first() else {
        return;
    };
    let new: &[u8] = b"replaced by the fuzz target\n";
    let time = efiboot::FatTime::from_unix(946_684_800);
    let Ok(rebuilt) = efiboot::rebuild(data, &[(first.as_str(), new)], 0x1234_5678, time) else {
        return;
    };
    let listed = efiboot::list(&rebuilt)
        .unwrap_or_else(|e| panic!("a rebuilt efiboot.img does not read: {e}"));
    let paths = |l: &[efiboot::FileEntry]| l.iter().map(|e| e.path.clone()).collect::<Vec<_>>();
    assert_eq!(paths(&listed), paths(&entries), "rebuild changed the tree");
    for (path, content) in &files {
        let read = efiboot::read_file(&rebuilt, path)
            .unwrap_or_else(|e| panic!("{path} unreadable after rebuild: {e}"));
        let expected = if path == first {
            new
        } else {
            content.as_slice()
        };
        assert_eq!(read, expected, "{path}: wrong content after rebuild");
    }
}
