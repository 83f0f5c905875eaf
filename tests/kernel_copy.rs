//! Unchanged file data copied by the kernel (`copy_file_range`): the image is the same bytes as
//! when the writer streams everything, the kernel really copies the unchanged data, and a source
//! on another filesystem (where the kernel refuses) still gives the same image.

use std::path::{Path, PathBuf};
use std::process::Command;

use isoremix::iso::{self, DataCopy, NewContent, SourceIso, WriteOptions, WriteReport};

/// Bytes of incompressible packages in the source: most of the image, unchanged by the edit.
const PADDING: u64 = 24_000_000;

/// A sample source of about 24 MB at `dir/source.iso`.
fn sample(dir: &Path) -> PathBuf {
    let path = dir.join("source.iso");
    isoremix::sample::write(
        &path,
        &isoremix::sample::Options {
            pad_to: Some(PADDING),
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

/// Opens `source`, edits it (a removal, a new file, a replaced file, bytes appended to
/// install.img, so every kind of content is written) and writes it to `out` as `copy` says.
fn edit_and_write(source: &Path, out: &Path, copy: DataCopy) -> WriteReport {
    let mut iso = SourceIso::open(source).unwrap();
    let time = hadris_fs::DateTime::from_unix_seconds(1_700_000_000).unwrap();
    iso.remove("/EULA").unwrap();
    iso.put_file("/README.site", NewContent::Bytes(b"site\n".to_vec()), time)
        .unwrap();
    iso.put_file("/LICENSES", NewContent::Bytes(vec![b'x'; 5000]), time)
        .unwrap();
    iso.put_file("/install.img", NewContent::Appended(vec![7u8; 3000]), time)
        .unwrap();
    let opts = WriteOptions {
        volume_id: None,
        time,
        seed: b"kernel copy".to_vec(),
        existing: iso::Existing::Refuse,
    };
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
