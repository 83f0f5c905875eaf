//! Step `[iso]`: files removed from and added to the ISO filesystem.

use super::{Context, Error};
use crate::iso::{NewContent, SourceIso};
use crate::profile::IsoEdits;

/// Applies `[iso] remove` then `[[iso.files]]`.
pub fn apply(source: &mut SourceIso, edits: &IsoEdits, cx: &mut Context<'_>) -> Result<(), Error> {
    for path in &edits.remove {
        source
            .remove(&path.value)
            .map_err(|source| Error::IsoEdit {
                at: (&path.origin).into(),
                action: "remove",
                path: path.value.clone(),
                source: Box::new(source),
            })?;
        cx.report.steps.push(format!("iso: removed {}", path.value));
    }
    for file in &edits.files {
        source
            .put_file(
                &file.dest.value,
                NewContent::HostFile(file.src.value.clone()),
                cx.datetime,
            )
            .map_err(|source| Error::IsoEdit {
                at: (&file.dest.origin).into(),
                action: "add",
                path: file.dest.value.clone(),
                source: Box::new(source),
            })?;
        cx.report.steps.push(format!(
            "iso: added {} from {}",
            file.dest.value,
            file.src.value.display()
        ));
    }
    Ok(())
}
