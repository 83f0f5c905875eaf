//! Step `[iso]`: files removed from and added to the ISO filesystem.

use super::{Context, Error};
use crate::iso::{NewContent, SourceIso};
use crate::profile::IsoEdits;

/// Applies `[iso] remove` then `[[iso.files]]`.
pub fn apply(source: &mut SourceIso, edits: &IsoEdits, cx: &mut Context<'_>) -> Result<(), Error> {
    for path in &edits.remove {
        source.remove(&path.value).map_err(|e| Error::Step {
            at: path.origin.to_string(),
            message: e.to_string(),
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
            .map_err(|e| Error::Step {
                at: file.dest.origin.to_string(),
                message: e.to_string(),
            })?;
        cx.report.steps.push(format!(
            "iso: added {} from {}",
            file.dest.value,
            file.src.value.display()
        ));
    }
    Ok(())
}
