//! The meta-package rewrite: a new release (`.remixN`) that requires the names to install and
//! no longer requires removed packages nothing else provides.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;

use super::host::record_of_written;
use super::{From, PACKAGES_DIR, Package, Packages, provides};
use crate::iso::SourceIso;
use crate::remaster::{Context, Error, PackageWriteError};
use crate::rpm;
use crate::rpm::build::Dep;
use crate::rpm::container::{PackageStart, check_payload, fresh_signature_header, write_package};
use crate::rpm::index::{Entry, tag};
use crate::rpm::rewrite::{NewRelease, RewriteSpec, rewrite_package};
use crate::rpm::sign::SigningKey;

/// The suffix of a rewritten meta-package's release (`.remix1`, `.remix2`...).
const RELEASE_SUFFIX: &str = ".remix";

/// The release of the next rewrite: `<release>.remix1`, or the suffix's number plus one.
pub fn next_release(release: &str) -> String {
    if let Some((base, n)) = release.rsplit_once(RELEASE_SUFFIX)
        && let Ok(n) = n.parse::<u32>()
    {
        return format!("{base}{RELEASE_SUFFIX}{}", n.saturating_add(1));
    }
    format!("{release}{RELEASE_SUFFIX}1")
}

/// Writes a new release of the meta-package that requires `to_add` and no longer requires the
/// removed packages nothing else provides.
#[allow(clippy::too_many_arguments)]
pub(super) fn rewrite_meta(
    meta: &str,
    to_add: &[String],
    removed: &BTreeSet<String>,
    packages: &mut Packages,
    source: &SourceIso,
    key: Option<&SigningKey>,
    time: u32,
    cx: &mut Context<'_>,
) -> Result<(), Error> {
    let Some((location, pkg)) = packages
        .iter()
        .find(|(_, p)| p.record.name == meta)
        .map(|(l, p)| (l.clone(), p.clone()))
    else {
        return Ok(());
    };
    let dropped: BTreeSet<String> = pkg
        .record
        .requires
        .iter()
        .map(|d| d.name.clone())
        .filter(|n| removed.contains(n) && !packages.values().any(|p| provides(&p.record, n)))
        .collect();
    if to_add.is_empty() && dropped.is_empty() {
        return Ok(());
    }
    let failed = |source: PackageWriteError| Error::MetaRelease {
        meta: meta.to_string(),
        source: Box::new(source),
    };
    let file_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| failed(PackageWriteError::File { path, source })
    };
    let rpm_err = |e: rpm::Error| failed(e.into());
    let mut input: Box<dyn Read> = match &pkg.from {
        From::Source => Box::new(std::io::BufReader::new(
            source
                .open_file(&format!("/{location}"))
                .map_err(|e| failed(e.into()))?,
        )),
        From::Host(path) => Box::new(std::io::BufReader::new(
            crate::input::open(path).map_err(file_err(path))?,
        )),
    };
    let trimmed = cx.workdir.join(format!("{meta}.trimmed.rpm"));
    if !dropped.is_empty() {
        let mut out =
            std::io::BufWriter::new(std::fs::File::create(&trimmed).map_err(file_err(&trimmed))?);
        drop_requires(&mut input, &mut out, &dropped).map_err(rpm_err)?;
        out.flush().map_err(file_err(&trimmed))?;
        drop(out);
        input = Box::new(std::io::BufReader::new(
            std::fs::File::open(&trimmed).map_err(file_err(&trimmed))?,
        ));
        cx.report.steps.push(format!(
            "packages: {meta} no longer requires the removed {}",
            dropped.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let r = &pkg.record;
    let release = next_release(&r.release);
    let spec = RewriteSpec {
        release: NewRelease::Set(release.clone()),
        add_requires: to_add.iter().map(Dep::any).collect(),
        sign: key.map(|k| (k, time)),
    };
    let new_location = format!(
        "{PACKAGES_DIR}/{}-{}-{release}.{}.rpm",
        r.name, r.version, r.arch
    );
    let path = cx
        .workdir
        .join(format!("{}-{}-{release}.{}.rpm", r.name, r.version, r.arch));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).map_err(file_err(&path))?);
    let report = rewrite_package(&mut input, &mut out, &spec).map_err(rpm_err)?;
    out.flush().map_err(file_err(&path))?;
    drop(out);
    let record = record_of_written(&path, &new_location, cx.time as u64).map_err(failed)?;
    packages.remove(&location);
    packages.insert(
        new_location,
        Package {
            from: From::Host(path),
            record,
        },
    );
    cx.report.steps.push(format!(
        "packages: {meta} release {} -> {release}{}",
        report.old_release,
        if report.added.is_empty() {
            String::new()
        } else {
            format!(
                ", requires {}",
                report
                    .added
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    ));
    Ok(())
}

/// Copies a package without the requires named in `names`: the main header is re-serialized,
/// the signature header gets fresh digests (and no signatures), the payload is streamed as is.
fn drop_requires(
    input: &mut impl Read,
    output: &mut impl Write,
    names: &BTreeSet<String>,
) -> Result<(), rpm::Error> {
    let mut start = PackageStart::read(input)?;
    let main = &mut start.main;
    let n = main
        .get(tag::REQUIRENAME)
        .map(|e| e.strings())
        .unwrap_or_default();
    let f = main
        .get(tag::REQUIREFLAGS)
        .map(|e| e.int32s())
        .unwrap_or_default();
    let v = main
        .get(tag::REQUIREVERSION)
        .map(|e| e.strings())
        .unwrap_or_default();
    if n.len() != f.len() || n.len() != v.len() {
        return Err(rpm::Error::MalformedHeader {
            part: "main header",
            reason: format!(
                "requires arrays have {}/{}/{} items",
                n.len(),
                f.len(),
                v.len()
            ),
        });
    }
    let keep: Vec<usize> = (0..n.len()).filter(|&i| !names.contains(&n[i])).collect();
    let pick = |xs: &[String]| keep.iter().map(|&i| xs[i].clone()).collect::<Vec<_>>();
    main.set(Entry::string_array(tag::REQUIRENAME, &pick(&n)));
    main.set(Entry::int32(
        tag::REQUIREFLAGS,
        &keep.iter().map(|&i| f[i]).collect::<Vec<_>>(),
    ));
    main.set(Entry::string_array(tag::REQUIREVERSION, &pick(&v)));
    let main_bytes = main.to_bytes();
    let payload_len = start.payload_len();
    let sig = fresh_signature_header(&start.signature, &main_bytes, payload_len);
    let copied = write_package(output, &start.lead, &sig, &main_bytes, input)?;
    check_payload(&start, copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_suffix_counts_up() {
        assert_eq!(next_release("1.xcpng8.3"), "1.xcpng8.3.remix1");
        assert_eq!(next_release("1.xcpng8.3.remix1"), "1.xcpng8.3.remix2");
        assert_eq!(next_release("1.remixed"), "1.remixed.remix1");
    }
}
