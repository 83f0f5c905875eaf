//! Files of isoremix's cache folder (`$XDG_CACHE_HOME/isoremix`, else `~/.cache/isoremix`):
//! where the folder is, the sealed form every cache file has (a magic, a version, the body,
//! then the SHA-256 of everything before it; integers little-endian, byte strings prefixed with
//! their length as a `u64`), a reader over a sealed file that refuses damage, atomic writes, and
//! the folder's bound: after each write the least recently used files are removed until at most
//! [`MAX_FILES`] files of at most [`MAX_BYTES`] in all are left (a file's modification time is
//! when it was last written or used, [`mark_used`]), so the folder does not grow with every image
//! ever built or verified.
//! What a file holds and when it may be used is its owner's business: `initrd::index_cache`
//! (install.img indexes) and `verify`'s install.img memo.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

/// The cache folder: `$XDG_CACHE_HOME/isoremix`, else `$HOME/.cache/isoremix`; `None` when
/// neither variable is set.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("isoremix"))
}

/// Lower-case hex of `bytes` (cache file names).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds a sealed cache file.
pub struct Sealer {
    out: Vec<u8>,
}

impl Sealer {
    /// Starts a file of this `magic` and `version`.
    pub fn new(magic: &[u8], version: u32, capacity: usize) -> Sealer {
        let mut out = Vec::with_capacity(capacity + magic.len() + 36);
        out.extend_from_slice(magic);
        out.extend_from_slice(&version.to_le_bytes());
        Sealer { out }
    }
    /// Appends raw bytes (fixed-size fields).
    pub fn raw(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }
    /// Appends one byte.
    pub fn u8(&mut self, v: u8) {
        self.out.push(v);
    }
    /// Appends a `u32`.
    pub fn u32(&mut self, v: u32) {
        self.raw(&v.to_le_bytes());
    }
    /// Appends a `u64`.
    pub fn u64(&mut self, v: u64) {
        self.raw(&v.to_le_bytes());
    }
    /// Appends a byte string, prefixed with its length.
    pub fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.raw(b);
    }
    /// The whole file: everything appended, then its SHA-256.
    pub fn seal(mut self) -> Vec<u8> {
        let sum = Sha256::digest(&self.out);
        self.out.extend_from_slice(&sum);
        self.out
    }
}

/// Reads the body of a sealed cache file; every read is `None` past its end.
pub struct Unsealer<'a> {
    b: &'a [u8],
}

impl<'a> Unsealer<'a> {
    /// The body of `data` when it is whole (its checksum holds) and of this `magic` and
    /// `version`; `None` otherwise.
    pub fn open(data: &'a [u8], magic: &[u8], version: u32) -> Option<Unsealer<'a>> {
        let (body, sum) = data.split_at(data.len().checked_sub(32)?);
        if Sha256::digest(body).as_slice() != sum {
            return None;
        }
        let mut u = Unsealer { b: body };
        (u.take(magic.len())? == magic && u.u32()? == version).then_some(u)
    }
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.b.get(..n)?, self.b.get(n..)?);
        self.b = rest;
        Some(head)
    }
    /// The next byte.
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    /// The next `u32`.
    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    /// The next `u64`.
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    /// A count of items of at least `min_size` bytes each; a count larger than the bytes left
    /// could hold is damage (`None`), not a huge allocation.
    pub fn count(&mut self, min_size: usize) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n.checked_mul(min_size)? <= self.b.len()).then_some(n)
    }
    /// The next length-prefixed byte string.
    pub fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.count(1)?;
        self.take(n).map(<[u8]>::to_vec)
    }
    /// Whether the whole body has been read.
    pub fn is_empty(&self) -> bool {
        self.b.is_empty()
    }
}

/// The most files the cache folder keeps (an install.img's verify result is under 1 KB).
pub const MAX_FILES: usize = 256;

/// The most bytes the cache folder's files keep in all (an index of a 640 MB install.img is
/// about 1.2 MB).
pub const MAX_BYTES: u64 = 64 << 20;

/// How old a temporary file must be before pruning takes it for one a write left behind (a
/// process killed between creating and renaming it), not one being written.
const STALE_TEMPORARY: Duration = Duration::from_secs(3600);

/// Marks the cache file at `path` as used now, so that pruning keeps it over files used less
/// recently. Errors are ignored (the file is just older to pruning).
pub fn mark_used(path: &Path) {
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.set_modified(SystemTime::now());
    }
}

