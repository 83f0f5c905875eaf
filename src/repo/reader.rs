//! Reading an existing repository's primary, filelists and other back into [`Record`]s, so
//! packages that did not change are not read and hashed again.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use sha2::{Digest, Sha256};

use super::bounded::{Bounded, Compression};
use super::repomd::{Repomd, attribute, parse_repomd};
use super::{Changelog, Dep, Error, Record, RecordFile};
use crate::rpm::header::FileKind;

/// Records of an existing repository, indexed for reuse.
#[derive(Clone, Debug, Default)]
pub struct ReuseIndex {
    by_location: BTreeMap<String, Record>,
}

impl ReuseIndex {
    /// Indexes records by location.
    pub fn new(records: Vec<Record>) -> ReuseIndex {
        ReuseIndex {
            by_location: records
                .into_iter()
                .map(|r| (r.location_href.clone(), r))
                .collect(),
        }
    }

    /// The stored record for the package at `location_href` if it is the same package: same
    /// location (so the same file name), same size, and, when `sha256` is given, same
    /// checksum. The record's checksum type is always SHA-256 (records with another type are
    /// never indexed by `read_records`).
    pub fn lookup(&self, location_href: &str, size: u64, sha256: Option<&str>) -> Option<&Record> {
        let r = self.by_location.get(location_href)?;
        if r.size_package != size {
            return None;
        }
        match sha256 {
            Some(sum) if !sum.eq_ignore_ascii_case(&r.pkgid) => None,
            _ => Some(r),
        }
    }

    /// Number of indexed records.
    pub fn len(&self) -> usize {
        self.by_location.len()
    }

    /// Whether no records are indexed.
    pub fn is_empty(&self) -> bool {
        self.by_location.is_empty()
    }
}

/// Reads the records of the repository at `root` (which holds `repodata/repomd.xml`),
/// checking each metadata file against repomd.xml's checksum.
pub fn read_repo_dir(root: &Path) -> Result<Vec<Record>, Error> {
    let read = |rel: &str| -> Result<Vec<u8>, Error> {
        let path = root.join(rel);
        crate::input::read(&path).map_err(|source| Error::Io {
            what: path.display().to_string(),
            source,
        })
    };
    let repomd = parse_repomd(&read("repodata/repomd.xml")?)?;
    read_repo(&repomd, |href| {
        if !super::is_safe_location(href) {
            return Err(Error::UnsafeLocation {
                location: href.to_string(),
            });
        }
        read(href)
    })
}

/// Reads the records of a repository whose repomd.xml is `repomd`; `open` returns the bytes of
/// a file given its location (`repodata/...`). Each file is checked against its repomd
/// checksum (when SHA-256) and size, then decompressed by its name (`.gz`, `.xz`, `.bz2`,
/// `.zst`, or plain).
pub fn read_repo(
    repomd: &Repomd,
    mut open: impl FnMut(&str) -> Result<Vec<u8>, Error>,
) -> Result<Vec<Record>, Error> {
    let mut get = |kind: &str| -> Result<(String, Vec<u8>), Error> {
        let rec = repomd.record(kind).ok_or_else(|| Error::MissingData {
            kind: kind.to_string(),
        })?;
        let bytes = open(&rec.location_href)?;
        if bytes.len() as u64 != rec.size && rec.size != 0 {
            return Err(Error::Mismatch {
                file: rec.location_href.clone(),
                what: "size",
            });
        }
        if rec.checksum_type == "sha256"
            && !hex::encode(Sha256::digest(&bytes)).eq_ignore_ascii_case(&rec.checksum)
        {
            return Err(Error::Mismatch {
                file: rec.location_href.clone(),
                what: "checksum",
            });
        }
        Ok((rec.location_href.clone(), bytes))
    };
    let (pname, primary) = get("primary")?;
    let (fname, filelists) = get("filelists")?;
    let (oname, other) = get("other")?;
    read_records(
        (&pname, decompress(&pname, &primary)?),
        (&fname, decompress(&fname, &filelists)?),
        (&oname, decompress(&oname, &other)?),
    )
}

