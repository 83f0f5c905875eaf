//! Patches and removals of a multi-block bzip2 install.img are spliced: only the blocks holding
//! the changed entries are encoded again. The referees read the result: `bunzip2 -t` accepts
//! every stream, GNU cpio unpacks it to the asked tree (every other file byte-identical to the
//! source's), and it holds what the full re-pack (`mode = "repack"`) holds. The image index is
//! cached: cached and uncached builds give the same ISO, and a damaged or stale cache file is
//! detected, ignored and written again.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::initrd::{assert_same, describe};
use common::{isoremix, pseudo_random, require, run};
use isoremix::initrd::index_cache;

const TARGET: &str = "opt/xensource/installer/constants.py";

fn sh(script: &str, dir: &Path) {
    run(Command::new("sh").arg("-c").arg(script).current_dir(dir));
}

/// A source ISO whose install.img is the sample's tree plus 4 MB of incompressible files
/// (sorted before and after the sample's, so the installer's files sit in the middle blocks),
/// packed by GNU cpio and bzip2 -9 (times, owners and inode numbers fixed: the same bytes on
/// every run, so that what the splice must do with it is too); with `overlay`, followed by zero
/// padding and a second bzip2 stream replacing /etc/hostname and adding /extra/new.txt.
fn source(d: &Path, overlay: bool) -> PathBuf {
    for tool in ["xorriso", "bzip2", "cpio", "diff"] {
        require(tool);
    }
    run(isoremix().arg("sample").arg(d.join("sample.iso")));
    let root = d.join("img-root");
    fs::create_dir_all(&root).unwrap();
    run(Command::new("xorriso")
        .args(["-osirrox", "on", "-indev"])
        .arg(d.join("sample.iso"))
        .args(["-extract", "/install.img"])
        .arg(d.join("sample-install.img")));
    sh("bzip2 -dc ../sample-install.img | cpio -idm --quiet", &root);
    for (dir, range) in [("aaa", 0..20u64), ("zzz", 20..40)] {
        fs::create_dir_all(root.join(dir)).unwrap();
        for i in range {
            fs::write(
                root.join(format!("{dir}/f{i:02}")),
                pseudo_random(100_000, i + 1),
            )
            .unwrap();
        }
    }
    sh(
        "find . -exec touch -h -d @1700000000 {} + && \
         find . | LC_ALL=C sort | cpio -o -H newc --reproducible --owner=0:0 --quiet \
         | bzip2 -9 > ../install.img",
        &root,
    );
    if overlay {
        let top = d.join("overlay-root");
        fs::create_dir_all(top.join("etc")).unwrap();
        fs::create_dir_all(top.join("extra")).unwrap();
        fs::write(top.join("etc/hostname"), "overlaid\n").unwrap();
        fs::write(top.join("extra/new.txt"), "new\n").unwrap();
        sh(
            "len=$(wc -c < ../install.img); pad=$(( (4 - len % 4) % 4 + 8 )); \
             head -c $pad /dev/zero >> ../install.img; \
             find . -exec touch -h -d @1700000000 {} + && \
             find . | LC_ALL=C sort | cpio -o -H newc --reproducible --owner=0:0 --quiet \
             | bzip2 -9 >> ../install.img",
            &top,
        );
    }
    fs::write(
        d.join("make-source.toml"),
        "[source]\niso = \"sample.iso\"\n[output]\niso = \"source.iso\"\n\
         [[iso.files]]\nsrc = \"install.img\"\ndest = \"/install.img\"\n",
    )
    .unwrap();
    run(isoremix().arg("build").arg(d.join("make-source.toml")));
    d.join("source.iso")
}

