//! Reading an existing repository's primary, filelists and other back into [`Record`]s, so
//! packages that did not change are not read and hashed again.
//!
//! A re-run that changes nothing spends most of its time here, so filelists.xml and other.xml
//! are read on a second thread while primary.xml is read (their entries are kept per pkgid and
//! given to primary's records at the end), and only tags are copied out of the XML reader.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use sha2::{Digest, Sha256};

use super::bounded::{Bounded, Compression};
use super::repomd::{Repomd, parse_repomd};
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
fn decompress<'a>(name: &str, bytes: &'a [u8]) -> Result<Box<dyn BufRead + Send + 'a>, Error> {
    let inner =
        Bounded::new(name, bytes, Compression::from_name(name)).map_err(|source| Error::Io {
            what: name.to_string(),
            source,
        })?;
    Ok(Box::new(BufReader::new(inner)))
}

/// Reads records from the three (uncompressed) XML streams, each given with its name for
/// errors. Packages whose checksum type is not SHA-256 are skipped (they cannot be reused).
/// Order is primary.xml's. filelists.xml and other.xml are read on a second thread while
/// primary.xml is read; a problem is reported from the first of the three files that has one.
pub fn read_records(
    primary: (&str, impl BufRead),
    filelists: (&str, impl BufRead + Send),
    other: (&str, impl BufRead + Send),
) -> Result<Vec<Record>, Error> {
    // Set when primary.xml fails, so that the second thread stops early.
    let stop = AtomicBool::new(false);
    let (records, per_package) = std::thread::scope(|s| {
        let per_package = s.spawn(|| {
            let files = read_per_package(
                filelists,
                (b"filelists", b"file"),
                &stop,
                |x, e, empty, inside| {
                    let kind = file_kind(x, e)?;
                    let path = if empty { String::new() } else { x.text()? };
                    if !inside {
                        return Err(x.bad("<file> outside a <package>".into()));
                    }
                    Ok(Some(RecordFile { path, kind }))
                },
            )?;
            let changelogs = read_per_package(
                other,
                (b"otherdata", b"changelog"),
                &stop,
                |x, e, empty, inside| {
                    let [author, date] = x.attrs(e, [b"author", b"date"])?;
                    let date = x.parse_num(e, b"date", &date)?;
                    let text = if empty { String::new() } else { x.text()? };
                    Ok(inside.then_some(Changelog { author, date, text }))
                },
            )?;
            Ok(files.zip(changelogs))
        });
        let records = read_primary(primary.0, primary.1);
        stop.store(records.is_err(), Ordering::Relaxed);
        match per_package.join() {
            Ok(per_package) => (records, per_package),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    let mut records = records?;
    // `None` only when the second thread was stopped, which only a failed primary.xml does
    // (returned just above).
    let Some((mut files, mut changelogs)) = per_package? else {
        return Ok(records);
    };
    // A pkgid listed twice in primary.xml: its last record gets the files and changelogs.
    for r in records.iter_mut().rev() {
        if let Some(f) = files.remove(&r.pkgid) {
            r.files = f;
        }
        if let Some(c) = changelogs.remove(&r.pkgid) {
            r.changelogs = c;
        }
    }
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

    /// The next start, empty, or end tag, or the end of the file. Only tags are copied out of
    /// the read buffer: the element loops pass text, comments and declarations over, and
    /// [`XmlIn::text`] reads an element's text in place.
    fn next(&mut self) -> Result<Event<'static>, Error> {
        loop {
            if let e @ (Event::Start(_) | Event::Empty(_) | Event::End(_) | Event::Eof) =
                read_raw(&mut self.reader, &mut self.buf, self.name)?
            {
                return Ok(e.into_owned());
            }
        }
    }

    fn bad(&self, reason: String) -> Error {
        bad_xml(self.name, reason)
    }

    /// The value of the attribute `key` of `e` (empty when absent).
    fn attr(&self, e: &BytesStart, key: &[u8]) -> Result<String, Error> {
        let [value] = self.attrs(e, [key])?;
        Ok(value)
    }

    /// The values of the attributes `keys` of `e` (empty when absent), read in one pass over
    /// its attributes: the dependency entries, the most numerous elements, have six.
    fn attrs<const N: usize>(
        &self,
        e: &BytesStart,
        keys: [&[u8]; N],
    ) -> Result<[String; N], Error> {
        let mut values = [const { String::new() }; N];
        let mut found = [false; N];
        // Without quick-xml's check for repeated attributes, which compares every pair (a cost
        // that grows with the square of a tag's length): the first of repeated ones counts.
        for a in e.attributes().with_checks(false) {
            let a = a.map_err(|_| self.bad("bad attribute".into()))?;
            let Some(i) = keys.iter().position(|k| *k == a.key.as_ref()) else {
                continue;
            };
            if !std::mem::replace(&mut found[i], true) {
                values[i] = a
                    .unescape_value()
                    .map_err(|_| self.bad("bad attribute".into()))?
                    .into_owned();
            }
        }
        Ok(values)
    }

    /// The attributes `keys` of `e` as numbers.
    fn nums<const N: usize>(&self, e: &BytesStart, keys: [&[u8]; N]) -> Result<[u64; N], Error> {
        let values = self.attrs(e, keys)?;
        let mut out = [0; N];
        for ((n, v), key) in out.iter_mut().zip(&values).zip(keys) {
            *n = self.parse_num(e, key, v)?;
        }
        Ok(out)
    }

    /// `v`, the value of the attribute `key` of `e`, as a number.
    fn parse_num(&self, e: &BytesStart, key: &[u8], v: &str) -> Result<u64, Error> {
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
            match read_raw(&mut self.reader, &mut self.buf, self.name)? {
                Event::Text(t) => {
                    let un = t
                        .unescape()
                        .map_err(|e| bad_xml(self.name, e.to_string()))?;
                    s.push_str(&un);
                }
                Event::CData(t) => s.push_str(&String::from_utf8_lossy(&t)),
                Event::Start(_) => depth += 1,
                Event::End(_) if depth == 0 => return Ok(s),
                Event::End(_) => depth -= 1,
                Event::Eof => return Err(bad_xml(self.name, "unexpected end of file".into())),
                _ => {}
            }
        }
    }
}

/// The next event of `reader`, in `buf` (emptied first); errors name the file `name` and the
/// byte the event started at.
fn read_raw<'b, R: BufRead>(
    reader: &mut Reader<R>,
    buf: &'b mut Vec<u8>,
    name: &str,
) -> Result<Event<'b>, Error> {
    buf.clear();
    let pos = reader.buffer_position();
    reader
        .read_event_into(buf)
        .map_err(|e| bad_xml(name, format!("near byte {pos}: {e}")))
}

