//! From the `rpm` crate's parsed headers to a [`PackageHeader`]: the single-valued tags, then
//! each list.

use rpm::{IndexSignatureTag, IndexTag, PackageMetadata};

use super::changelog::changelog;
use super::deps::{
    DEP_CONFLICTS, DEP_ENHANCES, DEP_OBSOLETES, DEP_OLDENHANCES, DEP_OLDSUGGESTS, DEP_PROVIDES,
    DEP_RECOMMENDS, DEP_REQUIRES, DEP_SUGGESTS, DEP_SUPPLEMENTS, dependencies,
};
use super::file_list::files;
use super::{Error, PackageHeader};

/// Turns the crate's parsed headers into a [`PackageHeader`].
pub(super) fn extract(
    meta: &PackageMetadata,
    header_start: u64,
    header_end: u64,
) -> Result<PackageHeader, Error> {
    let h = &meta.header;
    let arch = if meta.is_source_package() {
        "src".to_string()
    } else {
        required_string(meta, IndexTag::RPMTAG_ARCH, "ARCH")?
    };
    let epoch = match h.get_entry_data_as_u32(IndexTag::RPMTAG_EPOCH) {
        Ok(e) => e,
        Err(rpm::Error::TagNotFound(_)) => 0,
        Err(_) => return Err(Error::MissingTag { tag: "EPOCH" }),
    };
    let installed_size = optional_u64(meta, IndexTag::RPMTAG_LONGSIZE, IndexTag::RPMTAG_SIZE);
    let archive_size = optional_u64(
        meta,
        IndexTag::RPMTAG_LONGARCHIVESIZE,
        IndexTag::RPMTAG_ARCHIVESIZE,
    )
    .or_else(|| {
        let sig = &meta.signature;
        sig.get_entry_data_as_u64(IndexSignatureTag::RPMSIGTAG_LONGARCHIVESIZE)
            .ok()
            .or_else(|| {
                sig.get_entry_data_as_u32(IndexSignatureTag::RPMSIGTAG_PAYLOADSIZE)
                    .ok()
                    .map(u64::from)
            })
    });
    Ok(PackageHeader {
        name: required_string(meta, IndexTag::RPMTAG_NAME, "NAME")?,
        epoch,
        version: required_string(meta, IndexTag::RPMTAG_VERSION, "VERSION")?,
        release: required_string(meta, IndexTag::RPMTAG_RELEASE, "RELEASE")?,
        arch,
        summary: optional_string(meta, IndexTag::RPMTAG_SUMMARY),
        description: optional_string(meta, IndexTag::RPMTAG_DESCRIPTION),
        url: optional_string(meta, IndexTag::RPMTAG_URL),
        license: optional_string(meta, IndexTag::RPMTAG_LICENSE),
        vendor: optional_string(meta, IndexTag::RPMTAG_VENDOR),
        group: optional_string(meta, IndexTag::RPMTAG_GROUP),
        buildhost: optional_string(meta, IndexTag::RPMTAG_BUILDHOST),
        sourcerpm: optional_string(meta, IndexTag::RPMTAG_SOURCERPM),
        packager: optional_string(meta, IndexTag::RPMTAG_PACKAGER),
        build_time: h
            .get_entry_data_as_u32(IndexTag::RPMTAG_BUILDTIME)
            .map(u64::from)
            .unwrap_or(0),
        installed_size: installed_size.unwrap_or(0),
        archive_size: archive_size.unwrap_or(0),
        provides: dependencies(meta, DEP_PROVIDES)?,
        requires: dependencies(meta, DEP_REQUIRES)?,
        conflicts: dependencies(meta, DEP_CONFLICTS)?,
        obsoletes: dependencies(meta, DEP_OBSOLETES)?,
        suggests: dependencies(meta, DEP_SUGGESTS)?,
        enhances: dependencies(meta, DEP_ENHANCES)?,
        recommends: dependencies(meta, DEP_RECOMMENDS)?,
        supplements: dependencies(meta, DEP_SUPPLEMENTS)?,
        old_suggests: dependencies(meta, DEP_OLDSUGGESTS)?,
        old_enhances: dependencies(meta, DEP_OLDENHANCES)?,
        files: files(meta)?,
        changelog: changelog(meta)?,
        header_start,
        header_end,
    })
}

/// A string tag that must be present.
fn required_string(
    meta: &PackageMetadata,
    tag: IndexTag,
    name: &'static str,
) -> Result<String, Error> {
    string_tag(meta, tag).ok_or(Error::MissingTag { tag: name })
}

/// A string tag, empty when absent.
fn optional_string(meta: &PackageMetadata, tag: IndexTag) -> String {
    string_tag(meta, tag).unwrap_or_default()
}

/// Reads a STRING or I18NSTRING tag (the first translation).
fn string_tag(meta: &PackageMetadata, tag: IndexTag) -> Option<String> {
    let h = &meta.header;
    h.get_entry_data_as_string(tag)
        .or_else(|_| h.get_entry_data_as_i18n_string(tag))
        .ok()
        .map(str::to_owned)
}

/// A 64-bit tag, else its 32-bit variant.
fn optional_u64(meta: &PackageMetadata, long: IndexTag, short: IndexTag) -> Option<u64> {
    let h = &meta.header;
    h.get_entry_data_as_u64(long)
        .ok()
        .or_else(|| h.get_entry_data_as_u32(short).ok().map(u64::from))
}
