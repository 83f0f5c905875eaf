//! What the install.img check found, remembered per image content, so that verifying another
//! ISO with the same install.img (a stock ISO and its remasters that left the installer alone,
//! or the same ISO again in a pipeline) does not decode and index it again: decoding a stock
//! install.img (about 175 MB of bzip2) is seconds of work, hashing it a tenth of one.
//!
//! One sealed file (`crate::cache_file`) per key in the cache folder, named
//! `verify-install-img-<key>`. The key is the SHA-256 of this build of isoremix (its version and
//! its executable's size and time), the paths
//! the check was asked to keep and install.img's probe (its length and first and last 64 KiB,
//! as its cached index is found), so that it is found without reading the whole image; a
//! different question or another isoremix never finds it. The file holds the digest of the
//! whole image it was made from (the one its cached index records: SHA-256s, read at twice one
//! stream's rate) and the check's whole result: the files kept from the image and the findings.
//! A remembered result is never trusted on its probe alone: `verify` judges with it while the
//! image's digest is computed beside it, and decodes the image when the digests differ. Only the result of an image that decoded is
//! kept (a read error is not remembered as a fact about the image); a file whose checksum,
//! version or key does not hold is ignored and written again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use super::{Finding, InstallImg, Severity};
use crate::cache_file::{self, Sealer, Unsealer};

const MAGIC: &[u8] = b"isoremix-verify-install-img\n";
const VERSION: u32 = 2;
/// The checks whose findings the install.img check makes.
const CHECKS: [&str; 2] = ["install-img", "modules"];

/// The memo's key for an image of this probe (`crate::initrd::index::probe`: its length and
/// first and last 64 KiB, hashed) checked keeping `wanted`, by this build of isoremix
/// ([`this_build`]); `None` (no memo) when the build cannot be told.
pub fn key(probe: &[u8; 32], wanted: &[String]) -> Option<[u8; 32]> {
    let mut h = Sha256::new();
    h.update(MAGIC);
    h.update(this_build()?);
    for w in wanted {
        h.update((w.len() as u64).to_le_bytes());
        h.update(w.as_bytes());
    }
    h.update(probe);
    Some(h.finalize().into())
}

/// What tells this build of isoremix from another: its version, and the size and modification
/// time of its executable (as ccache tells compilers apart), so that a rebuilt isoremix whose
/// checks changed without a new version number never reads what an earlier build remembered.
fn this_build() -> Option<Vec<u8>> {
    let meta = std::env::current_exe().ok()?.metadata().ok()?;
    let mtime = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    let mut id = env!("CARGO_PKG_VERSION").as_bytes().to_vec();
    id.push(0);
    id.extend_from_slice(&meta.len().to_le_bytes());
    id.extend_from_slice(&mtime.as_secs().to_le_bytes());
    id.extend_from_slice(&mtime.subsec_nanos().to_le_bytes());
    Some(id)
}

fn path_for(dir: &Path, key: &[u8; 32]) -> PathBuf {
    dir.join(format!("verify-install-img-{}", cache_file::hex(key)))
}

/// The sealed form of `found`, the result for an image of this `digest`, under `key`.
fn encode(key: &[u8; 32], digest: &[u8; 32], found: &InstallImg) -> Vec<u8> {
    let size: usize = found
        .files
        .iter()
        .map(|(p, d)| p.len() + d.len() + 16)
        .sum();
    let mut s = Sealer::new(MAGIC, VERSION, size + 64);
    s.raw(key);
    s.raw(digest);
    s.u8(u8::from(found.readable));
    s.u64(found.files.len() as u64);
    for (path, data) in &found.files {
        s.bytes(path.as_bytes());
        s.bytes(data);
    }
    s.u64(found.findings.len() as u64);
    for f in &found.findings {
        s.bytes(f.check.as_bytes());
        s.u8(match f.severity {
            Severity::Warning => 0,
            Severity::Error => 1,
        });
        s.bytes(f.message.as_bytes());
    }
    s.seal()
}