/// A malformed-XML error in the file `name`.
fn bad_xml(name: &str, reason: String) -> Error {
    Error::BadXml {
        file: name.to_string(),
        reason,
    }
}

fn read_version(x: &XmlIn<impl BufRead>, e: &BytesStart, r: &mut Record) -> Result<(), Error> {
    [r.epoch, r.version, r.release] = x.attrs(e, [b"epoch", b"ver", b"rel"])?;
    Ok(())
}

fn read_dep(x: &XmlIn<impl BufRead>, e: &BytesStart) -> Result<Dep, Error> {
    let [name, flags, epoch, ver, rel, pre] =
        x.attrs(e, [b"name", b"flags", b"epoch", b"ver", b"rel", b"pre"])?;
    let present = |v: String| Some(v).filter(|v| !v.is_empty());
    let flags = present(flags);
    // A version means nothing without a comparison: like the writer, keep it only with flags.
    let versioned = |v: String| if flags.is_some() { present(v) } else { None };
    Ok(Dep {
        name,
        epoch: versioned(epoch),
        ver: versioned(ver),
        rel: versioned(rel),
        flags,
        pre: matches!(pre.as_str(), "1" | "true"),
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
        let (e, empty) = match x.next()? {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
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
        let local = e.local_name();
        let local = local.as_ref();
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
        match local {
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
                [r.time_file, r.time_build] = x.nums(&e, [b"file", b"build"])?;
            }
            b"size" => {
                [r.size_package, r.size_installed, r.size_archive] =
                    x.nums(&e, [b"package", b"installed", b"archive"])?;
            }
            b"location" => r.location_href = x.attr(&e, b"href")?,
            b"license" => r.license = text(&mut x)?,
            b"vendor" => r.vendor = text(&mut x)?,
            b"group" => r.group = text(&mut x)?,
            b"buildhost" => r.buildhost = text(&mut x)?,
            b"sourcerpm" => r.sourcerpm = text(&mut x)?,
            b"header-range" => {
                [r.header_start, r.header_end] = x.nums(&e, [b"start", b"end"])?;
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

/// Reads filelists.xml or other.xml (`input`, named `name`), whose root element is `root`: every
/// `<{item}>` element goes to `element` (with whether it is empty and whether it stands in a
/// `<package>`), and what it gives is kept per package, by the package's pkgid (lower case). A
/// package listed again replaces what was kept for it. Entries of pkgids primary.xml does not
/// list are kept too, until [`read_records`] drops them. `None` when `stop` was set (another
/// file failed) before the end: the reading ends at the next `<package>`.
fn read_per_package<R: BufRead, T>(
    (name, input): (&str, R),
    (root, item): (&[u8], &[u8]),
    stop: &AtomicBool,
    mut element: impl FnMut(&mut XmlIn<'_, R>, &BytesStart, bool, bool) -> Result<Option<T>, Error>,
) -> Result<Option<BTreeMap<String, Vec<T>>>, Error> {
    let mut x = XmlIn::new(name, input);
    let x = &mut x;
    let mut kept: BTreeMap<String, Vec<T>> = BTreeMap::new();
    // The package the reader is in, with what its elements gave: kept apart from `kept` so
    // that an element costs the same whatever the length of its package's pkgid.
    let mut current: Option<(String, Vec<T>)> = None;
    let mut seen_root = false;
    loop {
        let (e, empty) = match x.next()? {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(e) if e.local_name().as_ref() == b"package" => {
                kept.extend(current.take());
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        match e.local_name().as_ref() {
            local if local == root => seen_root = true,
            b"package" => {
                if stop.load(Ordering::Relaxed) {
                    return Ok(None);
                }
                kept.extend(current.take());
                current = Some((x.attr(&e, b"pkgid")?.to_ascii_lowercase(), Vec::new()));
            }
            local if local == item => {
                let value = element(x, &e, empty, current.is_some())?;
                if let (Some(value), Some((_, list))) = (value, current.as_mut()) {
                    list.push(value);
                }
            }
            _ => {}
        }
    }
    if !seen_root {
        return Err(x.bad(format!("no <{}> element", String::from_utf8_lossy(root))));
    }
    kept.extend(current.take());
    Ok(Some(kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A primary.xml of one package per `(name, pkgid)`, each with a versioned pre-require, an
    /// unversioned one, and a `<file>` (which filelists.xml's list replaces).
    fn primary(pkgids: &[(&str, &str)]) -> String {
        let mut xml = String::from("<?xml version=\"1.0\"?>\n<metadata packages=\"2\">\n");
        for (name, pkgid) in pkgids {
            xml.push_str(&format!(
                "<package type=\"rpm\"><name>{name}</name>\
                 <checksum type=\"sha256\" pkgid=\"YES\">{pkgid}</checksum>\
                 <location href=\"Packages/{name}.rpm\" href=\"second.rpm\"/>\
                 <format><rpm:requires><rpm:entry name=\"b\" flags=\"GE\" ver=\"1\" pre=\"1\"/>\
                 <rpm:entry name=\"c\" ver=\"2\"/></rpm:requires>\
                 <file>/usr/bin/{name}</file></format></package>\n"
            ));
        }
        xml.push_str("</metadata>\n");
        xml
    }

    /// [`read_records`] of the three texts.
    fn read(p: &str, f: &str, o: &str) -> Result<Vec<Record>, Error> {
        read_records(
            ("primary.xml", p.as_bytes()),
            ("filelists.xml", f.as_bytes()),
            ("other.xml", o.as_bytes()),
        )
    }

    /// A filelists.xml listing package `aa` twice (in upper case first) and a package primary.xml
    /// does not list.
    const FILES: &str = "<filelists>\
        <package pkgid=\"AA\"><file>/old</file></package>\
        <package pkgid=\"cc\"><file>/not-in-primary</file></package>\
        <package pkgid=\"aa\"><file>/a</file><file type=\"dir\">/d</file></package>\
        </filelists>";
    /// An other.xml with a changelog for `bb`, one for `aa`, one for a package primary.xml does
    /// not list, and one outside every package.
    const OTHER: &str = "<otherdata><package pkgid=\"bb\">\
        <changelog author=\"me\" date=\"7\">fixed &amp; done</changelog></package>\
        <package pkgid=\"aa\"><changelog author=\"a\" date=\"1\">a</changelog></package>\
        <package pkgid=\"dd\"><changelog author=\"d\" date=\"2\">d</changelog></package>\
        <changelog author=\"nobody\" date=\"8\">outside</changelog></otherdata>";

    /// filelists.xml and other.xml read on their own thread go to the records they name:
    /// by pkgid in any case, a package listed again replaces its files, a pkgid primary.xml does
    /// not list is dropped, and a pkgid primary.xml lists twice goes to its last record.
    #[test]
    fn files_and_changelogs_go_to_their_packages() {
        let records = read(&primary(&[("a", "aa"), ("b", "bb")]), FILES, OTHER).unwrap();
        assert_eq!(records.len(), 2);
        let paths = |r: &Record| r.files.iter().map(|f| f.path.clone()).collect::<Vec<_>>();
        let texts = |r: &Record| {
            r.changelogs
                .iter()
                .map(|c| c.text.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(paths(&records[0]), ["/a", "/d"]);
        assert_eq!(records[0].files[1].kind, FileKind::Dir);
        assert!(records[1].files.is_empty());
        assert_eq!(texts(&records[0]), ["a"]);
        assert_eq!(texts(&records[1]), ["fixed & done"]);
        assert_eq!(records[1].changelogs[0].date, 7);
        // The first of repeated attributes counts.
        assert_eq!(records[0].location_href, "Packages/a.rpm");
        // One pass over an entry's attributes: flags keep the version, none drops it.
        let requires = &records[0].requires;
        assert_eq!(requires[0].ver.as_deref(), Some("1"));
        assert!(requires[0].pre);
        assert_eq!((requires[1].ver.as_deref(), requires[1].pre), (None, false));

        let twice = read(&primary(&[("a", "aa"), ("a2", "aa")]), FILES, OTHER).unwrap();
        assert!(twice[0].files.is_empty() && twice[0].changelogs.is_empty());
        assert_eq!(paths(&twice[1]), ["/a", "/d"]);
        assert_eq!(texts(&twice[1]), ["a"]);
    }

    /// A problem is reported from the first file that has one, in the order primary, filelists,
    /// other, whichever thread finds it first.
    #[test]
    fn the_first_file_with_a_problem_is_named() {
        let good = primary(&[("a", "aa")]);
        let file_outside = "<filelists><file>/x</file></filelists>";
        let err = read(&good, file_outside, OTHER).unwrap_err().to_string();
        assert!(
            err.contains("filelists.xml") && err.contains("outside"),
            "{err}"
        );
        let broken = "<filelists><package pkgid=\"aa\"><file>/x</fil></package></filelists>";
        let err = read(&good, broken, OTHER).unwrap_err().to_string();
        assert!(
            err.contains("filelists.xml") && err.contains("near byte"),
            "{err}"
        );
        let bad_date =
            "<otherdata><package pkgid=\"aa\"><changelog date=\"x\"/></package></otherdata>";
        let err = read(&good, FILES, bad_date).unwrap_err().to_string();
        assert!(err.contains("other.xml") && err.contains("date"), "{err}");
        let err = read(&good, FILES, "<other/>").unwrap_err().to_string();
        assert!(
            err.contains("other.xml") && err.contains("otherdata"),
            "{err}"
        );
        let err = read(&good, file_outside, bad_date).unwrap_err().to_string();
        assert!(err.contains("filelists.xml"), "{err}");
        // primary.xml fails late, after filelists.xml has failed at its first element.
        let names: Vec<(String, String)> = (0..5000)
            .map(|i| (format!("p{i}"), format!("{i:064x}")))
            .collect();
        let names: Vec<(&str, &str)> = names
            .iter()
            .map(|(n, p)| (n.as_str(), p.as_str()))
            .collect();
        let late = primary(&names).replace("</metadata>", "<package><size package=\"-1\"/>");
        let err = read(&late, file_outside, bad_date).unwrap_err().to_string();
        assert!(
            err.contains("primary.xml") && err.contains("not a number"),
            "{err}"
        );
    }

    /// Each element of filelists.xml costs the same whatever the length of its package's pkgid:
    /// 200,000 files under a 4 MiB pkgid are read at once (a lookup of that pkgid per file would
    /// compare 800 GB).
    #[test]
    fn a_long_pkgid_does_not_cost_per_file() {
        let mut files = format!("<filelists><package pkgid=\"{}\">", "a".repeat(4 << 20));
        files.push_str(&"<file/>".repeat(200_000));
        files.push_str("</package></filelists>");
        let records = read(&primary(&[("a", "aa")]), &files, OTHER).unwrap();
        assert_eq!(records.len(), 1);
    }
}
