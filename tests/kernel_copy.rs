//! Unchanged file data copied by the kernel (`copy_file_range`): the image is the same bytes as
//! when the writer streams everything, the kernel really copies the unchanged data, and a source
//! on another filesystem (where the kernel refuses) still gives the same image.

use std::path::{Path, PathBuf};
use std::process::Command;

use isoremix::iso::{self, DataCopy, NewContent, SourceIso, WriteOptions, WriteReport};

mod common;

/// Bytes of incompressible packages in the source: most of the image, unchanged by the edit.
const PADDING: u64 = 24_000_000;

/// A sample source of about 24 MB at `dir/source.iso`.
fn sample(dir: &Path) -> PathBuf {
    sample_padded(dir, PADDING)
}

/// A sample source at `dir/source.iso` with `padding` bytes of packages (in 32 MiB ones).
fn sample_padded(dir: &Path, padding: u64) -> PathBuf {
    let path = dir.join("source.iso");
    isoremix::sample::write(
        &path,
        &isoremix::sample::Options {
            pad_to: Some(padding),
            progress: isoremix::progress::Progress::hidden(),
            ..Default::default()
        },
    )
    .unwrap();
    path
}

/// A folder in the build's target folder (a real disk filesystem, unlike /dev/shm).
fn target_dir() -> tempfile::TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
}

/// `source` opened, with a file removed and one added, and the options that write it (`last`
/// laid out last).
fn edited(source: &Path, last: Option<&str>) -> (SourceIso, WriteOptions) {
    let mut iso = SourceIso::open(source).unwrap();
    let time = hadris_fs::DateTime::from_unix_seconds(1_700_000_000).unwrap();
    iso.remove("/EULA").unwrap();
    iso.put_file("/README.site", NewContent::Bytes(b"site\n".to_vec()), time)
        .unwrap();
    let opts = WriteOptions {
        volume_id: None,
        time,
        seed: b"kernel copy".to_vec(),
        existing: iso::Existing::Refuse,
        last: last.map(str::to_string),
    };
    (iso, opts)
}

/// Opens `source`, edits it (a removal, a new file, a replaced file, bytes appended to
/// install.img, so every kind of content is written) and writes it to `out` as `copy` says.
fn edit_and_write(source: &Path, out: &Path, copy: DataCopy) -> WriteReport {
    let (mut iso, opts) = edited(source, None);
    let time = opts.time;
    iso.put_file("/LICENSES", NewContent::Bytes(vec![b'x'; 5000]), time)
        .unwrap();
    iso.put_file("/install.img", NewContent::Appended(vec![7u8; 3000]), time)
        .unwrap();
    iso::write_with(&mut iso, out, &opts, copy, &|_| {}).unwrap()
}

fn same_bytes(a: &Path, b: &Path) {
    let (x, y) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert_eq!(
        x.len(),
        y.len(),
        "{} and {} differ in length",
        a.display(),
        b.display()
    );
    let first = x.iter().zip(&y).position(|(p, q)| p != q);
    assert_eq!(
        first,
        None,
        "{} and {} differ at byte {first:?}",
        a.display(),
        b.display()
    );
}

#[test]
fn the_kernel_copies_the_unchanged_data_and_the_image_is_the_same_as_streamed() {
    let dir = target_dir();
    let source = sample(dir.path());
    let kernel = dir.path().join("kernel.iso");
    let stream = dir.path().join("stream.iso");
    let by_kernel = edit_and_write(&source, &kernel, DataCopy::Kernel);
    let by_stream = edit_and_write(&source, &stream, DataCopy::Stream);
    same_bytes(&kernel, &stream);
    assert_eq!(by_kernel.size, by_stream.size);
    // Source and output share a filesystem here: the padding packages (almost all of the
    // image) went through the kernel, in whole sectors; the forced stream copied nothing.
    assert!(
        by_kernel.kernel_copied >= PADDING * 9 / 10,
        "only {} bytes copied by the kernel",
        by_kernel.kernel_copied
    );
    assert_eq!(by_kernel.kernel_copied % 2048, 0);
    assert!(by_kernel.kernel_copied < by_kernel.size);
    assert_eq!(by_stream.kernel_copied, 0);

    // The image reads back: install.img is its source bytes followed by the appended ones.
    let before = SourceIso::open(&source)
        .unwrap()
        .read_file("/install.img")
        .unwrap();
    let after = SourceIso::open(&kernel).unwrap();
    let img = after.read_file("/install.img").unwrap();
    assert_eq!(img.len(), before.len() + 3000);
    assert_eq!(&img[..before.len()], &before[..]);
    assert!(img[before.len()..].iter().all(|&b| b == 7));
    assert!(!after.exists("/EULA"));
}

