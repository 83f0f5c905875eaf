//! Recognising a driver disk in an image (for `isoremix inspect`): `update.xml` at the root
//! together with `repodata/repomd.xml`, as the installer's own check does.

use std::io::Read;

use serde::Serialize;

use super::update_xml::{MAX_UPDATE_XML, UpdateInfo};
use crate::iso::{self, SourceIso};
use crate::xcpng::{REPOMD, REPOMD_ASC, UPDATE_XML, UPDATE_XML_ASC};

/// What a driver disk says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskInfo {
    /// `update.xml`, when it parses.
    #[serde(flatten)]
    pub update: Option<UpdateInfo>,
    /// Why `update.xml` could not be read, when it could not.
    pub problem: Option<String>,
    /// Whether `update.xml.asc` and `repodata/repomd.xml.asc` are present.
    pub signed: bool,
    /// The packages under `Packages/`, sorted.
    pub packages: Vec<String>,
}

/// The driver disk `source` holds, or `None` when it has no `update.xml` and
/// `repodata/repomd.xml` at its root.
pub fn recognise(source: &SourceIso) -> Option<DiskInfo> {
    if !source.exists(UPDATE_XML) || !source.exists(REPOMD) {
        return None;
    }
    let (update, problem) = match read_update_xml(source) {
        Ok(info) => (Some(info), None),
        Err(problem) => (None, Some(problem)),
    };
    let mut packages: Vec<String> = iso::files(source.tree())
        .into_iter()
        .map(|(path, _)| path.trim_start_matches('/').to_string())
        .filter(|p| p.starts_with("Packages/") && p.ends_with(".rpm"))
        .collect();
    packages.sort();
    Some(DiskInfo {
        update,
        problem,
        signed: source.exists(UPDATE_XML_ASC) && source.exists(REPOMD_ASC),
        packages,
    })
}

fn read_update_xml(source: &SourceIso) -> Result<UpdateInfo, String> {
    let reader = source.open_file(UPDATE_XML).map_err(|e| e.to_string())?;
    if reader.len() > MAX_UPDATE_XML {
        return Err(format!(
            "update.xml is {} bytes, more than the {MAX_UPDATE_XML} a driver disk's has",
            reader.len()
        ));
    }
    let mut xml = Vec::new();
    reader
        .take(MAX_UPDATE_XML)
        .read_to_end(&mut xml)
        .map_err(|e| e.to_string())?;
    UpdateInfo::parse(&xml).map_err(|e| e.to_string())
}
