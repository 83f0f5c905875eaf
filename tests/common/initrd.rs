//! install.img tests: referee tools (GNU cpio, bzip2, gzip, xz, zstd, unmkinitramfs, patch,
//! qemu), sample trees, a comparable description of a directory, and newc archives and edits
//! made with our writer.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

use isoremix::initrd::NewcHeader as Header;
use isoremix::initrd::{Content, NewcWriter, PutEntry, PutKind};

use super::{have, require};

/// The time of the entries the tests put into an image.
pub const EDIT_TIME: u32 = 1_700_000_000;

/// A root-owned entry of `kind` at `path` with `mode`, dated [`EDIT_TIME`].
pub fn put_entry(path: &[u8], kind: PutKind, mode: u32) -> PutEntry {
    PutEntry {
        path: path.to_vec(),
        kind,
        mode,
        uid: 0,
        gid: 0,
        mtime: EDIT_TIME,
    }
}

/// A root-owned file holding `content` at `path` with `mode`, dated [`EDIT_TIME`].
pub fn put_bytes(path: &[u8], content: &[u8], mode: u32) -> PutEntry {
    put_entry(path, PutKind::File(Content::Bytes(content.to_vec())), mode)
}

/// A newc archive of `entries` (header, name, data) made by our writer.
pub fn newc_archive(entries: &[(Header, Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut w = NewcWriter::new(Vec::new());
    for (h, name, data) in entries {
        w.append_bytes(h, name, data).unwrap();
    }
    w.finish().unwrap()
}

/// Runs a shell command in `dir` with `stdin`, returns stdout; panics with stderr on failure.
pub fn sh(cmd: &str, dir: &Path, stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{cmd}`: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    let _ = writer.join();
    assert!(
        out.status.success(),
        "`{cmd}` failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A newc archive of `dir` made by GNU cpio (`find . | sort | cpio -o -H newc`).
pub fn gnu_cpio(dir: &Path) -> Vec<u8> {
    require("cpio");
    sh("find . | LC_ALL=C sort | cpio -o -H newc --quiet", dir, b"")
}

/// Compresses with the command-line tool of `kind` ("bzip2", "gzip", "xz", "zstd"). The zstd
/// tool is only recommended by initramfs-tools: without it, the zstd crate compresses instead.
pub fn cli_compress(kind: &str, data: &[u8]) -> Vec<u8> {
    if kind == "zstd" && !have("zstd") {
        eprintln!("zstd command missing: compressing the zstd layer with the zstd crate");
        return zstd::encode_all(data, 3).unwrap();
    }
    require(kind);
    let cmd = match kind {
        "bzip2" => "bzip2 -9 -c",
        "gzip" => "gzip -9 -n -c",
        "xz" => "xz --check=crc32 -c",
        "zstd" => "zstd -q -c",
        other => panic!("unknown compressor {other}"),
    };
    sh(cmd, Path::new("/"), data)
}

/// Extracts with GNU cpio every archive of an uncompressed stream of consecutive archives (each
/// padded to 512 bytes) into `dest`, later entries replacing earlier ones (`-u`).
pub fn cpio_extract_all(stream: &[u8], dest: &Path) {
    require("cpio");
    fs::create_dir_all(dest).unwrap();
    let file = dest.with_extension("cpio-stream");
    fs::write(&file, stream).unwrap();
    let cmd = format!(
        "n=0; while cpio -idmu --quiet --no-absolute-filenames 2>/tmp/.cpio-err-$$; do n=$((n+1)); done < '{}'; \
         grep -qv 'premature end of archive' /tmp/.cpio-err-$$ && cat /tmp/.cpio-err-$$ >&2 && exit 1; echo $n",
        file.display()
    );
    let out = sh(&cmd, dest, b"");
    let n: u32 = String::from_utf8_lossy(&out).trim().parse().unwrap_or(0);
    assert!(n >= 1, "GNU cpio extracted no archive");
    fs::remove_file(&file).unwrap();
}

/// A comparable description of every path under `dir`: type, permission bits, content or
/// target, mtime of files, and hard-link groups.
pub fn describe(dir: &Path) -> BTreeMap<Vec<u8>, String> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<(u64, u64), Vec<u8>> = BTreeMap::new();
    walk(dir, dir, &mut out, &mut inodes);
    out
}

fn walk(
    root: &Path,
    dir: &Path,
    out: &mut BTreeMap<Vec<u8>, String>,
    inodes: &mut BTreeMap<(u64, u64), Vec<u8>>,
) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let rel = p
            .strip_prefix(root)
            .unwrap()
            .as_os_str()
            .as_bytes()
            .to_vec();
        let m = fs::symlink_metadata(&p).unwrap();
        let ft = m.file_type();
        let perm = m.permissions().mode() & 0o7777;
        let desc = if ft.is_dir() {
            walk(root, &p, out, inodes);
            format!("dir {perm:o}")
        } else if ft.is_symlink() {
            format!("symlink -> {}", fs::read_link(&p).unwrap().display())
        } else if ft.is_file() {
            let content = fs::read(&p).unwrap();
            let mut d = format!(
                "file {perm:o} mtime {} {}",
                m.mtime(),
                content.escape_ascii()
            );
            if m.nlink() > 1 {
                let first = inodes.entry((m.dev(), m.ino())).or_insert(rel.clone());
                d.push_str(&format!(" hardlink-group {}", first.escape_ascii()));
            }
            d
        } else {
            format!("special {:o}", m.mode())
        };
        out.insert(rel, desc);
    }
}

/// Asserts two descriptions are equal, showing the differing paths.
pub fn assert_same(got: &BTreeMap<Vec<u8>, String>, want: &BTreeMap<Vec<u8>, String>) {
    let mut diffs = Vec::new();
    for (k, v) in want {
        match got.get(k) {
            Some(g) if g == v => {}
            Some(g) => diffs.push(format!("{}: got {g}, want {v}", k.escape_ascii())),
            None => diffs.push(format!("{}: missing (want {v})", k.escape_ascii())),
        }
    }
    for (k, g) in got {
        if !want.contains_key(k) {
            diffs.push(format!("{}: unexpected ({g})", k.escape_ascii()));
        }
    }
    assert!(diffs.is_empty(), "trees differ:\n{}", diffs.join("\n"));
}

/// Writes a file with a mode and mtime.
pub fn put(dir: &Path, rel: &[u8], content: &[u8], mode: u32) {
    let p = dir.join(std::ffi::OsStr::from_bytes(rel));
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, content).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
}

/// Sets every mtime under `dir` (symlinks included) to `t`.
pub fn set_times(dir: &Path, t: u64) {
    sh(&format!("find . -exec touch -h -d @{t} {{}} +"), dir, b"");
}

/// The base sample: directories, files with modes, a symlink, a hard-link pair, a FIFO, a
/// non-UTF-8 name, an empty file and a larger file.
pub fn sample_base(dir: &Path) {
    put(
        dir,
        b"etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\n",
        0o644,
    );
    put(dir, b"etc/hosts", b"127.0.0.1 localhost\n", 0o644);
    put(
        dir,
        b"etc/installer.conf",
        b"a = 1\nb = 2\nc = 3\nd = 4\ne = 5\nf = 6\n",
        0o600,
    );
    put(dir, b"bin/sh", b"#!busybox\n", 0o755);
    put(dir, b"weird\xff name", b"bytes name\n", 0o644);
    put(dir, b"empty", b"", 0o644);
    let big: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    put(dir, b"usr/share/big.bin", &big, 0o644);
    put(dir, b"usr/share/doc/readme", b"read me\n", 0o444);
    put(dir, b"boot/blob.bin", &big[..100_000], 0o644);
    put(dir, b"lib/a", b"shared inode\n", 0o644);
    fs::hard_link(dir.join("lib/a"), dir.join("lib/b")).unwrap();
    std::os::unix::fs::symlink("sh", dir.join("bin/link")).unwrap();
    fs::create_dir_all(dir.join("run")).unwrap();
    sh("mkfifo run/fifo", dir, b"");
    fs::create_dir_all(dir.join("tmp")).unwrap();
    fs::set_permissions(dir.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    set_times(dir, 1_600_000_000);
}

/// A Debian amd64 kernel (`vmlinuz`) downloaded at run time into the test cache
/// (`$ISOREMIX_TEST_CACHE`, else `target/test-cache`), never into the source tree.
pub fn debian_kernel() -> std::path::PathBuf {
    require("apt-get");
    require("dpkg-deb");
    let cache = std::env::var_os("ISOREMIX_TEST_CACHE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-cache"));
    fs::create_dir_all(&cache).unwrap();
    let script = "set -e
        if ! ls boot/vmlinuz-* >/dev/null 2>&1; then
          pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \\(linux-image-[0-9].*\\)$/\\1/p' | head -n1)
          test -n \"$pkg\" || { echo 'cannot find the linux-image package behind linux-image-amd64' >&2; exit 1; }
          ls ${pkg}_*.deb >/dev/null 2>&1 || apt-get download \"$pkg\" >/dev/null 2>&1 || { echo \"apt-get download $pkg failed\" >&2; exit 1; }
          dpkg-deb --fsys-tarfile ${pkg}_*.deb | tar -x --wildcards './boot/vmlinuz-*'
        fi
        ls boot/vmlinuz-* | head -n1";
    let out = sh(script, &cache, b"");
    cache.join(String::from_utf8_lossy(&out).trim())
}

/// Boots `kernel` with `initrd` in qemu (TCG) and returns the serial console output.
pub fn boot(kernel: &Path, initrd: &Path) -> String {
    require("qemu-system-x86_64");
    require("timeout");
    let log = initrd.with_extension("serial.log");
    let cmd = format!(
        "timeout 600 qemu-system-x86_64 -accel tcg -m 512 -nodefaults -display none -no-reboot \
         -kernel '{}' -initrd '{}' -append 'console=ttyS0 panic=-1 loglevel=1 rdinit=/init' \
         -serial file:'{}'",
        kernel.display(),
        initrd.display(),
        log.display()
    );
    sh(&cmd, Path::new("/"), b"");
    String::from_utf8_lossy(&fs::read(&log).unwrap()).replace('\r', "")
}
