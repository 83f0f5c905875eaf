//! The repository as the installer and its yum read it: repomd.xml, each data file against its
//! record (size, checksum, open-checksum, a compression yum 3 reads), and primary.xml as the
//! installer's media check pairs it (host-installer `YumRepository._parse_repodata`: every
//! `location`, `size` and `checksum type="sha256"` element in document order, zipped).

use std::collections::{BTreeMap, BTreeSet};

use quick_xml::events::Event;
use quick_xml::reader::Reader;
use sha2::{Digest, Sha256};

use super::{Finding, Severity};
use crate::iso::{self, SourceIso};
use crate::repo::bounded::{Bounded, Compression as BoundedKind};
use crate::repo::{self, Record, Repomd, reader};
use crate::xcpng;

/// One package as the media check sees it: the n-th `location`, `size` and sha256 `checksum`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaEntry {
    /// `location href`, relative to the repository root.
    pub href: String,
    /// `size package`.
    pub size: u64,
    /// The sha256 checksum (lower case).
    pub sha256: String,
}

/// What reading the repository gave.
#[derive(Debug, Default)]
pub struct Repodata {
    /// The packages' records (primary, filelists, other), when readable.
    pub records: Vec<Record>,
    /// The media check's entries, when primary.xml could be paired.
    pub media: Vec<MediaEntry>,
    /// The comps file, if the repository has one.
    pub groups: Option<Vec<u8>>,
    /// repomd.xml as the image holds it, when it could be read (its signature is judged on
    /// these bytes, so the file is read once).
    pub repomd: Option<Vec<u8>>,
    /// What is wrong.
    pub findings: Vec<Finding>,
}

fn error(message: String) -> Finding {
    Finding {
        check: "repodata",
        severity: Severity::Error,
        message,
    }
}