/// A unified diff changing DEFAULT_TIMEOUT in the installer's constants, made by diff(1).
fn patch(d: &Path) {
    let old = fs::read_to_string(d.join("img-root").join(TARGET)).unwrap();
    let new = old.replace("DEFAULT_TIMEOUT = 30", "DEFAULT_TIMEOUT = 5");
    assert_ne!(old, new, "the sample's constants.py changed");
    for (side, text) in [("a", &old), ("b", &new)] {
        let p = d.join(side).join(TARGET);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    let diff = Command::new("diff")
        .args(["-u", &format!("a/{TARGET}"), &format!("b/{TARGET}")])
        .current_dir(d)
        .output()
        .unwrap();
    fs::write(d.join("site.patch"), &diff.stdout).unwrap();
}

/// Builds `installer` (the `[installer]` body) on source.iso, with the cache in `cache`, and
/// moves the output to `out` (the profile's text, which the image's ids derive from, is the
/// same for every build of the same edits); returns the `--json` report.
fn build(d: &Path, installer: &str, out: &str, cache: &Path) -> serde_json::Value {
    let p = d.join(format!("{out}.toml"));
    fs::write(
        &p,
        format!(
            "[source]\niso = \"source.iso\"\n[output]\niso = \"out.iso\"\n[installer]\n{installer}"
        ),
    )
    .unwrap();
    let text = run(isoremix()
        .arg("build")
        .arg(&p)
        .arg("--json")
        .env("XDG_CACHE_HOME", cache)
        .env("SOURCE_DATE_EPOCH", "1700000000"));
    fs::rename(d.join("out.iso"), d.join(out)).unwrap();
    let start = text.find('{').unwrap();
    let end = text.rfind('}').unwrap();
    serde_json::from_str(&text[start..=end]).unwrap()
}

fn install_img(d: &Path, iso: &str) -> PathBuf {
    let img = d.join(format!("{iso}.install.img"));
    run(Command::new("xorriso")
        .args(["-osirrox", "on", "-indev"])
        .arg(d.join(iso))
        .args(["-extract", "/install.img"])
        .arg(&img));
    img
}

/// Checks every segment of `img` with `bunzip2 -t` and unpacks them in order with GNU cpio
/// (`cpio -idv`, later segments replacing files) into a new folder.
fn unpack(img: &Path) -> PathBuf {
    let file = fs::File::open(img).unwrap();
    let tree = isoremix::initrd::Tree::read(std::io::BufReader::new(file)).unwrap();
    let data = fs::read(img).unwrap();
    let dest = img.with_extension("root");
    fs::create_dir_all(&dest).unwrap();
    for (i, s) in tree.segments().iter().enumerate() {
        let seg = img.with_extension(format!("seg{i}.bz2"));
        fs::write(
            &seg,
            &data[s.offset as usize..(s.offset + s.stored_len) as usize],
        )
        .unwrap();
        run(Command::new("bunzip2").arg("-t").arg(&seg));
        sh(
            &format!(
                "bzip2 -dc '{}' | cpio -idvmu --no-absolute-filenames 2>/dev/null",
                seg.display()
            ),
            &dest,
        );
    }
    dest
}

/// The re-pack's image unpacked (every archive of every stream, in order).
fn unpack_repack(img: &Path) -> PathBuf {
    let dest = img.with_extension("root");
    fs::create_dir_all(&dest).unwrap();
    sh(
        &format!(
            "bzip2 -dc '{}' > ../repack.cpio && (while cpio -idmu --quiet --no-absolute-filenames; do :; done) < ../repack.cpio 2>/dev/null; true",
            img.display()
        ),
        &dest,
    );
    dest
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(fs::read(path).unwrap()))
}

