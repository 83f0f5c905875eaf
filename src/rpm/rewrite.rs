//! Writing a new release of an existing package (the installer's meta-package `xcp-ng-deps`)
//! whose `Requires` name more packages.
//!
//! The main header is re-serialized with the new release, the package's own
//! `name = [epoch:]version-release` provide updated and the new requires appended; the signature
//! header gets fresh digests and sizes and no signatures (they no longer match); with
//! [`RewriteSpec::sign`] the result is signed as `rpmsign` does (header and header+payload
//! signatures), the unsigned package going through a temporary file first since the signature
//! header comes before the payload it signs. The payload is streamed through untouched, so the
//! payload digest in the main header stays valid. The input's header digest is checked first and
//! its payload digest while copying.

use std::io::{Read, Seek, SeekFrom, Write};

use super::Error;
use super::build::Dep;
use super::container::{PackageStart, check_payload, fresh_signature_header, write_package};
use super::evr::check_version_chars;
use super::index::{Entry, Header, tag};
use super::sign::{SigningKey, sign_package};

/// The release of the rewritten package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewRelease {
    /// Exactly this release.
    Set(String),
    /// The old release followed by this suffix (`5` + `.remix1` = `5.remix1`), which rpm
    /// orders above the old one.
    Suffix(String),
}

impl NewRelease {
    fn apply(&self, old: &str) -> String {
        match self {
            NewRelease::Set(r) => r.clone(),
            NewRelease::Suffix(s) => format!("{old}{s}"),
        }
    }
}

/// What the new release changes.
#[derive(Debug, Clone)]
pub struct RewriteSpec<'a> {
    /// The new release.
    pub release: NewRelease,
    /// Requires to add (a require with the same name, sense and version is not added twice).
    pub add_requires: Vec<Dep>,
    /// Sign the result with this key, the signature created at the given time.
    pub sign: Option<(&'a SigningKey, u32)>,
}

/// What the rewrite did, for the caller's report and for repodata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewriteReport {
    /// The package name.
    pub name: String,
    /// The release before.
    pub old_release: String,
    /// The release written.
    pub new_release: String,
    /// The requires actually added (those not already present).
    pub added: Vec<Dep>,
    /// Bytes of payload copied.
    pub payload_len: u64,
}

fn text(header: &Header, tag: u32, what: &'static str) -> Result<String, Error> {
    header
        .get(tag)
        .and_then(|e| e.strings().into_iter().next())
        .ok_or(Error::MissingTag {
            part: "main header",
            tag,
            what,
        })
}

/// Reads a package from `input` and writes the new release described by `spec` to `output`.
pub fn rewrite_package(
    input: &mut impl Read,
    output: &mut impl Write,
    spec: &RewriteSpec<'_>,
) -> Result<RewriteReport, Error> {
    let (NewRelease::Set(r) | NewRelease::Suffix(r)) = &spec.release;
    check_version_chars("release", r)?;
    for dep in &spec.add_requires {
        dep.validate()?;
    }
    let mut start = PackageStart::read(input)?;
    start.verify_header_digest()?;
    let main = &mut start.main;
    let name = text(main, tag::NAME, "name")?;
    let version = text(main, tag::VERSION, "version")?;
    let old_release = text(main, tag::RELEASE, "release")?;
    let epoch = main
        .get(tag::EPOCH)
        .and_then(|e| e.int32s().first().copied());
    let evr = |release: &str| match epoch {
        Some(e) => format!("{e}:{version}-{release}"),
        None => format!("{version}-{release}"),
    };
    let new_release = spec.release.apply(&old_release);
    check_version_chars("release", &new_release)?;
    let (old_evr, new_evr) = (evr(&old_release), evr(&new_release));

    main.set(Entry::string(tag::RELEASE, &new_release));
    update_self_provide(main, &name, &old_evr, &new_evr)?;
    let added = add_requires(main, &spec.add_requires)?;

    let main_bytes = main.to_bytes();
    let payload_len = start.payload_len();
    let sig = fresh_signature_header(&start.signature, &main_bytes, payload_len);
    start
        .lead
        .set_name(&format!("{name}-{version}-{new_release}"));
    let payload_len = match spec.sign {
        None => {
            let copied = write_package(output, &start.lead, &sig, &main_bytes, input)?;
            let len = copied.0;
            check_payload(&start, copied)?;
            len
        }
        Some((key, time)) => {
            let mut unsigned =
                tempfile::tempfile().map_err(Error::io("creating a temporary file"))?;
            let copied = {
                let mut w = std::io::BufWriter::new(&mut unsigned);
                let copied = write_package(&mut w, &start.lead, &sig, &main_bytes, input)?;
                w.flush().map_err(Error::io("writing a temporary file"))?;
                copied
            };
            let len = copied.0;
            check_payload(&start, copied)?;
            unsigned
                .seek(SeekFrom::Start(0))
                .map_err(Error::io("reading a temporary file"))?;
            sign_package(&mut std::io::BufReader::new(unsigned), output, key, time)?;
            len
        }
    };
    Ok(RewriteReport {
        name,
        old_release,
        new_release,
        added,
        payload_len,
    })
}

