//! Step `[treeinfo]`: `.treeinfo` rewritten from the source's with the profile's build number
//! and product, the signing key named first in `[keys]`, and `[general] timestamp` (where the
//! source has one) set to the build time. Every other line is kept, and without any of these
//! changes the file is left byte for byte as it was.

use super::{At, Context, Error};
use crate::iso::{NewContent, SourceIso};
use crate::profile::TreeinfoEdits;
use crate::treeinfo::{TreeinfoEdit, rewrite};

use crate::xcpng::TREEINFO;

/// The profile section this step applies.
const SECTION: &str = "[treeinfo]";

/// Rewrites `.treeinfo` when the profile or `key_file` (the key file the packages step wrote,
/// if any) changes something in it; otherwise it is left as it is. A source without
/// `.treeinfo` is an error only when the profile asks for a change.
pub fn apply(
    source: &mut SourceIso,
    edits: &TreeinfoEdits,
    key_file: Option<&str>,
    cx: &mut Context<'_>,
) -> Result<(), Error> {
    let wants = edits.build_number.is_some()
        || edits.product_name.is_some()
        || edits.product_version.is_some()
        || key_file.is_some();
    if !wants {
        return Ok(());
    }
    if !source.exists(TREEINFO) {
        return Err(Error::NoTreeinfo);
    }
    let file_error = |action| {
        move |source| Error::IsoEdit {
            at: At::Section(SECTION),
            action,
            path: TREEINFO.to_string(),
            source: Box::new(source),
        }
    };
    let text = source.read_file(TREEINFO).map_err(file_error("read"))?;
    let text = String::from_utf8(text).map_err(Error::TreeinfoNotText)?;
    let edit = TreeinfoEdit {
        build_number: edits.build_number.as_ref().map(|v| v.value.clone()),
        product_name: edits.product_name.as_ref().map(|v| v.value.clone()),
        product_version: edits.product_version.as_ref().map(|v| v.value.clone()),
        first_key: key_file.map(str::to_string),
        timestamp: u64::try_from(cx.time).unwrap_or(0),
    };
    let at = edits
        .build_number
        .as_ref()
        .or(edits.product_name.as_ref())
        .or(edits.product_version.as_ref())
        .map_or(At::Section(SECTION), |v| (&v.origin).into());
    let new = rewrite(&text, &edit).map_err(|source| Error::Treeinfo { at, source })?;
    if new != text {
        source
            .put_file(TREEINFO, NewContent::Bytes(new.into_bytes()), cx.datetime)
            .map_err(file_error("write"))?;
        cx.report.steps.push(format!(
            "treeinfo: rewritten (timestamp {}{}{})",
            edit.timestamp,
            edit.build_number
                .map(|b| format!(", build {b}"))
                .unwrap_or_default(),
            key_file
                .map(|k| format!(", key1 = {k}"))
                .unwrap_or_default()
        ));
    }
    Ok(())
}