/// The only cache file in `cache`.
fn cache_file(cache: &Path) -> PathBuf {
    let dir = cache.join("isoremix");
    let files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// Paths of the unpacked source that the edit does not touch are byte-identical after it.
fn same_except(got: &Path, want: &Path, changed: &[&str]) {
    let mut got = describe(got);
    let mut want = describe(want);
    for c in changed {
        got.remove(c.as_bytes());
        want.remove(c.as_bytes());
    }
    assert_same(&got, &want);
}

/// The build of `installer` forced to re-pack (no cache) unpacks, with GNU cpio, to the same
/// tree as `root`.
fn same_as_repack(d: &Path, installer: &str, root: &Path) {
    let repack = build(
        d,
        &format!("mode = \"repack\"\n{installer}"),
        "repack.iso",
        &d.join("no-cache"),
    );
    assert_eq!(repack["changes"]["install_img"]["strategy"], "repack");
    let repack_root = unpack_repack(&install_img(d, "repack.iso"));
    assert_same(&describe(root), &describe(&repack_root));
}

#[test]
fn a_patch_re_encodes_only_its_blocks_and_the_cache_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    source(d, false);
    patch(d);
    let cache = d.join("cache");
    let source_root = unpack(&install_img(d, "source.iso"));

    let cold = build(d, "patches = [\"site.patch\"]\n", "cold.iso", &cache);
    let change = &cold["changes"]["install_img"];
    assert_eq!(change["strategy"], "splice", "{change}");
    let why = change["why"].as_str().unwrap();
    assert!(why.contains("1 of") || why.contains("2 of"), "{why}");
    // The untouched blocks (4 of this image's 5) are the source's bytes, which the image
    // writer copies instead of the splice writing them.
    let (kept, total) = why
        .rsplit_once('(')
        .and_then(|(_, tail)| tail.split_once(" of "))
        .map(|(kept, rest)| {
            let total = rest.split_whitespace().next().unwrap();
            (kept.parse::<u64>().unwrap(), total.parse::<u64>().unwrap())
        })
        .unwrap();
    assert!(kept * 10 > total * 7, "{why}");
    // The new block ends where the old one did only thanks to added selectors (which bunzip2
    // and GNU cpio below then read).
    assert!(!why.contains("; 0 unused selectors"), "{why}");
    let img = install_img(d, "cold.iso");
    let root = unpack(&img);
    let text = fs::read_to_string(root.join(TARGET)).unwrap();
    assert!(text.contains("DEFAULT_TIMEOUT = 5") && !text.contains("= 30"));
    same_except(&root, &source_root, &[TARGET]);
    // One stream, most of it the source's bits: not a re-encoding of the whole image.
    let source_len = fs::metadata(d.join("source.iso.install.img"))
        .unwrap()
        .len();
    let len = fs::metadata(&img).unwrap().len();
    assert!(len.abs_diff(source_len) < 4096, "{len} vs {source_len}");

    // Cached: the same ISO, and the index is marked as used (newest to the cache's bound).
    let cached_file = cache_file(&cache);
    let good = fs::read(&cached_file).unwrap();
    assert!(index_cache::decode(&good).is_some());
    let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
    fs::File::open(&cached_file)
        .unwrap()
        .set_modified(day_ago)
        .unwrap();
    build(d, "patches = [\"site.patch\"]\n", "cached.iso", &cache);
    assert_eq!(sha256(&d.join("cold.iso")), sha256(&d.join("cached.iso")));
    let used = fs::metadata(&cached_file).unwrap().modified().unwrap();
    assert!(used > day_ago);

    // A damaged cache file is ignored (same ISO) and written again.
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    fs::write(&cached_file, &bad).unwrap();
    build(d, "patches = [\"site.patch\"]\n", "damaged.iso", &cache);
    assert_eq!(sha256(&d.join("cold.iso")), sha256(&d.join("damaged.iso")));
    assert_eq!(fs::read(&cached_file).unwrap(), good);

    // A well-formed index that does not fit the image (a block moved by one bit) too.
    let mut index = index_cache::decode(&good).unwrap();
    let layout = index.layouts[0].as_mut().unwrap();
    assert!(layout.blocks.len() > 2, "{} blocks", layout.blocks.len());
    layout.blocks[2].start_bit += 1;
    fs::write(&cached_file, index_cache::encode(&index)).unwrap();
    build(d, "patches = [\"site.patch\"]\n", "stale.iso", &cache);
    assert_eq!(sha256(&d.join("cold.iso")), sha256(&d.join("stale.iso")));
    assert_eq!(fs::read(&cached_file).unwrap(), good);

    // An index whose blocks all check out but which says it was made of other bytes (its
    // digest differs): the hash computed beside the write catches it, the build starts
    // again without it and says so, and the cache holds the right index again.
    let mut index = index_cache::decode(&good).unwrap();
    index.digest[0] ^= 1;
    fs::write(&cached_file, index_cache::encode(&index)).unwrap();
    let report = build(d, "patches = [\"site.patch\"]\n", "forged.iso", &cache);
    assert_eq!(sha256(&d.join("cold.iso")), sha256(&d.join("forged.iso")));
    assert_eq!(fs::read(&cached_file).unwrap(), good);
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("did not match the image"), "{warnings}");

    // The full re-pack holds the same tree.
    same_as_repack(d, "patches = [\"site.patch\"]\n", &root);
}

