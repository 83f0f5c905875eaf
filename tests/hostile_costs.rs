//! Inputs whose cost could be out of proportion to their size, through the command line: boot
//! menus of 20,000 entries, an install.img holding a 2,040-deep directory chain or 100,000
//! files in one directory, repodata that decompresses to half a gigabyte of whitespace, and
//! FIFOs given as inputs. Each run is timed and its peak RSS measured (`wait4`); each must end
//! within a generous ceiling with a clear error or the right result, leave no output, and
//! leave its inputs as they were. Run with `--nocapture` to see the figures.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use sha2::{Digest, Sha256};

/// How a measured run ended.
struct Outcome {
    /// The exit code.
    code: i32,
    /// What it printed on stderr.
    stderr: String,
    /// What it printed on stdout.
    stdout: String,
    /// Wall-clock seconds.
    secs: f64,
    /// Peak resident set size in KiB.
    peak_kib: u64,
}

/// Runs isoremix with `args` under GNU time (which measures the peak RSS of its own child:
/// `wait4` on a child spawned from this large test process would count this process's RSS),
/// killing it (and failing the test) after `ceiling`.
fn measured(what: &str, args: &[&std::ffi::OsStr], ceiling: Duration) -> Outcome {
    use std::os::unix::process::CommandExt;
    assert!(
        Path::new("/usr/bin/time").exists(),
        "GNU time (/usr/bin/time) is missing: install the `time` package — this test does not skip"
    );
    let report = tempfile::NamedTempFile::new().unwrap();
    let start = Instant::now();
    let mut child = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(report.path())
        .arg(isoremix().get_program())
        .args(args)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > ceiling {
            // SAFETY: signals the process group this test made for the run.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.wait();
            panic!("{what}: still running after {ceiling:?} (killed)");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let secs = start.elapsed().as_secs_f64();
    let peak_kib = std::fs::read_to_string(report.path())
        .unwrap()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("{what}: GNU time gave no peak RSS"));
    let o = Outcome {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        secs,
        peak_kib,
    };
    println!(
        "FIGURE {what}: exit {} in {:.2} s, peak RSS {} KiB",
        o.code, o.secs, o.peak_kib
    );
    o
}

/// `OsStr` views of command-line arguments.
macro_rules! args {
    ($($a:expr),* $(,)?) => {
        &[$(std::ffi::OsStr::new($a)),*]
    };
}

/// A refusal: exit code 1, a message containing every needle, under the memory ceiling.
fn assert_refused(o: &Outcome, needles: &[&str], max_kib: u64) {
    // verify reports its findings on stdout, the other commands on stderr.
    let all = format!("{}{}", o.stdout, o.stderr);
    assert_eq!(o.code, 1, "expected a refusal:\n{all}");
    for n in needles {
        assert!(all.contains(n), "the output does not mention {n:?}:\n{all}");
    }
    assert!(
        o.peak_kib <= max_kib,
        "peak RSS {} KiB over {max_kib} KiB",
        o.peak_kib
    );
}

fn sha256(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// Nothing at or beside `target` (no output, no temporary file).
fn assert_nothing_at(target: &Path) {
    assert!(!target.exists(), "{} was written", target.display());
    let dir = target.parent().unwrap();
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".isoremix"))
        .collect();
    assert!(left.is_empty(), "left beside the target: {left:?}");
}

/// An XCP-ng-shaped source ISO in `dir`, after `edit` changed its tree.
fn source_with(dir: &Path, edit: impl FnOnce(&Path)) -> PathBuf {
    let tree = dir.join("tree");
    xcpng_tree(&tree);
    edit(&tree);
    let iso = dir.join("source.iso");
    genisoimage_xcpng(&tree, &iso, false);
    std::fs::remove_dir_all(&tree).unwrap();
    iso
}

/// Debug builds are several times slower than release ones: the ceilings are for debug.
const CEILING: Duration = Duration::from_secs(60);
/// Peak RSS allowed to any hostile run.
const MAX_KIB: u64 = 300 * 1024;

// ---- boot menus ----

const MENU_ENTRIES: usize = 20_000;

fn big_isolinux() -> String {
    let mut s = String::from("DEFAULT e0\nPROMPT 1\nTIMEOUT 50\n\n");
    for i in 0..MENU_ENTRIES {
        s.push_str(&format!(
            "LABEL e{i}\n\tKERNEL mboot.c32\n\tAPPEND /boot/xen.gz dom0_mem=max:8192M console=vga --- /boot/vmlinuz console=tty0 --- /install.img\n"
        ));
    }
    s
}