/// Reads and checks the repository of `source` (the files, not the packages).
pub fn check(source: &SourceIso) -> Repodata {
    let mut out = Repodata::default();
    let read = source.read_file(xcpng::REPOMD);
    let parsed = match &read {
        Ok(bytes) => repo::repomd::parse_repomd(bytes).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    out.repomd = read.ok();
    let repomd = match parsed {
        Ok(r) => r,
        Err(why) => {
            out.findings
                .push(error(format!("repodata/repomd.xml: {why}")));
            return out;
        }
    };
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for rec in &repomd.records {
        match data_file(source, rec) {
            Ok(bytes) => {
                files.insert(rec.location_href.clone(), bytes);
            }
            Err(why) => out.findings.push(error(format!(
                "{} ({}): {why}",
                rec.location_href, rec.kind
            ))),
        }
    }
    for kind in ["primary", "filelists", "other"] {
        if repomd.record(kind).is_none() {
            out.findings
                .push(error(format!("repodata/repomd.xml has no {kind} record")));
        }
    }
    if !out.findings.is_empty() {
        return out;
    }
    let open = |href: &str| -> Result<Vec<u8>, repo::Error> {
        files
            .get(href)
            .cloned()
            .ok_or_else(|| repo::Error::MissingData {
                kind: href.to_string(),
            })
    };
    match reader::read_repo(&repomd, open) {
        Ok(records) => out.records = records,
        Err(e) => out.findings.push(error(e.to_string())),
    }
    out.groups = groups(&repomd, &files, &mut out.findings);
    if let Some(primary) = repomd.record("primary")
        && let Some(bytes) = files.get(&primary.location_href)
    {
        match media_entries(bytes) {
            Ok(media) => out.media = media,
            Err(why) => out.findings.push(error(format!(
                "{}: the installer's media check: {why}",
                primary.location_href
            ))),
        }
    }
    out
}

fn groups(
    repomd: &Repomd,
    files: &BTreeMap<String, Vec<u8>>,
    findings: &mut Vec<Finding>,
) -> Option<Vec<u8>> {
    let found = reader::read_groups(repomd, |href| {
        files
            .get(href)
            .cloned()
            .ok_or_else(|| repo::Error::MissingData {
                kind: href.to_string(),
            })
    });
    match found {
        Ok(g) => g.map(|(_, xml)| xml),
        Err(e) => {
            findings.push(error(format!("comps: {e}")));
            None
        }
    }
}

/// A data file of repomd.xml, checked against its record: present, size, checksum, a
/// compression yum 3 reads, and the checksum and size of its content.
fn data_file(source: &SourceIso, rec: &repo::RepomdRecord) -> Result<Vec<u8>, String> {
    let path = format!("/{}", rec.location_href);
    if rec.location_href.is_empty() || rec.location_href.split('/').any(|c| c == "..") {
        return Err("not a path inside the repository".into());
    }
    let bytes = source
        .read_file(&path)
        .map_err(|_| "missing from the image".to_string())?;
    if bytes.len() as u64 != rec.size {
        return Err(format!(
            "{} bytes, repomd.xml says {}",
            bytes.len(),
            rec.size
        ));
    }
    let sum = digest(&rec.checksum_type, &bytes)?;
    if !sum.eq_ignore_ascii_case(&rec.checksum) {
        return Err(format!(
            "{} checksum {sum}, repomd.xml says {}",
            rec.checksum_type, rec.checksum
        ));
    }
    let compression = compression(&bytes);
    if rec.kind == "primary" && compression != Some("gzip") {
        return Err(format!(
            "primary must be gzip-compressed: the installer reads it with Python's gzip module (it is {})",
            compression.unwrap_or("not compressed")
        ));
    }
    if compression == Some("zstd") {
        return Err("zstd-compressed: the installer's yum (3.4, CentOS 7) cannot read it".into());
    }
    if let Some(open_sum) = &rec.open_checksum {
        let (sum, len) = open_digest(&rec.checksum_type, &bytes, compression)?;
        if !sum.eq_ignore_ascii_case(open_sum) {
            return Err(format!("open-checksum {sum}, repomd.xml says {open_sum}"));
        }
        if let Some(size) = rec.open_size
            && size != len
        {
            return Err(format!("{len} bytes uncompressed, repomd.xml says {size}"));
        }
    }
    Ok(bytes)
}

/// The checksum and length of the decompressed content, streamed (filelists can be large).
fn open_digest(
    kind: &str,
    bytes: &[u8],
    compression: Option<&str>,
) -> Result<(String, u64), String> {
    let fail = |e: std::io::Error| format!("cannot decompress: {e}");
    let mut reader = Bounded::new("", bytes, bounded_kind(compression)).map_err(fail)?;
    match kind {
        "sha256" => {
            let mut h = Sha256::new();
            let len = std::io::copy(&mut reader, &mut h).map_err(fail)?;
            Ok((hex::encode(h.finalize()), len))
        }
        "sha" | "sha1" => {
            let mut h = sha1::Sha1::new();
            let len = std::io::copy(&mut reader, &mut h).map_err(fail)?;
            Ok((hex::encode(h.finalize()), len))
        }
        other => Err(format!("checksum type {other:?} is not one yum 3 checks")),
    }
}

fn digest(kind: &str, bytes: &[u8]) -> Result<String, String> {
    match kind {
        "sha256" => Ok(hex::encode(Sha256::digest(bytes))),
        "sha" | "sha1" => Ok(hex::encode(sha1::Sha1::digest(bytes))),
        other => Err(format!("checksum type {other:?} is not one yum 3 checks")),
    }
}

fn compression(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x1f, 0x8b, ..] => Some("gzip"),
        [b'B', b'Z', b'h', ..] => Some("bzip2"),
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => Some("xz"),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Some("zstd"),
        _ => None,
    }
}

/// The decompressor of [`repo::bounded`] for a compression named by [`compression`].
fn bounded_kind(compression: Option<&str>) -> BoundedKind {
    match compression {
        Some("gzip") => BoundedKind::Gzip,
        Some("bzip2") => BoundedKind::Bzip2,
        Some("xz") => BoundedKind::Xz,
        Some("zstd") => BoundedKind::Zstd,
        _ => BoundedKind::None,
    }
}

#[cfg(test)]
fn decompress(bytes: &[u8], compression: Option<&str>) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    Bounded::new("", bytes, bounded_kind(compression))?.read_to_end(&mut out)?;
    Ok(out)
}