/// The comps file of a repository, to keep it: `(base name, XML bytes)` from the `group`
/// record (or the decompressed `group_gz` when there is no plain one), checked against its
/// repomd checksum. The base name drops the `<checksum>-` prefix createrepo_c adds.
/// `None` when the repository has no groups.
pub fn read_groups(
    repomd: &Repomd,
    mut open: impl FnMut(&str) -> Result<Vec<u8>, Error>,
) -> Result<Option<(String, Vec<u8>)>, Error> {
    let Some(rec) = repomd.record("group").or_else(|| repomd.record("group_gz")) else {
        return Ok(None);
    };
    let bytes = open(&rec.location_href)?;
    if rec.checksum_type == "sha256"
        && !hex::encode(Sha256::digest(&bytes)).eq_ignore_ascii_case(&rec.checksum)
    {
        return Err(Error::Mismatch {
            file: rec.location_href.clone(),
            what: "checksum",
        });
    }
    let file = rec.location_href.rsplit('/').next().unwrap_or_default();
    let base = match file.split_once('-') {
        Some((sum, rest)) if sum.eq_ignore_ascii_case(&rec.checksum) => rest,
        _ => file,
    };
    if rec.kind == "group" {
        return Ok(Some((base.to_string(), bytes)));
    }
    let mut xml = Vec::new();
    decompress(base, &bytes)?
        .read_to_end(&mut xml)
        .map_err(|source| Error::Io {
            what: rec.location_href.clone(),
            source,
        })?;
    let base = base
        .strip_suffix(".gz")
        .or_else(|| base.strip_suffix(".xz"))
        .or_else(|| base.strip_suffix(".bz2"))
        .or_else(|| base.strip_suffix(".zst"))
        .unwrap_or(base);
    Ok(Some((base.to_string(), xml)))
}

/// A decompressing reader chosen by file name, within the bounds of [`super::bounded`].
fn decompress<'a>(name: &str, bytes: &'a [u8]) -> Result<Box<dyn BufRead + 'a>, Error> {
    let inner =
        Bounded::new(name, bytes, Compression::from_name(name)).map_err(|source| Error::Io {
            what: name.to_string(),
            source,
        })?;
    Ok(Box::new(BufReader::new(inner)))
}

/// Reads records from the three (uncompressed) XML streams, each given with its name for
/// errors. Packages whose checksum type is not SHA-256 are skipped (they cannot be reused).
/// Order is primary.xml's.
pub fn read_records(
    primary: (&str, impl BufRead),
    filelists: (&str, impl BufRead),
    other: (&str, impl BufRead),
) -> Result<Vec<Record>, Error> {
    let mut records = read_primary(primary.0, primary.1)?;
    let index: BTreeMap<String, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.pkgid.clone(), i))
        .collect();
    read_per_package(
        filelists,
        (b"filelists", b"file"),
        &mut records,
        &index,
        |r| r.files.clear(),
        |x, e, empty, at| {
            let kind = file_kind(x, e)?;
            let path = if empty { String::new() } else { x.text()? };
            match at {
                InPackage::Known(r) => r.files.push(RecordFile { path, kind }),
                InPackage::Unknown => {}
                InPackage::Outside => return Err(x.bad("<file> outside a <package>".into())),
            }
            Ok(())
        },
    )?;
    read_per_package(
        other,
        (b"otherdata", b"changelog"),
        &mut records,
        &index,
        |r| r.changelogs.clear(),
        |x, e, empty, at| {
            let author = x.attr(e, b"author")?;
            let date = x.num(e, b"date")?;
            let text = if empty { String::new() } else { x.text()? };
            if let InPackage::Known(r) = at {
                r.changelogs.push(Changelog { author, date, text });
            }
            Ok(())
        },
    )?;
    Ok(records)
}

fn empty_record() -> Record {
    Record {
        name: String::new(),
        arch: String::new(),
        epoch: String::new(),
        version: String::new(),
        release: String::new(),
        pkgid: String::new(),
        summary: String::new(),
        description: String::new(),
        packager: String::new(),
        url: String::new(),
        time_file: 0,
        time_build: 0,
        size_package: 0,
        size_installed: 0,
        size_archive: 0,
        location_href: String::new(),
        license: String::new(),
        vendor: String::new(),
        group: String::new(),
        buildhost: String::new(),
        sourcerpm: String::new(),
        header_start: 0,
        header_end: 0,
        provides: Vec::new(),
        requires: Vec::new(),
        conflicts: Vec::new(),
        obsoletes: Vec::new(),
        suggests: Vec::new(),
        enhances: Vec::new(),
        recommends: Vec::new(),
        supplements: Vec::new(),
        files: Vec::new(),
        changelogs: Vec::new(),
    }
}

/// Event reading with errors naming the file.
struct XmlIn<'n, R: BufRead> {
    name: &'n str,
    reader: Reader<R>,
    buf: Vec<u8>,
}

impl<'n, R: BufRead> XmlIn<'n, R> {
    fn new(name: &'n str, input: R) -> Self {
        XmlIn {
            name,
            reader: Reader::from_reader(input),
            buf: Vec::new(),
        }
    }