/// Names, flags and versions of a dependency list.
type DepArrays = (Vec<String>, Vec<u32>, Vec<String>);

/// The three parallel arrays of a dependency list, checked to have the same length.
fn dep_arrays(header: &Header, names: u32, flags: u32, versions: u32) -> Result<DepArrays, Error> {
    let n = header.get(names).map(|e| e.strings()).unwrap_or_default();
    let f = header.get(flags).map(|e| e.int32s()).unwrap_or_default();
    let v = header
        .get(versions)
        .map(|e| e.strings())
        .unwrap_or_default();
    if n.len() != f.len() || n.len() != v.len() {
        return Err(Error::MalformedHeader {
            part: "main header",
            reason: format!(
                "dependency arrays {names}/{flags}/{versions} have {}/{}/{} items",
                n.len(),
                f.len(),
                v.len()
            ),
        });
    }
    Ok((n, f, v))
}

fn update_self_provide(
    header: &mut Header,
    name: &str,
    old_evr: &str,
    new_evr: &str,
) -> Result<(), Error> {
    if header.get(tag::PROVIDENAME).is_none() {
        return Ok(());
    }
    let (names, flags, mut versions) = dep_arrays(
        header,
        tag::PROVIDENAME,
        tag::PROVIDEFLAGS,
        tag::PROVIDEVERSION,
    )?;
    let mut changed = false;
    for ((n, f), v) in names.iter().zip(&flags).zip(versions.iter_mut()) {
        if n == name && f & 0xe == 8 && v == old_evr {
            *v = new_evr.to_string();
            changed = true;
        }
    }
    if changed {
        header.set(Entry::string_array(tag::PROVIDEVERSION, &versions));
    }
    Ok(())
}

fn add_requires(header: &mut Header, deps: &[Dep]) -> Result<Vec<Dep>, Error> {
    let (mut names, mut flags, mut versions) = dep_arrays(
        header,
        tag::REQUIRENAME,
        tag::REQUIREFLAGS,
        tag::REQUIREVERSION,
    )?;
    let mut added = Vec::new();
    for dep in deps {
        let sense = dep.cmp.sense_bits();
        let present = names
            .iter()
            .zip(&flags)
            .zip(&versions)
            .any(|((n, f), v)| *n == dep.name && f & 0xe == sense && *v == dep.evr);
        if !present {
            names.push(dep.name.clone());
            flags.push(sense);
            versions.push(dep.evr.clone());
            added.push(dep.clone());
        }
    }
    if !added.is_empty() {
        header.set(Entry::string_array(tag::REQUIRENAME, &names));
        header.set(Entry::int32(tag::REQUIREFLAGS, &flags));
        header.set(Entry::string_array(tag::REQUIREVERSION, &versions));
    }
    Ok(added)
}
