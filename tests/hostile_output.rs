//! Faults around the output, as a user meets them through the `isoremix` binary: a write
//! killed with SIGKILL, SIGTERM or SIGINT leaves nothing in the output folder (nor, but for
//! SIGKILL until the next run, a work folder in `$TMPDIR`); an existing
//! output is refused without `--force` and replaced with it; partials of killed builds are
//! removed by the next build; `extract` copes with empty files and leaves nothing when it fails.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use common::*;
use isoremix::rpm::{FileSpec, PackageSpec, build_package};
use rustix::process::{Pid, Signal, kill_process};

/// The sample size of the kill tests: long enough to be caught mid-write.
const BIG: &str = "300000000";
/// How much of the image must be written before the kill.
const WRITTEN_BEFORE_KILL: u64 = 8 << 20;

/// One big write at a time: two cores are shared with the rest of the suite.
fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `isoremix` with its own `$TMPDIR`: `dir/tmp`.
fn isoremix_in(dir: &Path) -> Command {
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut cmd = isoremix();
    cmd.env("TMPDIR", tmp);
    cmd
}

/// Starts `isoremix sample DIR/out/big.iso --size BIG`, the fallback forced if `named`.
fn big_sample(dir: &Path, named: bool) -> Child {
    let mut cmd = isoremix_in(dir);
    cmd.arg("sample")
        .arg(dir.join("out/big.iso"))
        .args(["--size", BIG])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if named {
        cmd.env("ISOREMIX_NO_TMPFILE", "1");
    }
    cmd.spawn().unwrap()
}

/// Waits until `child` has an open file in `dir` with at least [`WRITTEN_BEFORE_KILL`] bytes
/// (an unnamed file shows in /proc as `DIR/#INODE (deleted)`); returns what /proc names it.
fn wait_for_the_image(child: &mut Child, dir: &Path) -> String {
    let fds = PathBuf::from(format!("/proc/{}/fd", child.id()));
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("isoremix sample ended ({status}) before it was caught writing");
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "isoremix sample never wrote its image into {}",
            dir.display()
        );
        for fd in std::fs::read_dir(&fds).into_iter().flatten().flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let Ok(meta) = std::fs::metadata(fd.path()) else {
                continue;
            };
            if target.starts_with(dir) && meta.len() >= WRITTEN_BEFORE_KILL {
                return target.to_string_lossy().into_owned();
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Kills a big sample write into `dir/out` with `signal` once it has written some MB;
/// returns the child's output and what /proc called the image while it was written.
fn kill_mid_write(dir: &Path, named: bool, signal: Signal) -> (Output, String) {
    let _guard = exclusive();
    let mut child = big_sample(dir, named);
    let image = wait_for_the_image(&mut child, &dir.join("out"));
    kill_process(Pid::from_child(&child), signal).unwrap();
    (child.wait_with_output().unwrap(), image)
}

fn assert_killed_by(out: &Output, signal: Signal) {
    assert_eq!(
        out.status.signal(),
        Some(signal.as_raw()),
        "{} (stderr: {})",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sigkill_mid_write_leaves_nothing_visible() {
    let dir = tempfile::tempdir().unwrap();
    let (out, image) = kill_mid_write(dir.path(), false, Signal::KILL);
    assert_killed_by(&out, Signal::KILL);
    assert!(image.ends_with("(deleted)"), "not an unnamed file: {image}");
    assert!(names(&dir.path().join("out")).is_empty());
    // The work folder of the killed run is removed by the next run.
    let tmp = dir.path().join("tmp");
    assert_eq!(names(&tmp).len(), 1, "{:?}", names(&tmp));
    run(isoremix_in(dir.path())
        .arg("sample")
        .arg(dir.path().join("small.iso")));
    assert!(names(&tmp).is_empty(), "{:?}", names(&tmp));
}

#[test]
fn sigterm_and_sigint_mid_write_leave_nothing() {
    for signal in [Signal::TERM, Signal::INT] {
        let dir = tempfile::tempdir().unwrap();
        let (out, _) = kill_mid_write(dir.path(), false, signal);
        assert_killed_by(&out, signal);
        assert_eq!(names(dir.path()), ["out", "tmp"]);
        assert!(names(&dir.path().join("out")).is_empty());
        assert!(names(&dir.path().join("tmp")).is_empty());
    }
}

#[test]
fn named_fallback_is_removed_on_sigterm_and_sigint() {
    for signal in [Signal::TERM, Signal::INT] {
        let dir = tempfile::tempdir().unwrap();
        let (out, image) = kill_mid_write(dir.path(), true, signal);
        assert_killed_by(&out, signal);
        assert!(
            image.ends_with(".partial"),
            "not the named fallback: {image}"
        );
        assert!(names(&dir.path().join("out")).is_empty());
        assert!(names(&dir.path().join("tmp")).is_empty());
    }
}

#[test]
fn named_fallback_killed_outright_is_removed_by_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let (out, image) = kill_mid_write(dir.path(), true, Signal::KILL);
    assert_killed_by(&out, Signal::KILL);
    // SIGKILL cannot be handled: the partial stays, named after its dead writer...
    let dir = dir.path().join("out");
    let left = names(&dir);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(image.ends_with(&left[0]), "{image} vs {left:?}");
    let pid = out_pid_of(&left[0]);
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    // ...until the next write into the folder.
    run(isoremix().arg("sample").arg(dir.join("small.iso")));
    assert_eq!(names(&dir), ["small.iso"]);
}

/// The PID in a partial's name `.isoremix-<pid>-XXXX.partial`.
fn out_pid_of(name: &str) -> u32 {
    let rest = name.strip_prefix(".isoremix-").expect(name);
    rest.split('-').next().unwrap().parse().expect(name)
}

/// A PID no process has: a child that has been waited for.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn stale_partials_of_dead_builds_are_removed_by_the_next_build() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let dead = dead_pid();
    let stale = out.join(format!(".isoremix-{dead}-x.partial"));
    std::fs::write(&stale, b"half an image").unwrap();
    // A partial of a running writer (this test) is left alone.
    let live = out.join(format!(".isoremix-{}-y.partial", std::process::id()));
    std::fs::write(&live, b"being written").unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out/new.iso\"\n",
    )
    .unwrap();
    run(isoremix().arg("build").arg(&profile));
    assert!(!stale.exists());
    assert!(live.exists());
    assert!(out.join("new.iso").exists());
}

