//! The `%changelog`: times, authors and texts.

use rpm::{IndexTag, PackageMetadata};

use super::{ChangelogEntry, Error};

/// Reads the changelog (times, names, texts).
pub(super) fn changelog(meta: &PackageMetadata) -> Result<Vec<ChangelogEntry>, Error> {
    let h = &meta.header;
    let Ok(times) = h.get_entry_data_as_u32_array(IndexTag::RPMTAG_CHANGELOGTIME) else {
        return Ok(Vec::new());
    };
    let names = h
        .get_entry_data_as_string_array(IndexTag::RPMTAG_CHANGELOGNAME)
        .unwrap_or_default();
    let texts = h
        .get_entry_data_as_string_array(IndexTag::RPMTAG_CHANGELOGTEXT)
        .unwrap_or_default();
    if names.len() != times.len() || texts.len() != times.len() {
        return Err(Error::ArrayMismatch {
            what: "CHANGELOGTIME/NAME/TEXT",
        });
    }
    Ok(times
        .iter()
        .zip(names)
        .zip(texts)
        .map(|((time, author), text)| ChangelogEntry {
            time: u64::from(*time),
            author: author.to_owned(),
            text: text.to_owned(),
        })
        .collect())
}