/// The media check's packages from gzip-compressed primary.xml: the `location`, `size` and
/// sha256 `checksum` elements (by qualified name, as minidom's getElementsByTagName) must be as
/// many as the `package` elements, so the zip pairs each package with its own.
pub fn media_entries(primary_gz: &[u8]) -> Result<Vec<MediaEntry>, String> {
    let xml = Bounded::new("", primary_gz, BoundedKind::Gzip).map_err(|e| format!("gzip: {e}"))?;
    let mut reader = Reader::from_reader(std::io::BufReader::new(xml));
    let mut buf = Vec::new();
    let (mut packages, mut hrefs, mut sizes, mut sums) =
        (0usize, Vec::new(), Vec::new(), Vec::new());
    let mut in_sha256 = false;
    let mut text = String::new();
    let attr = |e: &quick_xml::events::BytesStart, key: &[u8]| -> Result<Option<String>, String> {
        repo::repomd::attribute(e, key).map_err(|e| e.to_string())
    };
    loop {
        buf.clear();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                match e.name().as_ref() {
                    b"package" => packages += 1,
                    b"location" => hrefs.push(attr(e, b"href")?.unwrap_or_default()),
                    b"size" => {
                        let v = attr(e, b"package")?.unwrap_or_default();
                        let n = v.trim().parse::<u64>().map_err(|_| {
                            format!(
                                "<size package={v:?}> is not a number (the installer fails on it)"
                            )
                        })?;
                        sizes.push(n);
                    }
                    b"checksum" if attr(e, b"type")?.as_deref() == Some("sha256") => {
                        if empty {
                            sums.push(String::new());
                        } else {
                            in_sha256 = true;
                            text.clear();
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(t) if in_sha256 => {
                text.push_str(&t.unescape().map_err(|e| e.to_string())?);
            }
            Event::End(ref e) if in_sha256 && e.name().as_ref() == b"checksum" => {
                in_sha256 = false;
                sums.push(text.trim().to_ascii_lowercase());
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if hrefs.len() != packages || sizes.len() != packages || sums.len() != packages {
        return Err(format!(
            "{packages} packages but {} <location>, {} <size> and {} sha256 <checksum> elements: \
             the installer pairs them in order, so each package needs exactly one of each",
            hrefs.len(),
            sizes.len(),
            sums.len()
        ));
    }
    Ok(hrefs
        .into_iter()
        .zip(sizes)
        .zip(sums)
        .map(|((href, size), sha256)| MediaEntry { href, size, sha256 })
        .collect())
}

/// Files of the image's `Packages/` folder that the repository does not list (never installed).
pub fn unlisted_packages(source: &SourceIso, media: &[MediaEntry]) -> Vec<Finding> {
    let listed: BTreeSet<String> = media.iter().map(|m| format!("/{}", m.href)).collect();
    let mut out = Vec::new();
    iso::walk(source.tree(), &mut |path, entry| {
        if path.starts_with("/Packages/")
            && path.ends_with(".rpm")
            && entry.node().content().is_some()
            && !listed.contains(path)
        {
            out.push(Finding {
                check: "repodata",
                severity: Severity::Warning,
                message: format!("{path} is not in the repodata: the installer never installs it"),
            });
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gz(xml: &str) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, xml.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    const PKG: &str = r#"<package type="rpm"><name>a</name><checksum type="sha256" pkgid="YES">AB</checksum><size package="10" installed="1" archive="2"/><location href="Packages/a.rpm"/><format><rpm:provides/></format></package>"#;

    #[test]
    fn pairs_primary_as_the_media_check() {
        let xml = format!(
            "<metadata packages=\"2\">{PKG}{}</metadata>",
            PKG.replace("a.rpm", "b.rpm")
        );
        let m = media_entries(&gz(&xml)).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].href, "Packages/b.rpm");
        assert_eq!((m[0].size, m[0].sha256.as_str()), (10, "ab"));
    }

    #[test]
    fn refuses_what_shifts_the_pairing() {
        let sha1 = PKG.replace("sha256", "sha");
        let err = media_entries(&gz(&format!("<metadata>{PKG}{sha1}</metadata>"))).unwrap_err();
        assert!(
            err.contains("2 packages but 2 <location>, 2 <size> and 1 sha256"),
            "{err}"
        );
        let extra = PKG.replace("<format>", "<format><location href=\"x\"/>");
        assert!(media_entries(&gz(&format!("<metadata>{extra}</metadata>"))).is_err());
        let bad_size = PKG.replace("package=\"10\"", "package=\"ten\"");
        assert!(
            media_entries(&gz(&bad_size))
                .unwrap_err()
                .contains("not a number")
        );
    }

    #[test]
    fn knows_yum3_compressions() {
        assert_eq!(compression(&gz("x")), Some("gzip"));
        assert_eq!(compression(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Some("zstd"));
        assert!(digest("sha512", b"").is_err());
        assert_eq!(decompress(&gz("hello"), Some("gzip")).unwrap(), b"hello");
    }
}
