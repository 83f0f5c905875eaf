//! The output repository written into the image: packages put and removed, repodata
//! regenerated (or the source's kept when no record changed), `repomd.xml` signed.

use super::sign::sign_repomd;
use super::{From, PACKAGES_DIR, Packages, REPOMD, whole};
use crate::iso::{self, NewContent, SourceIso};
use crate::remaster::{Context, Error};
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
            source.remove(&format!("/{location}")).map_err(whole)?;
        }
    }
    for (location, pkg) in packages {
        if let From::Host(path) = &pkg.from {
            source
                .put_file(
                    &format!("/{location}"),
                    NewContent::HostFile(path.clone()),
                    cx.datetime,
                )
                .map_err(whole)?;
        }
    }
    if unchanged {
        if let Some(key) = key {
            let repomd_bytes = source.read_file(REPOMD).map_err(whole)?;
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
    let files = repo::write_repodata(&records, groups, cx.time as u64).map_err(whole)?;
    if source.exists("/repodata") {
        source.remove("/repodata").map_err(whole)?;
    }
    let mut repomd_bytes = Vec::new();
    for f in &files.files {
        if f.path == "repodata/repomd.xml" {
            repomd_bytes = f.bytes.clone();
        }
        source
            .put_file(
                &format!("/{}", f.path),
                NewContent::Bytes(f.bytes.clone()),
                cx.datetime,
            )
            .map_err(whole)?;
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
