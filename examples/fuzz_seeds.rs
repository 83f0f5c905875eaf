//! Writes the seed inputs of the fuzz targets into `fuzz/corpus/<target>/seed-*`: small valid
//! inputs made by isoremix's own builders and its built-in sample, so fuzzing starts from the
//! shapes the parsers meet in real use.
//!
//! ```text
//! cargo run --example fuzz_seeds -- fuzz/corpus
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};

use hadris_iso::{BootEntry, ElTorito, IsoOptions};
use isoremix::boot::efiboot;
use isoremix::initrd::{Compression, compress};
use isoremix::iso::{self, SourceIso};
use isoremix::rpm::{Dep, FileSpec, PackageSpec, build_package};

#[path = "../tests/common/elf.rs"]
mod elf;

type Seeds = Vec<(&'static str, String, Vec<u8>)>;

fn main() -> Result<(), Box<dyn Error>> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let work = tempfile::tempdir()?;
    let mut seeds: Seeds = Vec::new();
    sample_seeds(work.path(), &mut seeds)?;
    iso_seeds(work.path(), &mut seeds)?;
    initrd_seeds(&mut seeds)?;
    rpm_seeds(&mut seeds)?;
    text_seeds(&mut seeds)?;
    kmod_seeds(&mut seeds)?;
    for (target, name, bytes) in &seeds {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
    }
    println!("wrote {} seeds under {}", seeds.len(), out.display());
    Ok(())
}

/// Boot configs, `.treeinfo`, repodata and an efiboot.img from the built-in sample.
fn sample_seeds(work: &Path, seeds: &mut Seeds) -> Result<(), Box<dyn Error>> {
    let path = work.join("sample.iso");
    isoremix::sample::write(&path, &isoremix::sample::Options::default())?;
    let source = SourceIso::open(&path)?;
    let read = |entry: &str| source.read_file(entry);
    seeds.push((
        "isolinux",
        "sample".into(),
        read(isoremix::boot::ISOLINUX_CFG)?,
    ));
    let grub = read(isoremix::boot::GRUB_CFG)?;
    seeds.push(("grub", "sample".into(), grub.clone()));
    let efiboot_grub = isoremix::sample::efiboot_grub_cfg(std::str::from_utf8(&grub)?);
    seeds.push((
        "grub",
        "sample-efiboot".into(),
        efiboot_grub.clone().into_bytes(),
    ));
    seeds.push(("treeinfo", "sample".into(), read(".treeinfo")?));
    let repomd_xml = read("repodata/repomd.xml")?;
    let repomd = isoremix::repo::parse_repomd(&repomd_xml)?;
    seeds.push(("repomd", "sample".into(), repomd_xml));
    let mut joined = Vec::new();
    for kind in ["primary", "filelists", "other"] {
        let rec = repomd.record(kind).ok_or("sample repomd lacks a record")?;
        let gz = read(&rec.location_href)?;
        let mut xml = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz.as_slice()), &mut xml)?;
        if !joined.is_empty() {
            joined.push(0);
        }
        joined.extend_from_slice(&xml);
    }
    seeds.push(("primary", "sample".into(), joined));
    let efi = read("EFI/xenserver/grubx64.efi")?;
    let image = efiboot::create(
        &[
            ("EFI/BOOT/BOOTX64.EFI", &efi),
            ("EFI/xenserver/grub.cfg", efiboot_grub.as_bytes()),
        ],
        32,
        0x1234_5678,
        efiboot::FatTime::from_unix(946_684_800),
    )?;
    seeds.push(("efiboot", "small".into(), image));
    let mut smallest: Option<Vec<u8>> = None;
    iso::walk(source.tree(), &mut |p, _| {
        if p.ends_with(".rpm")
            && let Ok(bytes) = source.read_file(p)
            && smallest.as_ref().is_none_or(|s| bytes.len() < s.len())
        {
            smallest = Some(bytes);
        }
    });
    seeds.push((
        "rpm",
        "sample-signed".into(),
        smallest.ok_or("no rpm in sample")?,
    ));
    Ok(())
}

/// Two small ISOs: plain, and with a BIOS El Torito entry and Joliet/Rock Ridge.
fn iso_seeds(work: &Path, seeds: &mut Seeds) -> Result<(), Box<dyn Error>> {
    let time = hadris_fs::DateTime::from_unix_seconds(1_700_000_000)?;
    let files = || {
        vec![
            (
                "a.txt".to_string(),
                hadris_fs::Content::bytes(b"hello\n".to_vec()),
            ),
            (
                "dir/b.txt".to_string(),
                hadris_fs::Content::bytes(b"world\n".to_vec()),
            ),
            (
                "boot/boot.bin".to_string(),
                hadris_fs::Content::bytes(vec![0xeb; 2048]),
            ),
        ]
    };
    let plain = IsoOptions::default().with_time(time).with_seed(1);
    let booting = plain
        .clone()
        .with_joliet()
        .with_rock_ridge()
        .with_el_torito(
            ElTorito::new()
                .with_entry(BootEntry::bios("boot/boot.bin").with_load_size(4))
                .with_catalog_path("boot/boot.cat"),
        );
    for (name, options) in [("plain", plain), ("eltorito", booting)] {
        let out = work.join(format!("{name}.iso"));
        iso::write_fresh(
            files(),
            time,
            &options,
            &out,
            iso::Existing::Replace,
            &|_, _| {},
            |_, _| Ok(()),
        )?;
        seeds.push(("iso", name.into(), std::fs::read(&out)?));
    }
    Ok(())
}