/// The result sealed in `data` and the digest of its image, when it is whole and under `key`.
fn decode(data: &[u8], key: &[u8; 32]) -> Option<(InstallImg, [u8; 32])> {
    let mut u = Unsealer::open(data, MAGIC, VERSION)?;
    if u.take(32)? != key {
        return None;
    }
    let digest: [u8; 32] = u.take(32)?.try_into().ok()?;
    let readable = match u.u8()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let mut files = BTreeMap::new();
    for _ in 0..u.count(16)? {
        let path = String::from_utf8(u.bytes()?).ok()?;
        files.insert(path, u.bytes()?);
    }
    let n = u.count(17)?;
    let mut findings = Vec::with_capacity(n);
    for _ in 0..n {
        let check = u.bytes()?;
        let check = CHECKS.into_iter().find(|c| c.as_bytes() == check)?;
        let severity = match u.u8()? {
            0 => Severity::Warning,
            1 => Severity::Error,
            _ => return None,
        };
        let message = String::from_utf8(u.bytes()?).ok()?;
        findings.push(Finding {
            check,
            severity,
            message,
        });
    }
    let found = InstallImg {
        readable,
        files,
        findings,
    };
    u.is_empty().then_some((found, digest))
}

/// The remembered result under `key` in `dir`, if there is an intact one, and the digest of the
/// image it is the result for (the caller's to check against the image).
pub fn load(dir: &Path, key: &[u8; 32]) -> Option<(InstallImg, [u8; 32])> {
    let path = path_for(dir, key);
    let found = decode(&std::fs::read(&path).ok()?, key)?;
    cache_file::mark_used(&path);
    Some(found)
}

/// Remembers `found`, the result for an image of this `digest`, under `key` in `dir` (only an
/// image that decoded; see the module doc). Errors are ignored: a cache that cannot be written
/// just means no cache.
pub fn store(dir: &Path, key: &[u8; 32], digest: &[u8; 32], found: &InstallImg) {
    if found.readable {
        let _ = cache_file::store(&path_for(dir, key), &encode(key, digest, found));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found() -> InstallImg {
        InstallImg {
            readable: true,
            files: BTreeMap::from([
                ("/answerfile.xml".to_string(), b"<installation/>".to_vec()),
                (
                    "/lib/modules/4.19/modules.dep.bin".to_string(),
                    vec![0, 1, 2],
                ),
            ]),
            findings: vec![Finding {
                check: "modules",
                severity: Severity::Warning,
                message: "stale".into(),
            }],
        }
    }

    fn same(a: &InstallImg, b: &InstallImg) -> bool {
        a.readable == b.readable && a.files == b.files && a.findings == b.findings
    }

    #[test]
    fn a_result_used_is_marked_used_for_the_cache_bound() {
        let dir = tempfile::tempdir().unwrap();
        let key = key(&[1; 32], &["/answerfile.xml".into()]).unwrap();
        store(dir.path(), &key, &[9; 32], &found());
        let path = path_for(dir.path(), &key);
        let day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
        let f = std::fs::File::open(&path).unwrap();
        f.set_modified(day_ago).unwrap();
        assert!(load(dir.path(), &key).is_some());
        assert!(f.metadata().unwrap().modified().unwrap() > day_ago);
    }

    #[test]
    fn a_result_reads_back_only_under_its_own_key_and_intact() {
        let dir = tempfile::tempdir().unwrap();
        let key = key(&[1; 32], &["/answerfile.xml".into()]).unwrap();
        store(dir.path(), &key, &[9; 32], &found());
        let (back, digest) = load(dir.path(), &key).unwrap();
        assert!(same(&back, &found()) && digest == [9; 32]);
        // Another image or another question has another key.
        let other = super::key(&[2; 32], &["/answerfile.xml".into()]).unwrap();
        assert!(load(dir.path(), &other).is_none());
        assert_ne!(other, super::key(&[1; 32], &["/other.xml".into()]).unwrap());
        // A damaged file is not used; a file moved under another key is not either.
        let path = path_for(dir.path(), &key);
        let good = std::fs::read(&path).unwrap();
        for at in [0, 40, good.len() / 2, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 1;
            std::fs::write(&path, &bad).unwrap();
            assert!(load(dir.path(), &key).is_none(), "flipped byte {at}");
        }
        std::fs::write(path_for(dir.path(), &other), &good).unwrap();
        assert!(load(dir.path(), &other).is_none());
    }

    #[test]
    fn an_image_that_did_not_decode_is_not_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let key = key(&[1; 32], &[]).unwrap();
        let failed = InstallImg {
            readable: false,
            ..found()
        };
        store(dir.path(), &key, &[9; 32], &failed);
        assert!(load(dir.path(), &key).is_none());
    }

    #[test]
    fn an_unknown_check_name_is_damage() {
        let key = key(&[1; 32], &[]).unwrap();
        let mut odd = found();
        odd.findings[0].check = "packages";
        assert!(decode(&encode(&key, &[9; 32], &odd), &key).is_none());
        assert!(decode(&encode(&key, &[9; 32], &found()), &key).is_some());
    }
}