#[test]
fn a_source_on_another_filesystem_gives_the_same_image() {
    let shm = Path::new("/dev/shm");
    assert!(
        shm.is_dir(),
        "/dev/shm is needed: a source on a second filesystem"
    );
    let elsewhere = tempfile::tempdir_in(shm).unwrap();
    let dir = target_dir();
    let source = sample(elsewhere.path());
    assert_ne!(
        device_of(&source),
        device_of(dir.path()),
        "/dev/shm and the target folder are one filesystem"
    );
    let kernel = dir.path().join("kernel.iso");
    let stream = dir.path().join("stream.iso");
    let by_kernel = edit_and_write(&source, &kernel, DataCopy::Kernel);
    edit_and_write(&source, &stream, DataCopy::Stream);
    same_bytes(&kernel, &stream);
    // Whatever the kernel did (refused across filesystems, or copied), the image is whole.
    assert!(by_kernel.kernel_copied < by_kernel.size);
}

fn device_of(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().dev()
}

#[test]
fn the_command_line_builds_the_same_image_with_streaming_forced() {
    let dir = target_dir();
    sample(dir.path());
    std::fs::write(dir.path().join("README.site"), "site readme\n").unwrap();
    std::fs::write(
        dir.path().join("edit.toml"),
        "[source]\niso = \"source.iso\"\n[output]\niso = \"out.iso\"\n[iso]\nremove = [\"/EULA\"]\n\
         [[iso.files]]\nsrc = \"README.site\"\ndest = \"/README.site\"\n",
    )
    .unwrap();
    let build = |out: &str, stream: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_isoremix"));
        cmd.current_dir(dir.path())
            .args(["build", "--quiet", "edit.toml", "--output", out])
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .env_remove(iso::STREAM_COPY_VAR);
        if stream {
            cmd.env(iso::STREAM_COPY_VAR, "1");
        }
        let status = cmd.status().unwrap();
        assert!(status.success(), "isoremix build --output {out} failed");
        dir.path().join(out)
    };
    same_bytes(&build("kernel.iso", false), &build("stream.iso", true));
}

#[test]
fn unchanged_large_files_keep_their_offset_modulo_64_kib() {
    let dir = target_dir();
    let source = sample_padded(dir.path(), 100_000_000);
    let out = dir.path().join("out.iso");
    // The removal before them moves every later file by a sector.
    edit_and_write(&source, &out, DataCopy::Kernel);
    let (before, after) = (
        common::xorriso_layout(&source),
        common::xorriso_layout(&out),
    );
    let large: Vec<&String> = before
        .iter()
        .filter(|(path, (_, size))| *size >= 1 << 20 && path.starts_with("/Packages/"))
        .map(|(path, _)| path)
        .collect();
    assert!(large.len() >= 3, "the sample has too few large packages");
    for path in large {
        let (from, size) = before[path];
        let (to, new_size) = after[path];
        assert_eq!(size, new_size, "{path} changed size");
        assert_eq!(
            (to.wrapping_sub(from)) % (64 << 10),
            0,
            "{path} moved from byte {from} to {to}: not a multiple of 64 KiB"
        );
    }
    // The padding costs less than 64 KiB per large file.
    let (src_len, out_len) = (
        std::fs::metadata(&source).unwrap().len(),
        std::fs::metadata(&out).unwrap().len(),
    );
    assert!(out_len < src_len + (1 << 20), "{src_len} → {out_len}");
    // And what xorriso extracts of a moved package is its source bytes.
    let extract = |iso: &Path, to: &Path| {
        let status = Command::new("xorriso")
            .args(["-osirrox", "on", "-indev"])
            .arg(iso)
            .args(["-extract", "/Packages"])
            .arg(to)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "xorriso -extract from {}", iso.display());
    };
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    extract(&source, &a);
    extract(&out, &b);
    for entry in std::fs::read_dir(&a).unwrap() {
        let name = entry.unwrap().file_name();
        same_bytes(&a.join(&name), &b.join(&name));
    }
}

