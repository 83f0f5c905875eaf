//! repomd.xml: the index of the repodata files, written as createrepo_c writes it and read back.

use std::io::{self, Write};

use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::Error;
use super::xml::{attr, text};

/// Namespace of repomd.xml.
pub const NS_REPO: &str = "http://linux.duke.edu/metadata/repo";

/// One `<data>` entry of repomd.xml.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepomdRecord {
    /// `primary`, `filelists`, `other`, `group`, `group_gz`, ...
    pub kind: String,
    /// Checksum type of `checksum` and `open_checksum` (`sha256` in what we write).
    pub checksum_type: String,
    /// Checksum of the file as stored.
    pub checksum: String,
    /// Checksum of the uncompressed content (compressed files only).
    pub open_checksum: Option<String>,
    /// Path relative to the repository root (`repodata/...`).
    pub location_href: String,
    /// Timestamp (seconds since the epoch).
    pub timestamp: u64,
    /// Size of the file as stored.
    pub size: u64,
    /// Size of the uncompressed content (compressed files only).
    pub open_size: Option<u64>,
}

/// The content of repomd.xml.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Repomd {
    /// `<revision>`, if any.
    pub revision: Option<String>,
    /// The data records, in document order.
    pub records: Vec<RepomdRecord>,
}

impl Repomd {
    /// The record of the given type, if present.
    pub fn record(&self, kind: &str) -> Option<&RepomdRecord> {
        self.records.iter().find(|r| r.kind == kind)
    }
}

/// Rank of a data type in createrepo_c's repomd.xml order (others follow, by name).
fn type_rank(kind: &str) -> u8 {
    match kind {
        "primary" => 1,
        "filelists" => 2,
        "other" => 3,
        "primary_db" => 4,
        "filelists_db" => 5,
        "other_db" => 6,
        "primary_zck" => 7,
        "filelists_zck" => 8,
        "other_zck" => 9,
        _ => 10,
    }
}

/// Sorts records in the order createrepo_c writes them.
pub fn sort_records(records: &mut [RepomdRecord]) {
    records.sort_by(|a, b| {
        type_rank(&a.kind)
            .cmp(&type_rank(&b.kind))
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.location_href.cmp(&b.location_href))
    });
}

/// Writes repomd.xml (records in the given order).
pub fn write_repomd(out: &mut impl Write, repomd: &Repomd) -> io::Result<()> {
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<repomd xmlns="{NS_REPO}" xmlns:rpm="{}">"#,
        super::primary::NS_RPM
    )?;
    if let Some(rev) = &repomd.revision {
        write!(out, "  <revision>")?;
        text(out, rev)?;
        writeln!(out, "</revision>")?;
    }
    for r in &repomd.records {
        write!(out, r#"  <data type=""#)?;
        attr(out, &r.kind)?;
        writeln!(out, r#"">"#)?;
        write!(out, r#"    <checksum type=""#)?;
        attr(out, &r.checksum_type)?;
        write!(out, r#"">"#)?;
        text(out, &r.checksum)?;
        writeln!(out, "</checksum>")?;
        if let Some(open) = &r.open_checksum {
            write!(out, r#"    <open-checksum type=""#)?;
            attr(out, &r.checksum_type)?;
            write!(out, r#"">"#)?;
            text(out, open)?;
            writeln!(out, "</open-checksum>")?;
        }
        write!(out, r#"    <location href=""#)?;
        attr(out, &r.location_href)?;
        writeln!(out, r#""/>"#)?;
        writeln!(out, "    <timestamp>{}</timestamp>", r.timestamp)?;
        writeln!(out, "    <size>{}</size>", r.size)?;
        if let Some(open) = r.open_size {
            writeln!(out, "    <open-size>{open}</open-size>")?;
        }
        writeln!(out, "  </data>")?;
    }
    writeln!(out, "</repomd>")
}

/// Parses repomd.xml.
pub fn parse_repomd(xml: &[u8]) -> Result<Repomd, Error> {
    let bad = |reason: String| Error::BadXml {
        file: "repomd.xml".into(),
        reason,
    };
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut repomd = Repomd::default();
    let mut current: Option<RepomdRecord> = None;
    let mut field: Option<Vec<u8>> = None;
    let mut value = String::new();
    let mut seen_root = false;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| bad(format!("at byte {}: {e}", reader.buffer_position())))?;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.local_name().as_ref().to_vec();
                match name.as_slice() {
                    b"repomd" => seen_root = true,
                    b"data" => {
                        current = Some(RepomdRecord {
                            kind: attribute(&e, b"type")?.unwrap_or_default(),
                            checksum_type: String::new(),
                            checksum: String::new(),
                            open_checksum: None,
                            location_href: String::new(),
                            timestamp: 0,
                            size: 0,
                            open_size: None,
                        });
                    }
                    b"location" => {
                        if let Some(rec) = current.as_mut() {
                            rec.location_href = attribute(&e, b"href")?.unwrap_or_default();
                        }
                    }
                    b"checksum" => {
                        if let Some(rec) = current.as_mut() {
                            rec.checksum_type = attribute(&e, b"type")?.unwrap_or_default();
                        }
                        field = Some(name);
                        value.clear();
                    }
                    _ => {
                        field = Some(name);
                        value.clear();
                    }
                }
            }
            Event::Text(t) if field.is_some() => {
                let s = t.unescape().map_err(|e| bad(e.to_string()))?;
                value.push_str(&s);
            }
            Event::CData(t) if field.is_some() => {
                value.push_str(&String::from_utf8_lossy(&t));
            }
            Event::End(e) => {
                let name = e.local_name().as_ref().to_vec();
                let v = value.trim().to_string();
                let number = |what: &str| {
                    v.parse::<u64>()
                        .map_err(|_| bad(format!("<{what}> is not a number: {v:?}")))
                };
                match (name.as_slice(), current.as_mut()) {
                    (b"data", _) => {
                        if let Some(rec) = current.take() {
                            repomd.records.push(rec);
                        }
                    }
                    (b"revision", None) => repomd.revision = Some(v),
                    (b"checksum", Some(rec)) => rec.checksum = v,
                    (b"open-checksum", Some(rec)) => rec.open_checksum = Some(v),
                    (b"timestamp", Some(rec)) => rec.timestamp = number("timestamp")?,
                    (b"size", Some(rec)) => rec.size = number("size")?,
                    (b"open-size", Some(rec)) => rec.open_size = Some(number("open-size")?),
                    _ => {}
                }
                field = None;
                value.clear();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !seen_root {
        return Err(bad("no <repomd> element".into()));
    }
    Ok(repomd)
}

/// The unescaped value of attribute `key`, if present.
pub(crate) fn attribute(
    e: &quick_xml::events::BytesStart,
    key: &[u8],
) -> Result<Option<String>, Error> {
    for a in e.attributes() {
        let a = a.map_err(|err| Error::BadXml {
            file: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
            reason: err.to_string(),
        })?;
        if a.key.as_ref() == key {
            let v = a.unescape_value().map_err(|err| Error::BadXml {
                file: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                reason: err.to_string(),
            })?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}