/// Removes files of the cache folder `dir`, least recently used first (oldest modification time,
/// then name), until at most `max_files` files of at most `max_bytes` in all are left; `keep` is
/// never removed but counts. Temporary files of writes that did not finish (`.*.tmp`) are removed
/// once [`STALE_TEMPORARY`] old; other hidden files, and anything not a regular file, are left
/// alone. Errors are ignored (what cannot be listed or removed stays).
fn prune(dir: &Path, keep: &Path, max_files: usize, max_bytes: u64) {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    let (mut count, mut bytes) = (0usize, 0u64);
    let mut candidates = Vec::new();
    for entry in listing.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let path = entry.path();
        let name = entry.file_name();
        let shown = name.to_string_lossy();
        if shown.starts_with('.') {
            let age = now.duration_since(modified).unwrap_or_default();
            if shown.ends_with(".tmp") && age > STALE_TEMPORARY {
                let _ = std::fs::remove_file(&path);
            }
            continue;
        }
        count += 1;
        bytes += meta.len();
        if path != keep {
            candidates.push((modified, name, meta.len(), path));
        }
    }
    candidates.sort();
    for (_, _, len, path) in candidates {
        if count <= max_files && bytes <= max_bytes {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            count -= 1;
            bytes -= len;
        }
    }
}

/// Writes `data` at `path` atomically (a temporary file beside it, synced, then renamed), making
/// its folder if needed, then bounds the folder (see the module doc). Errors are the caller's to
/// report or ignore: a cache that cannot be written just means no cache.
pub fn store(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("cache"),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    match result {
        Ok(()) => prune(dir, path, MAX_FILES, MAX_BYTES),
        Err(_) => {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::names_in as names;

    #[test]
    fn sealed_files_read_back_and_refuse_damage() {
        let mut s = Sealer::new(b"magic\n", 7, 0);
        s.u8(1);
        s.u32(2);
        s.u64(3);
        s.bytes(b"four");
        let data = s.seal();
        let mut u = Unsealer::open(&data, b"magic\n", 7).unwrap();
        assert_eq!(
            (u.u8(), u.u32(), u.u64(), u.bytes()),
            (Some(1), Some(2), Some(3), Some(b"four".to_vec()))
        );
        assert!(u.is_empty() && u.u8().is_none());
        assert!(Unsealer::open(&data, b"magic\n", 8).is_none());
        assert!(Unsealer::open(&data, b"other\n", 7).is_none());
        for at in 0..data.len() {
            let mut bad = data.clone();
            bad[at] ^= 0x10;
            assert!(Unsealer::open(&bad, b"magic\n", 7).is_none(), "byte {at}");
        }
        assert!(Unsealer::open(&data[..data.len() - 1], b"magic\n", 7).is_none());
    }

    #[test]
    fn a_count_larger_than_the_data_is_refused() {
        let mut s = Sealer::new(b"m", 1, 0);
        s.u64(u64::MAX);
        let data = s.seal();
        let mut u = Unsealer::open(&data, b"m", 1).unwrap();
        assert_eq!(u.count(1), None);
    }

    #[test]
    fn stores_atomically_in_a_new_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/file");
        store(&path, b"one").unwrap();
        store(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("file")]);
    }

    fn aged(path: &Path, seconds_ago: u64) {
        let f = std::fs::File::open(path).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(seconds_ago))
            .unwrap();
    }

    #[test]
    fn pruning_removes_the_least_recently_used_first_and_never_the_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (name, ago) in [("a", 50), ("b", 40), ("c", 30), ("d", 20)] {
            std::fs::write(d.join(name), [0u8; 100]).unwrap();
            aged(&d.join(name), ago);
        }
        // "a" is the oldest written, but used since: "b" goes first.
        mark_used(&d.join("a"));
        prune(d, &d.join("c"), 3, u64::MAX);
        assert_eq!(names(d), ["a", "c", "d"]);
        // By bytes: 300 in three files, at most 150 kept; "c" is the oldest but kept.
        prune(d, &d.join("c"), usize::MAX, 150);
        assert_eq!(names(d), ["c"]);
        // Within both bounds nothing goes.
        prune(d, &d.join("none"), 1, 100);
        assert_eq!(names(d), ["c"]);
    }

    #[test]
    fn pruning_removes_only_stale_temporary_files_and_leaves_other_hidden_files_and_folders() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("folder")).unwrap();
        std::fs::write(d.join(".old.1.tmp"), b"x").unwrap();
        aged(&d.join(".old.1.tmp"), 2 * STALE_TEMPORARY.as_secs());
        std::fs::write(d.join(".new.2.tmp"), b"x").unwrap();
        std::fs::write(d.join(".other"), b"x").unwrap();
        aged(&d.join(".other"), 2 * STALE_TEMPORARY.as_secs());
        prune(d, &d.join("none"), 0, 0);
        assert_eq!(names(d), [".new.2.tmp", ".other", "folder"]);
    }

    #[test]
    fn every_store_bounds_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for i in 0..MAX_FILES + 5 {
            let path = d.join(format!("f{i:04}"));
            store(&path, b"one").unwrap();
            aged(&path, (MAX_FILES + 5 - i) as u64);
        }
        let left = names(d);
        assert_eq!(left.len(), MAX_FILES);
        assert_eq!(left[0], "f0005");
        let last = d.join(format!("f{:04}", MAX_FILES + 4));
        assert!(last.exists());
    }
}