/// The small image in every compression, and two segments (plain, then bzip2).
fn initrd_seeds(seeds: &mut Seeds) -> Result<(), Box<dyn Error>> {
    let image = isoremix::fuzzing::small_image();
    for c in [
        Compression::None,
        Compression::Bzip2,
        Compression::Gzip,
        Compression::Xz,
        Compression::Zstd,
    ] {
        let bytes = compress(c, image)?;
        seeds.push(("initrd", format!("{c:?}").to_lowercase(), bytes));
    }
    let mut two = image.to_vec();
    two.extend(compress(Compression::Bzip2, image)?);
    seeds.push(("initrd", "two-segments".into(), two));
    Ok(())
}

/// An unsigned package from our builder.
fn rpm_seeds(seeds: &mut Seeds) -> Result<(), Box<dyn Error>> {
    let mut spec = PackageSpec::new("seed", "1.0", "1", "noarch", 1_700_000_000, "localhost");
    spec.requires.push(Dep::any("bash"));
    spec.files.push(FileSpec::new(
        "/etc/seed.conf",
        0o644,
        1_700_000_000,
        b"a=1\n".to_vec(),
    ));
    let mut out = Vec::new();
    build_package(&spec, &mut out)?;
    seeds.push(("rpm", "built".into(), out));
    Ok(())
}

/// Patches for the patch target's tree, the demo answer file and profile, comps.
fn text_seeds(seeds: &mut Seeds) -> Result<(), Box<dyn Error>> {
    let edit = "--- a/etc/motd\n+++ b/etc/motd\n@@ -2,3 +2,3 @@\n two\n-three\n+THREE\n four\n";
    let create = "--- /dev/null\n+++ b/opt/new\n@@ -0,0 +1,2 @@\n+new\n+file\n";
    let delete = "diff --git a/etc/hosts b/etc/hosts\ndeleted file mode 100644\n--- a/etc/hosts\n\
                  +++ /dev/null\n@@ -1,2 +0,0 @@\n-127.0.0.1 localhost\n-::1 localhost\n";
    let through_link = "--- a/motd\n+++ b/motd\n@@ -1 +1,2 @@\n one\n+one and a half\n";
    for (name, text) in [
        ("edit", edit),
        ("create", create),
        ("delete", delete),
        ("through-link", through_link),
    ] {
        seeds.push(("patch", name.into(), text.as_bytes().to_vec()));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    seeds.push((
        "patch",
        "demo".into(),
        std::fs::read(root.join("demo/patches/0001-installer-site-banner.patch"))?,
    ));
    seeds.push((
        "answerfile",
        "demo".into(),
        std::fs::read(root.join("demo/answerfile.xml"))?,
    ));
    seeds.push((
        "answerfile",
        "restore".into(),
        b"<?xml version=\"1.0\"?>\n<restore>\n  <backup-disk>sda</backup-disk>\n</restore>\n"
            .to_vec(),
    ));
    seeds.push((
        "profile",
        "demo".into(),
        std::fs::read(root.join("demo.toml"))?,
    ));
    seeds.push((
        "profile",
        "minimal".into(),
        b"[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n".to_vec(),
    ));
    let comps = isoremix::repo::driver_disk_comps("seed-update", &["seed-driver"])?;
    seeds.push(("comps", "driver-disk".into(), comps));
    Ok(())
}

/// A module with modinfo, an export and an import, plain and xz-compressed (the target reads
/// a first byte 0 as "the rest is a .ko.xz").
fn kmod_seeds(seeds: &mut Seeds) -> Result<(), Box<dyn Error>> {
    let info = b"license=GPL\0alias=pci:v00008086d*\0depends=\0vermagic=4.19.0+1 SMP mod_unload \0";
    let mut strtab = vec![0u8];
    strtab.extend_from_slice(b"printk\0");
    let mut symtab = vec![0u8; 24];
    // One undefined global symbol named at offset 1 of .strtab.
    let mut sym = vec![0u8; 24];
    sym[..4].copy_from_slice(&1u32.to_le_bytes());
    sym[4] = 0x10;
    symtab.extend(sym);
    let ko = elf::build_elf(&[
        (".modinfo", 1, info.to_vec(), 0),
        (".symtab", 2, symtab, 3),
        (".strtab", 3, strtab, 0),
        ("__ksymtab_strings", 1, b"seed_export\0".to_vec(), 0),
    ]);
    let mut xz = vec![0u8];
    xz.extend(compress(Compression::Xz, &ko)?);
    seeds.push(("kmod", "plain".into(), ko));
    seeds.push(("kmod", "xz".into(), xz));
    Ok(())
}