fn big_grub() -> String {
    let mut s = String::from("set default=\"0\"\nset timeout=5\n\n");
    for i in 0..MENU_ENTRIES {
        s.push_str(&format!(
            "menuentry \"e{i}\" {{\n    multiboot2 /boot/xen.gz dom0_mem=max:8192M console=vga\n    module2 /boot/vmlinuz console=tty0\n    module2 /install.img\n}}\n\n"
        ));
    }
    s
}

#[test]
fn hostile_menus_of_20000_entries_are_edited_in_linear_time() {
    let dir = tempfile::tempdir().unwrap();
    let source = source_with(dir.path(), |tree| {
        std::fs::write(tree.join("boot/isolinux/isolinux.cfg"), big_isolinux()).unwrap();
        std::fs::write(tree.join("EFI/xenserver/grub.cfg"), big_grub()).unwrap();
    });
    let before = sha256(&source);
    let profile = dir.path().join("menus.toml");
    std::fs::write(
        &profile,
        "[source]\niso = \"source.iso\"\n[output]\niso = \"out.iso\"\n\
         [boot]\ndom0_args = { add = [\"hostile=1\"] }\nxen_args = { add = [\"loglvl=all\"] }\n",
    )
    .unwrap();
    let out = dir.path().join("out.iso");
    let o = measured(
        "build, 20,000-entry isolinux.cfg and grub.cfg",
        args!["build", &profile],
        Duration::from_secs(20),
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.peak_kib <= MAX_KIB, "peak RSS {} KiB", o.peak_kib);
    assert_eq!(sha256(&source), before, "the source changed");
    let built = isoremix::iso::SourceIso::open(&out).unwrap();
    for (cfg, edited) in [
        ("/boot/isolinux/isolinux.cfg", "console=tty0 hostile=1 ---"),
        ("/EFI/xenserver/grub.cfg", "console=tty0 hostile=1"),
    ] {
        let text = String::from_utf8(built.read_file(cfg).unwrap()).unwrap();
        assert_eq!(text.matches(edited).count(), MENU_ENTRIES, "{cfg}");
        assert_eq!(text.matches("loglvl=all").count(), MENU_ENTRIES, "{cfg}");
    }
}

// ---- install.img trees ----

/// A newc entry (name without NUL) of `mode` holding `data`.
fn newc_entry(out: &mut Vec<u8>, ino: u32, name: &[u8], mode: u32, data: &[u8]) {
    let namesize = name.len() + 1;
    let fields = [
        ino,
        mode,
        0,
        0,
        1,
        1_700_000_000,
        data.len() as u32,
        0,
        0,
        0,
        0,
        namesize as u32,
        0,
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    out.extend_from_slice(name);
    out.push(0);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out.extend_from_slice(data);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// A gzip-compressed newc archive of `entries` (name, mode, data), with its trailer.
fn install_img(entries: impl Iterator<Item = (Vec<u8>, u32, Vec<u8>)>) -> Vec<u8> {
    let mut cpio = Vec::new();
    for (i, (name, mode, data)) in entries.enumerate() {
        newc_entry(&mut cpio, i as u32 + 1, &name, mode, &data);
    }
    newc_entry(&mut cpio, 0, b"TRAILER!!!", 0, b"");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&cpio).unwrap();
    gz.finish().unwrap()
}

/// A chain of `depth` directories `a/a/a/...`, with a file at the bottom.
fn chain(depth: usize) -> Vec<u8> {
    install_img((1..=depth + 1).map(|d| {
        let mut name = b"a/".repeat(d);
        name.pop();
        if d > depth {
            *name.last_mut().unwrap() = b'f';
            (name, 0o100644, b"bottom\n".to_vec())
        } else {
            (name, 0o040755, Vec::new())
        }
    }))
}

fn with_install_img(dir: &Path, img: &[u8]) -> PathBuf {
    source_with(dir, |tree| {
        std::fs::write(tree.join("install.img"), img).unwrap()
    })
}

#[test]
fn hostile_initrd_2040_deep_chain_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let img = chain(2040);
    assert!(img.len() < 64_000, "the image is {} bytes", img.len());
    let iso = with_install_img(dir.path(), &img);
    let before = sha256(&iso);
    let needles = ["a/a/a/a", "components deep", "256"];
    let dest = dir.path().join("x");
    let o = measured(
        "extract --initrd, 2,040-deep chain",
        args!["extract", "--initrd", &iso, &dest],
        CEILING,
    );
    assert_refused(&o, &needles, MAX_KIB);
    assert!(!dest.exists(), "extract left {}", dest.display());
    let o = measured(
        "inspect --initrd-ls, 2,040-deep chain",
        args!["inspect", &iso, "--initrd-ls"],
        CEILING,
    );
    assert_refused(&o, &needles, MAX_KIB);
    let o = measured("inspect, 2,040-deep chain", args!["inspect", &iso], CEILING);
    assert!(o.peak_kib <= MAX_KIB);
    let all = format!("{}{}", o.stdout, o.stderr);
    assert!(all.contains("components deep"), "{all}");
    assert_eq!(sha256(&iso), before, "the source changed");
}