/// Runs `cmd` expecting a refusal of `target`; asserts the message and that `target` and the
/// folder are as they were.
fn assert_refused_existing(cmd: &mut Command, target: &Path) {
    let dir = target.parent().unwrap();
    let (before, listing) = (std::fs::read(target).unwrap(), names(dir));
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&target.display().to_string())
            && stderr.contains("already exists")
            && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(target).unwrap(), before);
    assert_eq!(names(dir), listing);
}

#[test]
fn sample_refuses_an_existing_output_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let iso = dir.path().join("s.iso");
    std::fs::write(&iso, b"precious").unwrap();
    assert_refused_existing(isoremix().arg("sample").arg(&iso), &iso);
    run(isoremix().arg("sample").arg(&iso).arg("--force"));
    let replaced = std::fs::read(&iso).unwrap();
    assert_ne!(replaced, b"precious");
    // The same bytes as a fresh write.
    let fresh = dir.path().join("fresh.iso");
    run(isoremix().arg("sample").arg(&fresh));
    assert!(replaced == std::fs::read(&fresh).unwrap());
    assert_eq!(names(dir.path()), ["fresh.iso", "s.iso"]);
}

#[test]
fn build_refuses_an_existing_output_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "[source]\niso = \"builtin:sample\"\n[output]\niso = \"out.iso\"\n",
    )
    .unwrap();
    let iso = dir.path().join("out.iso");
    std::fs::write(&iso, b"precious").unwrap();
    assert_refused_existing(isoremix().arg("build").arg(&profile), &iso);
    // Also through -o, and for a dangling symlink in the way.
    let link = dir.path().join("link.iso");
    std::os::unix::fs::symlink("nowhere", &link).unwrap();
    let out = isoremix()
        .arg("build")
        .arg(&profile)
        .arg("-o")
        .arg(&link)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("link.iso: already exists"));
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("nowhere"));

    run(isoremix().arg("build").arg(&profile).arg("--force"));
    let text = run(isoremix().arg("inspect").arg(&iso));
    assert!(text.contains("install.img"), "{text}");
}

#[test]
fn driver_disk_refuses_an_existing_output_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = PackageSpec::new(
        "intel-igc",
        "1.0",
        "1",
        "x86_64",
        1_700_000_000,
        "test.invalid",
    );
    spec.summary = "test package".into();
    spec.files.push(FileSpec::new(
        "/lib/modules/4.19.0+1/updates/igc.ko",
        0o644,
        1_700_000_000,
        b"\x7fELF\x02\x01\x01\0fake module".to_vec(),
    ));
    let mut rpm = Vec::new();
    build_package(&spec, &mut rpm).unwrap();
    let rpm_path = dir.path().join(spec.file_name());
    std::fs::write(&rpm_path, rpm).unwrap();
    let profile = dir.path().join("dd.toml");
    std::fs::write(
        &profile,
        format!(
            "[driver_disk]\nname = \"intel-igc\"\nrpm = \"{}\"\n[output]\niso = \"dd.iso\"\n",
            rpm_path.display()
        ),
    )
    .unwrap();
    let iso = dir.path().join("dd.iso");
    std::fs::write(&iso, b"precious").unwrap();
    assert_refused_existing(isoremix().arg("driver-disk").arg(&profile), &iso);
    run(isoremix().arg("driver-disk").arg(&profile).arg("--force"));
    let text = run(isoremix().arg("inspect").arg(&iso));
    assert!(text.contains("driver disk:"), "{text}");
}