/// `edit_and_write`'s edits with install.img laid out last, written by `iso::write_if`; with
/// `ahead`, the other files' data is copied ahead from just before install.img's new content is
/// set, and `between` changes the tree after that start.
fn write_late(
    source: &Path,
    out: &Path,
    copy: DataCopy,
    ahead: bool,
    between: impl FnOnce(&mut SourceIso),
) -> WriteReport {
    let (mut iso, opts) = edited(source, Some("/install.img"));
    let time = opts.time;
    let started = match ahead {
        true => iso::Prewrite::start(&mut iso, out, &opts, copy).unwrap(),
        false => None,
    };
    assert_eq!(started.is_some(), ahead && copy == DataCopy::Kernel);
    between(&mut iso);
    // install.img's new content: its source bytes cut in two around new ones, as a splice
    // makes it.
    let len = iso.read_file("/install.img").unwrap().len() as u64;
    let spans = vec![
        iso::Span::Source {
            offset: 0,
            len: len / 2,
        },
        iso::Span::Bytes(vec![9u8; 777]),
        iso::Span::Source {
            offset: len / 2 + 100,
            len: len - len / 2 - 100,
        },
    ];
    iso.put_file("/install.img", NewContent::Spans(spans), time)
        .unwrap();
    iso::write_if(&mut iso, out, &opts, copy, &|_| {}, || true, started)
        .unwrap()
        .unwrap()
}

#[test]
fn data_copied_ahead_of_the_late_file_gives_the_same_image_as_streamed() {
    let dir = target_dir();
    let source = sample(dir.path());
    let (ahead, stream) = (dir.path().join("ahead.iso"), dir.path().join("stream.iso"));
    let by_ahead = write_late(&source, &ahead, DataCopy::Kernel, true, |_| {});
    let by_stream = write_late(&source, &stream, DataCopy::Stream, true, |_| {});
    same_bytes(&ahead, &stream);
    // The packages and install.img's kept bytes were copied ahead, none of it again.
    assert!(
        by_ahead.copied_ahead >= PADDING * 9 / 10,
        "only {} bytes copied ahead",
        by_ahead.copied_ahead
    );
    assert_eq!(by_ahead.copied_ahead, by_ahead.kernel_copied);
    assert_eq!(by_stream.copied_ahead, 0);
    // install.img is the last file's data, and reads back as its pieces.
    let layout = common::xorriso_layout(&ahead);
    let last = layout.iter().max_by_key(|(_, (at, _))| *at).unwrap();
    assert_eq!(last.0, "/install.img");
    let before = SourceIso::open(&source)
        .unwrap()
        .read_file("/install.img")
        .unwrap();
    let img = SourceIso::open(&ahead)
        .unwrap()
        .read_file("/install.img")
        .unwrap();
    let half = before.len() / 2;
    assert_eq!(&img[..half], &before[..half]);
    assert!(img[half..half + 777].iter().all(|&b| b == 9));
    assert_eq!(&img[half + 777..], &before[half + 100..]);
}

#[test]
fn a_tree_changed_after_the_copies_started_still_gives_the_right_image() {
    let dir = target_dir();
    let source = sample(dir.path());
    let (ahead, plain) = (dir.path().join("ahead.iso"), dir.path().join("plain.iso"));
    // Set after the copies ahead started: a larger file early in the image (every later file
    // moves, so what was copied ahead is in the wrong place), or the largest package made of
    // its own bytes turned by 64 KiB (the same place and length, other bytes).
    fn grow(iso: &mut SourceIso) {
        let time = hadris_fs::DateTime::from_unix_seconds(1_700_000_000).unwrap();
        iso.put_file("/LICENSES", NewContent::Bytes(vec![b'x'; 300_000]), time)
            .unwrap();
    }
    fn turn(iso: &mut SourceIso) {
        let time = hadris_fs::DateTime::from_unix_seconds(1_700_000_000).unwrap();
        let (largest, len) = iso::files(iso.tree())
            .into_iter()
            .filter(|(path, _)| path.starts_with("/Packages/"))
            .map(|(path, content)| (path, content.len()))
            .max_by_key(|(_, len)| *len)
            .unwrap();
        // By 64 KiB: the writer places it where it was (see `unchanged_large_files_keep_...`).
        let turned = vec![
            iso::Span::Source {
                offset: 64 << 10,
                len: len - (64 << 10),
            },
            iso::Span::Source {
                offset: 0,
                len: 64 << 10,
            },
        ];
        iso.put_file(&largest, NewContent::Spans(turned), time)
            .unwrap();
    }
    for between in [grow, turn] {
        let _ = std::fs::remove_file(&ahead);
        let _ = std::fs::remove_file(&plain);
        write_late(&source, &ahead, DataCopy::Kernel, true, between);
        write_late(&source, &plain, DataCopy::Kernel, false, between);
        same_bytes(&ahead, &plain);
    }
}