#[test]
fn hostile_initrd_chain_at_the_depth_limit_is_extracted() {
    let dir = tempfile::tempdir().unwrap();
    let depth = 255;
    let iso = with_install_img(dir.path(), &chain(depth));
    let dest = dir.path().join("x");
    let o = measured(
        "extract --initrd, 255-deep chain",
        args!["extract", "--initrd", &iso, &dest],
        CEILING,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mut bottom = dest.clone();
    for _ in 0..depth {
        bottom.push("a");
    }
    assert_eq!(std::fs::read(bottom.join("f")).unwrap(), b"bottom\n");
}

#[test]
fn hostile_initrd_100000_files_in_one_directory() {
    let dir = tempfile::tempdir().unwrap();
    let files = 100_000;
    let img = install_img(
        std::iter::once((b"d".to_vec(), 0o040755, Vec::new()))
            .chain((0..files).map(|i| (format!("d/f{i:06}").into_bytes(), 0o100644, Vec::new()))),
    );
    let iso = with_install_img(dir.path(), &img);
    let before = sha256(&iso);
    let dest = dir.path().join("x");
    let o = measured(
        "extract --initrd, 100,000 files in one directory",
        args!["extract", "--initrd", &iso, &dest],
        CEILING,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.peak_kib <= MAX_KIB, "peak RSS {} KiB", o.peak_kib);
    assert_eq!(std::fs::read_dir(dest.join("d")).unwrap().count(), files);
    let o = measured(
        "inspect --initrd-ls, 100,000 files in one directory",
        args!["inspect", &iso, "--initrd-ls"],
        CEILING,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.peak_kib <= MAX_KIB, "peak RSS {} KiB", o.peak_kib);
    assert!(o.stdout.lines().filter(|l| l.contains(" /d/f")).count() == files);
    let o = measured(
        "inspect, 100,000 files in one directory",
        args!["inspect", &iso],
        CEILING,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(sha256(&iso), before, "the source changed");
}

// ---- special files as inputs ----

fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

#[test]
fn hostile_fifo_as_profile_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("profile.toml");
    mkfifo(&fifo);
    let o = measured(
        "build, FIFO as the profile",
        args!["build", &fifo],
        Duration::from_secs(10),
    );
    assert_refused(&o, &["profile.toml", "FIFO"], MAX_KIB);
    assert!(o.secs < 5.0);
}

#[test]
fn hostile_fifo_as_source_or_added_file_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("added");
    mkfifo(&fifo);
    let out = dir.path().join("out.iso");
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n\
         [[iso.files]]\nsrc = \"added\"\ndest = \"/ADDED\"\n",
    )
    .unwrap();
    let o = measured(
        "build, FIFO as an added file",
        args!["build", &profile],
        Duration::from_secs(10),
    );
    assert_refused(&o, &["added", "not a regular file"], MAX_KIB);
    assert_nothing_at(&out);
    let o = measured(
        "inspect, FIFO as the ISO",
        args!["inspect", &fifo],
        Duration::from_secs(10),
    );
    assert_refused(&o, &["added", "FIFO"], MAX_KIB);
    let o = measured(
        "verify, character device as the ISO",
        args!["verify", "/dev/zero"],
        Duration::from_secs(10),
    );
    assert_refused(&o, &["/dev/zero", "character device"], MAX_KIB);
}

// ---- repodata that decompresses out of proportion ----

