//! Reading the source's repository: its `repomd.xml` and comps file, and every package under
//! `/Packages` with its record (the stored one reused when it still describes the file).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{From, PACKAGES_DIR, Package, Packages, REPOMD};
use crate::iso::{self, SourceIso};
use crate::remaster::{At, Context, Error, PackageRefusal};
use crate::repo::{self, Record, reader, repomd};

/// The source's repository as read.
pub(super) struct SourceRepo {
    /// Its packages by location.
    pub packages: Packages,
    /// The source repodata's records, when they describe the source's packages exactly.
    pub stored: Option<Vec<Record>>,
    /// Its comps file: (repodata file name, bytes).
    pub groups: Option<(String, Vec<u8>)>,
}

/// Reads the source's repository: refused when the source has neither repodata nor `/Packages`.
pub(super) fn read(source: &SourceIso, cx: &mut Context<'_>) -> Result<SourceRepo, Error> {
    let source_repomd = if source.exists(REPOMD) {
        let xml = source.read_file(REPOMD).map_err(|e| Error::IsoEdit {
            at: At::Section("[packages]"),
            action: "read",
            path: REPOMD.to_string(),
            source: Box::new(e),
        })?;
        Some(
            repomd::parse_repomd(&xml)
                .map_err(|source| repository("read the source's repodata/repomd.xml", source))?,
        )
    } else if source.exists(&format!("/{PACKAGES_DIR}")) {
        cx.report
            .steps
            .push("packages: the source has no repodata: every package is read".into());
        None
    } else {
        return Err(Error::PackageEdit {
            at: At::Section("[packages]"),
            why: Box::new(PackageRefusal::NoRepository),
        });
    };
    let groups = match &source_repomd {
        Some(md) => reader::read_groups(md, |href| read_repo_file(source, href))
            .map_err(|e| repository("read the source's comps file", e))?,
        None => None,
    };
    let (packages, stored) = source_packages(source, source_repomd.as_ref(), cx)?;
    Ok(SourceRepo {
        packages,
        stored,
        groups,
    })
}

/// The repository layer's error while doing `action`.
pub(super) fn repository(action: &str, source: repo::Error) -> Error {
    Error::Repository {
        action: action.to_string(),
        source,
    }
}

fn read_repo_file(source: &SourceIso, href: &str) -> Result<Vec<u8>, repo::Error> {
    source
        .read_file(&format!("/{href}"))
        .map_err(|e| repo::Error::Io {
            what: href.to_string(),
            source: std::io::Error::other(e.to_string()),
        })
}

/// Every `.rpm` under `/Packages` of the source with its record: the source repodata's record
/// when location and size match, else read (header and checksum) from the image.
fn source_packages(
    source: &SourceIso,
    repomd: Option<&repomd::Repomd>,
    cx: &mut Context<'_>,
) -> Result<(Packages, Option<Vec<Record>>), Error> {
    let stored = repomd.map(|md| reader::read_repo(md, |href| read_repo_file(source, href)));
    let mut all_stored = None;
    let reuse = match stored {
        None => reader::ReuseIndex::default(),
        Some(Ok(records)) => {
            all_stored = Some(records.clone());
            reader::ReuseIndex::new(records)
        }
        Some(Err(e)) => {
            cx.report
                .warnings
                .push(format!("packages: the source's repodata cannot be reused ({e}); every package is read again"));
            reader::ReuseIndex::default()
        }
    };
    let mut found: Vec<(String, u64)> = Vec::new();
    iso::walk(source.tree(), &mut |path, entry| {
        if path.starts_with(&format!("/{PACKAGES_DIR}/"))
            && path.ends_with(".rpm")
            && let Some(content) = entry.node().content()
        {
            found.push((path.trim_start_matches('/').to_string(), content.len()));
        }
    });
    let mut out = BTreeMap::new();
    let mut jobs = Vec::new();
    for (location, size) in found {
        match reuse.lookup(&location, size, None) {
            Some(r) => {
                out.insert(
                    location,
                    Package {
                        from: From::Source,
                        record: r.clone(),
                    },
                );
            }
            None => jobs.push(repo::PackageJob {
                path: PathBuf::from(format!("/{location}")),
                location_href: location,
                time_file: cx.time as u64,
            }),
        }
    }
    let reused = out.len();
    let bar = cx.progress.items("reading packages", jobs.len() as u64);
    let results = repo::read_records(
        &jobs,
        repo::default_threads(),
        Some(repo::DEFAULT_CHANGELOG_LIMIT),
        |job| {
            bar.inc(1);
            source
                .open_file(&job.path.to_string_lossy())
                .map_err(|e| std::io::Error::other(e.to_string()))
        },
    );
    bar.finish();
    for result in results {
        let record = result.map_err(|e| repository("read a source package", e))?;
        out.insert(
            record.location_href.clone(),
            Package {
                from: From::Source,
                record,
            },
        );
    }
    cx.report.steps.push(format!(
        "packages: {} source packages ({reused} records reused, {} read)",
        out.len(),
        jobs.len()
    ));
    // The stored records describe the source exactly only when each package was found in them.
    let stored = all_stored.filter(|s| jobs.is_empty() && s.len() == out.len());
    Ok((out, stored))
}