    fn next(&mut self) -> Result<Event<'static>, Error> {
        self.buf.clear();
        let pos = self.reader.buffer_position();
        self.reader
            .read_event_into(&mut self.buf)
            .map(|e| e.into_owned())
            .map_err(|e| self.bad(format!("near byte {pos}: {e}")))
    }

    fn bad(&self, reason: String) -> Error {
        Error::BadXml {
            file: self.name.to_string(),
            reason,
        }
    }

    fn attr(&self, e: &BytesStart, key: &[u8]) -> Result<String, Error> {
        attribute(e, key)
            .map_err(|_| self.bad("bad attribute".into()))
            .map(Option::unwrap_or_default)
    }

    fn num(&self, e: &BytesStart, key: &[u8]) -> Result<u64, Error> {
        let v = self.attr(e, key)?;
        v.parse().map_err(|_| {
            self.bad(format!(
                "attribute {} of <{}> is not a number: {v:?}",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(e.name().as_ref())
            ))
        })
    }

    /// Reads the text up to the end of the current element.
    fn text(&mut self) -> Result<String, Error> {
        let mut s = String::new();
        let mut depth = 0usize;
        loop {
            match self.next()? {
                Event::Text(t) => {
                    let un = t.unescape().map_err(|e| self.bad(e.to_string()))?;
                    s.push_str(&un);
                }
                Event::CData(t) => s.push_str(&String::from_utf8_lossy(&t)),
                Event::Start(_) => depth += 1,
                Event::End(_) if depth == 0 => return Ok(s),
                Event::End(_) => depth -= 1,
                Event::Eof => return Err(self.bad("unexpected end of file".into())),
                _ => {}
            }
        }
    }
}

fn read_version(x: &XmlIn<impl BufRead>, e: &BytesStart, r: &mut Record) -> Result<(), Error> {
    r.epoch = x.attr(e, b"epoch")?;
    r.version = x.attr(e, b"ver")?;
    r.release = x.attr(e, b"rel")?;
    Ok(())
}

fn read_dep(x: &XmlIn<impl BufRead>, e: &BytesStart) -> Result<Dep, Error> {
    let opt = |key: &[u8]| -> Result<Option<String>, Error> {
        Ok(attribute(e, key)
            .map_err(|_| x.bad("bad attribute".into()))?
            .filter(|v| !v.is_empty()))
    };
    // A version means nothing without a comparison: like the writer, keep it only with flags.
    let flags = opt(b"flags")?;
    let versioned = |key: &[u8]| -> Result<Option<String>, Error> {
        Ok(if flags.is_some() { opt(key)? } else { None })
    };
    Ok(Dep {
        name: x.attr(e, b"name")?,
        epoch: versioned(b"epoch")?,
        ver: versioned(b"ver")?,
        rel: versioned(b"rel")?,
        flags,
        pre: matches!(opt(b"pre")?.as_deref(), Some("1") | Some("true")),
    })
}

fn file_kind(x: &XmlIn<impl BufRead>, e: &BytesStart) -> Result<FileKind, Error> {
    Ok(match x.attr(e, b"type")?.as_str() {
        "dir" => FileKind::Dir,
        "ghost" => FileKind::Ghost,
        _ => FileKind::File,
    })
}