/// gzip of `head`, then `count` times `unit`, then `tail`, compressed as it is written.
fn gz_stream(head: &[u8], unit: &[u8], count: usize, tail: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(head).unwrap();
    let per_chunk = (1 << 20) / unit.len().max(1);
    let chunk = unit.repeat(per_chunk);
    let mut left = count;
    while left > 0 {
        let n = left.min(per_chunk);
        gz.write_all(&chunk[..n * unit.len()]).unwrap();
        left -= n;
    }
    gz.write_all(tail).unwrap();
    gz.finish().unwrap()
}

fn gz(xml: &str) -> Vec<u8> {
    gz_stream(xml.as_bytes(), b"", 0, b"")
}

/// Writes `repodata/` with `primary` (gzip bytes) and empty filelists and other, and the
/// repomd.xml that lists them with their checksums and sizes.
fn write_repodata(tree: &Path, primary: &[u8]) {
    let repodata = tree.join("repodata");
    std::fs::create_dir_all(&repodata).unwrap();
    let files = [
        ("primary", primary.to_vec()),
        ("filelists", gz("<filelists packages=\"0\"></filelists>\n")),
        ("other", gz("<otherdata packages=\"0\"></otherdata>\n")),
    ];
    let mut repomd = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\">\n  <revision>1</revision>\n",
    );
    for (kind, bytes) in &files {
        let name = format!("{kind}.xml.gz");
        std::fs::write(repodata.join(&name), bytes).unwrap();
        repomd.push_str(&format!(
            "  <data type=\"{kind}\">\n    <checksum type=\"sha256\">{}</checksum>\n    \
             <location href=\"repodata/{name}\"/>\n    <timestamp>1</timestamp>\n    \
             <size>{}</size>\n  </data>\n",
            hex::encode(Sha256::digest(bytes)),
            bytes.len()
        ));
    }
    repomd.push_str("</repomd>\n");
    std::fs::write(repodata.join("repomd.xml"), repomd).unwrap();
}

/// verify refuses the image, inspect and a build (which keeps what the source has) warn; each
/// message has every one of `needles`.
fn repodata_refused(label: &str, primary: &[u8], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let iso = source_with(dir.path(), |tree| {
        std::fs::remove_dir_all(tree.join("Packages")).unwrap();
        std::fs::create_dir(tree.join("Packages")).unwrap();
        write_repodata(tree, primary);
    });
    let before = sha256(&iso);
    let o = measured(&format!("verify, {label}"), args!["verify", &iso], CEILING);
    assert_refused(&o, needles, MAX_KIB);
    let o = measured(
        &format!("inspect, {label}"),
        args!["inspect", &iso],
        CEILING,
    );
    assert!(o.peak_kib <= MAX_KIB, "peak RSS {} KiB", o.peak_kib);
    let all = format!("{}{}", o.stdout, o.stderr);
    for n in needles {
        assert!(all.contains(n), "inspect does not mention {n:?}:\n{all}");
    }
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "[source]\niso = \"source.iso\"\n[output]\niso = \"out.iso\"\n\
         [iso]\nremove = [\"/EULA\"]\n",
    )
    .unwrap();
    // A build keeps problems the source already has, with a warning naming them.
    let o = measured(
        &format!("build, {label}"),
        args!["build", &profile],
        CEILING,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.peak_kib <= MAX_KIB, "peak RSS {} KiB", o.peak_kib);
    for n in needles {
        assert!(
            o.stderr.contains(n),
            "no warning mentions {n:?}:\n{}",
            o.stderr
        );
    }
    assert_eq!(sha256(&iso), before, "the source changed");
}

#[test]
fn hostile_repodata_half_a_gigabyte_of_whitespace_is_refused() {
    let primary = gz_stream(
        b"<?xml version=\"1.0\"?>\n<metadata packages=\"0\">",
        b" ",
        512 << 20,
        b"</metadata>\n",
    );
    assert!(primary.len() < 600_000, "{} bytes", primary.len());
    repodata_refused(
        "512 MiB of whitespace in primary.xml.gz",
        &primary,
        &["primary.xml.gz", "16 MiB of text without markup"],
    );
}

#[test]
fn hostile_repodata_beyond_the_ratio_is_refused() {
    let primary = gz_stream(
        b"<?xml version=\"1.0\"?>\n<metadata packages=\"0\">",
        b"<a/>",
        17 << 20,
        b"</metadata>\n",
    );
    repodata_refused(
        "68 MiB of tiny elements in primary.xml.gz",
        &primary,
        &["primary.xml.gz", "decompresses to more than 67108864 bytes"],
    );
}
