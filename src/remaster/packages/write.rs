//! The output repository written into the image: packages put and removed, repodata
//! regenerated (or the source's kept when no record changed), `repomd.xml` signed.

use super::sign::sign_repomd;
use super::source::repository;
use super::{From, PACKAGES_DIR, Packages, REPOMD};
use crate::iso::{self, NewContent, SourceIso};
use crate::remaster::{At, Context, Error};
use crate::repo::{self, GroupsFile, Record};
use crate::rpm::sign::SigningKey;

/// Whether every record is the same as the source repodata's (same package bytes) and the comps
/// file did not change: the repository did not change, and its repodata is kept as it is.
pub(super) fn unchanged(
    stored: Option<&[Record]>,
    packages: &Packages,
    comps_changed: bool,
) -> bool {
    !comps_changed
        && stored.is_some_and(|stored| {
            stored.len() == packages.len()
                && stored.iter().all(|r| {
                    packages
                        .get(&r.location_href)
                        .is_some_and(|p| p.record == *r)
                })
        })
}

/// Puts the new and changed packages in the image, removes the gone ones, and writes new
/// repodata (and `repomd.xml.asc` when signing). With `unchanged` the source's repodata is
/// kept (only signed again when there is a key).
#[allow(clippy::too_many_arguments)]
pub(super) fn write_repository(
    source: &mut SourceIso,
    packages: &Packages,
    comps: Option<&(String, Vec<u8>)>,
    key: Option<&SigningKey>,
    unchanged: bool,
    time: u32,
    cx: &mut Context<'_>,
) -> Result<(), Error> {
    let mut existing = Vec::new();
    iso::walk(source.tree(), &mut |path, entry| {
        if path.starts_with(&format!("/{PACKAGES_DIR}/"))
            && path.ends_with(".rpm")
            && entry.node().content().is_some()
        {
            existing.push(path.trim_start_matches('/').to_string());
        }
    });
    for location in existing {
        let keep = packages
            .get(&location)
            .is_some_and(|p| p.from == From::Source);
        if !keep {
            let path = format!("/{location}");
            source.remove(&path).map_err(iso_edit("remove", path))?;
        }
    }
    for (location, pkg) in packages {
        if let From::Host(path) = &pkg.from {
            let at = format!("/{location}");
            source
                .put_file(&at, NewContent::HostFile(path.clone()), cx.datetime)
                .map_err(iso_edit("add", at))?;
        }
    }
    if unchanged {
        if let Some(key) = key {
            let repomd_bytes = source
                .read_file(REPOMD)
                .map_err(iso_edit("read", REPOMD.to_string()))?;
            sign_repomd(source, key, &repomd_bytes, time, cx)?;
        }
        cx.report.steps.push(format!(
            "packages: no package changed: the source's repodata is kept{}",
            if key.is_some() {
                ", repomd.xml signed"
            } else {
                ""
            }
        ));
        return Ok(());
    }
    let mut records: Vec<Record> = packages.values().map(|p| p.record.clone()).collect();
    repo::sort_records(&mut records);
    let groups = comps.map(|(name, xml)| GroupsFile { name, xml });
    let files = repo::write_repodata(&records, groups, cx.time as u64)
        .map_err(|e| repository("write the repodata", e))?;
    if source.exists("/repodata") {
        source
            .remove("/repodata")
            .map_err(iso_edit("remove", "/repodata".to_string()))?;
    }
    let mut repomd_bytes = Vec::new();
    for f in &files.files {
        if f.path == "repodata/repomd.xml" {
            repomd_bytes = f.bytes.clone();
        }
        let path = format!("/{}", f.path);
        source
            .put_file(&path, NewContent::Bytes(f.bytes.clone()), cx.datetime)
            .map_err(iso_edit("write", path))?;
    }
    if let Some(key) = key {
        sign_repomd(source, key, &repomd_bytes, time, cx)?;
    }
    cx.report.steps.push(format!(
        "packages: repodata regenerated for {} packages{}",
        records.len(),
        if key.is_some() {
            ", repomd.xml signed"
        } else {
            ""
        }
    ));
    Ok(())
}

/// The ISO layer's error for `action` on `path` of the repository.
fn iso_edit(action: &'static str, path: String) -> impl FnOnce(iso::Error) -> Error {
    move |e| Error::IsoEdit {
        at: At::Section("[packages]"),
        action,
        path,
        source: Box::new(e),
    }
}