fn read_primary(name: &str, input: impl BufRead) -> Result<Vec<Record>, Error> {
    let mut x = XmlIn::new(name, input);
    let mut records = Vec::new();
    let mut current: Option<Record> = None;
    let mut sha256 = true;
    let mut deps: Option<&'static str> = None;
    let mut seen_root = false;
    loop {
        let ev = x.next()?;
        let (e, empty) = match &ev {
            Event::Start(e) => (e.clone(), false),
            Event::Empty(e) => (e.clone(), true),
            Event::End(e) => {
                match e.local_name().as_ref() {
                    b"package" => {
                        if let Some(r) = current.take()
                            && sha256
                        {
                            records.push(r);
                        }
                    }
                    b"provides" | b"requires" | b"conflicts" | b"obsoletes" | b"suggests"
                    | b"enhances" | b"recommends" | b"supplements" => deps = None,
                    _ => {}
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let local = e.local_name().as_ref().to_vec();
        if local == b"metadata" {
            seen_root = true;
            continue;
        }
        if local == b"package" {
            current = Some(empty_record());
            sha256 = true;
            continue;
        }
        let Some(r) = current.as_mut() else {
            continue;
        };
        let text = |x: &mut XmlIn<_>| if empty { Ok(String::new()) } else { x.text() };
        match local.as_slice() {
            b"name" => r.name = text(&mut x)?,
            b"arch" => r.arch = text(&mut x)?,
            b"version" => read_version(&x, &e, r)?,
            b"checksum" => {
                sha256 = x.attr(&e, b"type")? == "sha256";
                r.pkgid = text(&mut x)?.trim().to_ascii_lowercase();
            }
            b"summary" => r.summary = text(&mut x)?,
            b"description" => r.description = text(&mut x)?,
            b"packager" => r.packager = text(&mut x)?,
            b"url" => r.url = text(&mut x)?,
            b"time" => {
                r.time_file = x.num(&e, b"file")?;
                r.time_build = x.num(&e, b"build")?;
            }
            b"size" => {
                r.size_package = x.num(&e, b"package")?;
                r.size_installed = x.num(&e, b"installed")?;
                r.size_archive = x.num(&e, b"archive")?;
            }
            b"location" => r.location_href = x.attr(&e, b"href")?,
            b"license" => r.license = text(&mut x)?,
            b"vendor" => r.vendor = text(&mut x)?,
            b"group" => r.group = text(&mut x)?,
            b"buildhost" => r.buildhost = text(&mut x)?,
            b"sourcerpm" => r.sourcerpm = text(&mut x)?,
            b"header-range" => {
                r.header_start = x.num(&e, b"start")?;
                r.header_end = x.num(&e, b"end")?;
            }
            b"provides" if !empty => deps = Some("provides"),
            b"requires" if !empty => deps = Some("requires"),
            b"conflicts" if !empty => deps = Some("conflicts"),
            b"obsoletes" if !empty => deps = Some("obsoletes"),
            b"suggests" if !empty => deps = Some("suggests"),
            b"enhances" if !empty => deps = Some("enhances"),
            b"recommends" if !empty => deps = Some("recommends"),
            b"supplements" if !empty => deps = Some("supplements"),
            b"entry" => {
                let mut d = read_dep(&x, &e)?;
                // Only requires are written with `pre`.
                d.pre &= deps == Some("requires");
                // An entry without a name is dropped, as the writer drops it: a record read back
                // from our own primary.xml must equal the one written.
                if d.name.is_empty() {
                    continue;
                }
                match deps {
                    Some("provides") => r.provides.push(d),
                    Some("requires") => r.requires.push(d),
                    Some("conflicts") => r.conflicts.push(d),
                    Some("obsoletes") => r.obsoletes.push(d),
                    Some("suggests") => r.suggests.push(d),
                    Some("enhances") => r.enhances.push(d),
                    Some("recommends") => r.recommends.push(d),
                    Some("supplements") => r.supplements.push(d),
                    _ => {}
                }
            }
            // primary.xml lists a subset of the files; filelists.xml gives them all.
            b"file" if !empty => {
                x.text()?;
            }
            _ => {}
        }
    }
    if !seen_root {
        return Err(x.bad("no <metadata> element".into()));
    }
    Ok(records)
}

/// Where an element of filelists.xml or other.xml stands.
enum InPackage<'r> {
    /// Outside every `<package>` (or in one whose record cannot be found).
    Outside,
    /// In a `<package>` whose pkgid primary.xml does not list.
    Unknown,
    /// In the `<package>` of this record.
    Known(&'r mut Record),
}

/// Reads filelists.xml or other.xml (`input`, named `name`), whose root element is `root`: each
/// `<package pkgid>` is matched to its record through `index` and emptied by `start`; every
/// `<{item}>` element goes to `element` (with whether it is empty) together with the package
/// it stands in.
fn read_per_package<R: BufRead>(
    (name, input): (&str, R),
    (root, item): (&[u8], &[u8]),
    records: &mut [Record],
    index: &BTreeMap<String, usize>,
    start: fn(&mut Record),
    mut element: impl FnMut(&mut XmlIn<'_, R>, &BytesStart, bool, InPackage<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut x = XmlIn::new(name, input);
    let x = &mut x;
    // None outside a package; Some(None) in a package primary.xml does not list.
    let mut current: Option<Option<usize>> = None;
    let mut seen_root = false;
    loop {
        let ev = x.next()?;
        let (e, empty) = match &ev {
            Event::Start(e) => (e.clone(), false),
            Event::Empty(e) => (e.clone(), true),
            Event::End(e) if e.local_name().as_ref() == b"package" => {
                current = None;
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        match e.local_name().as_ref() {
            local if local == root => seen_root = true,
            b"package" => {
                let pkgid = x.attr(&e, b"pkgid")?.to_ascii_lowercase();
                let found = index.get(&pkgid).copied();
                if let Some(r) = found.and_then(|i| records.get_mut(i)) {
                    start(r);
                }
                current = Some(found);
            }
            local if local == item => {
                let at = match current {
                    None => InPackage::Outside,
                    Some(None) => InPackage::Unknown,
                    Some(Some(i)) => records
                        .get_mut(i)
                        .map_or(InPackage::Outside, InPackage::Known),
                };
                element(x, &e, empty, at)?;
            }
            _ => {}
        }
    }
    if !seen_root {
        return Err(x.bad(format!("no <{}> element", String::from_utf8_lossy(root))));
    }
    Ok(())
}