/// Packs `tree` into an ISO with xorriso (an independent writer).
fn xorriso_pack(tree: &Path, iso: &Path) {
    require("xorriso");
    run(Command::new("xorriso")
        .args(["-as", "mkisofs", "-R", "-J", "-V", "EMPTYTEST", "-o"])
        .arg(iso)
        .arg(tree));
}

/// A tree with an empty file, a folder and a last, large file (`zz.bin`).
fn tree_with_an_empty_file(dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("EMPTY"), b"").unwrap();
    std::fs::write(tree.join("sub/empty-too"), b"").unwrap();
    std::fs::write(tree.join("sub/a.txt"), b"some text\n").unwrap();
    std::fs::write(tree.join("zz.bin"), pseudo_random(1 << 20, 7)).unwrap();
    tree
}

#[test]
fn extract_writes_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let tree = tree_with_an_empty_file(dir.path());
    let iso = dir.path().join("e.iso");
    xorriso_pack(&tree, &iso);
    let out = dir.path().join("x");
    run(isoremix().arg("extract").arg(&iso).arg(&out));
    for file in ["EMPTY", "sub/empty-too", "sub/a.txt", "zz.bin"] {
        assert_eq!(
            std::fs::read(out.join(file)).unwrap(),
            std::fs::read(tree.join(file)).unwrap(),
            "{file}"
        );
    }
    // The same through a build, whose writer keeps the empty file.
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        format!(
            "[source]\niso = \"builtin:sample\"\n[output]\niso = \"b.iso\"\n\
             [[iso.files]]\nsrc = \"{}\"\ndest = \"/EMPTY\"\n",
            tree.join("EMPTY").display()
        ),
    )
    .unwrap();
    run(isoremix().arg("build").arg(&profile));
    let out = dir.path().join("y");
    run(isoremix()
        .arg("extract")
        .arg(dir.path().join("b.iso"))
        .arg(&out));
    assert_eq!(std::fs::read(out.join("EMPTY")).unwrap(), b"");
}

/// An ISO whose last file's data is cut off (the volume size patched to match), so that
/// extraction fails on it after writing everything before it.
fn cut_iso(dir: &Path) -> PathBuf {
    let tree = tree_with_an_empty_file(dir);
    let iso = dir.join("cut.iso");
    xorriso_pack(&tree, &iso);
    let mut bytes = std::fs::read(&iso).unwrap();
    let last = pseudo_random(1 << 20, 7);
    let at = bytes
        .windows(64)
        .position(|w| w == &last[..64])
        .expect("zz.bin's data in the image");
    bytes.truncate(at + 2048);
    let sectors = u32::try_from(bytes.len() / 2048).unwrap();
    let pvd = 16 * 2048;
    bytes[pvd + 80..pvd + 84].copy_from_slice(&sectors.to_le_bytes());
    bytes[pvd + 84..pvd + 88].copy_from_slice(&sectors.to_be_bytes());
    std::fs::write(&iso, bytes).unwrap();
    iso
}

/// Runs `extract` expecting it to fail on `zz.bin`, named where the user asked for it.
fn assert_extract_fails(iso: &Path, out: &Path) {
    let result = isoremix()
        .arg("extract")
        .arg(iso)
        .arg(out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    let named = format!("{}: ", out.join("zz.bin").display());
    assert!(stderr.contains(&named), "{stderr}");
}

#[test]
fn a_failed_extract_into_a_new_folder_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let iso = cut_iso(dir.path());
    let parent = dir.path().join("dest");
    std::fs::create_dir(&parent).unwrap();
    let out = parent.join("x");
    assert_extract_fails(&iso, &out);
    assert!(names(&parent).is_empty(), "{:?}", names(&parent));
}

#[test]
fn a_failed_extract_into_an_existing_folder_leaves_it_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let iso = cut_iso(dir.path());
    let out = dir.path().join("x");
    std::fs::create_dir_all(out.join("sub")).unwrap();
    std::fs::write(out.join("mine.txt"), b"mine").unwrap();
    std::fs::write(out.join("sub/mine-too"), b"mine too").unwrap();
    assert_extract_fails(&iso, &out);
    assert_eq!(names(&out), ["mine.txt", "sub"]);
    assert_eq!(names(&out.join("sub")), ["mine-too"]);
    assert_eq!(std::fs::read(out.join("mine.txt")).unwrap(), b"mine");
    assert_eq!(
        std::fs::read(out.join("sub/mine-too")).unwrap(),
        b"mine too"
    );
}