#[test]
fn a_removal_in_a_multi_segment_image_drops_every_copy_and_matches_the_repack() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    source(d, true);
    let cache = d.join("cache");
    let source_root = unpack(&install_img(d, "source.iso"));
    assert_eq!(
        fs::read_to_string(source_root.join("etc/hostname")).unwrap(),
        "overlaid\n"
    );

    let installer = "remove = [\"/etc/hostname\", \"/aaa/f07\"]\n";
    let cold = build(d, installer, "cold.iso", &cache);
    assert_eq!(cold["changes"]["install_img"]["strategy"], "splice");
    let root = unpack(&install_img(d, "cold.iso"));
    assert!(!root.join("etc/hostname").exists());
    assert!(!root.join("aaa/f07").exists());
    assert_eq!(
        fs::read_to_string(root.join("extra/new.txt")).unwrap(),
        "new\n"
    );
    same_except(&root, &source_root, &["etc/hostname", "aaa/f07"]);

    build(d, installer, "cached.iso", &cache);
    assert_eq!(sha256(&d.join("cold.iso")), sha256(&d.join("cached.iso")));

    same_as_repack(d, installer, &root);
}

#[test]
fn drivers_and_a_patch_share_one_read_of_install_img() {
    use common::elf::build_elf;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(isoremix().arg("sample").arg(d.join("source.iso")));
    let mut info = Vec::new();
    for e in [
        "license=GPL".as_bytes(),
        b"version=1.0",
        b"alias=pci:v00008086d0000125Csv*sd*bc*sc*i*",
        b"vermagic=4.19.0+1 SMP mod_unload modversions ",
    ] {
        info.extend_from_slice(e);
        info.push(0);
    }
    fs::write(d.join("one.ko"), build_elf(&[(".modinfo", 1, info, 0)])).unwrap();
    let motd = Command::new("sh")
        .arg("-c")
        .arg("xorriso -osirrox on -indev source.iso -extract /install.img img >/dev/null 2>&1 && bzip2 -dc img | cpio -i --to-stdout etc/motd 2>/dev/null")
        .current_dir(d)
        .output()
        .unwrap();
    // A patch that applies whatever the sample's motd holds: replace it whole.
    let old = String::from_utf8(motd.stdout).unwrap();
    let mut text = format!(
        "--- a/etc/motd\n+++ b/etc/motd\n@@ -1,{} +1 @@\n",
        old.lines().count()
    );
    for l in old.lines() {
        text.push_str(&format!("-{l}\n"));
    }
    text.push_str("+patched\n");
    fs::write(d.join("site.patch"), text).unwrap();
    fs::write(
        d.join("p.toml"),
        "[source]\niso = \"source.iso\"\n[output]\niso = \"out.iso\"\n\
         [[drivers]]\nko = [\"one.ko\"]\nname = \"one-module\"\n\
         [installer]\npatches = [\"site.patch\"]\n",
    )
    .unwrap();
    let out = isoremix()
        .arg("build")
        .arg(d.join("p.toml"))
        .env("XDG_CACHE_HOME", d.join("cache"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // The drivers step's read is the only decode: no second "reading install.img" bar.
    assert_eq!(err.matches("reading install.img").count(), 1, "{err}");
    assert!(err.contains("reading install.img's module trees"), "{err}");
    let root = unpack(&install_img(d, "out.iso"));
    assert_eq!(
        fs::read_to_string(root.join("etc/motd")).unwrap(),
        "patched\n"
    );
}
