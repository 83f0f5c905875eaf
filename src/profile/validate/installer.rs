//! `[installer]`: files added to and removed from install.img.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_spanned::Spanned;

use super::{Cx, one_edit_per_path};
use crate::profile::location::{Located, Origin};
use crate::profile::rules::parse_mode;
use crate::profile::schema::{self, Str};
use crate::profile::{DEFAULT_FILE_MODE, Error, InstallerEdits, InstallerFile, InstallerMode};

impl Cx<'_> {
    pub(super) fn installer(&self, inst: &schema::Installer) -> Result<InstallerEdits, Error> {
        let remove: Vec<Located<String>> = inst
            .remove
            .iter()
            .map(|p| self.image_path(p))
            .collect::<Result<_, _>>()?;
        let patches = inst
            .patches
            .iter()
            .map(|p| self.input_file(p, "patch"))
            .collect::<Result<_, _>>()?;
        let answerfile = inst
            .answerfile
            .as_ref()
            .map(|a| self.input_file(a, "answer file"))
            .transpose()?;
        let mode = match inst.mode.as_ref().map(Spanned::get_ref) {
            None | Some(schema::InstallerMode::Auto) => InstallerMode::Auto,
            Some(schema::InstallerMode::Overlay) => InstallerMode::Overlay,
            Some(schema::InstallerMode::Repack) => InstallerMode::Repack,
        };
        let mut seen = BTreeMap::new();
        let files: Vec<InstallerFile> = inst
            .files
            .iter()
            .map(|f| {
                let (src, dest, mode) = self.file_with_mode(&mut seen, f.get_ref())?;
                Ok(InstallerFile { src, dest, mode })
            })
            .collect::<Result<_, Error>>()?;
        let dests: Vec<&Located<String>> = files.iter().map(|f| &f.dest).collect();
        one_edit_per_path(
            ("[installer] remove", &remove),
            ("[[installer.files]] dest", &dests),
        )?;
        if mode == InstallerMode::Overlay
            && let Some(first) = inst.remove.first()
        {
            return Err(Error::Conflict {
                at: self.at(first.span()),
                problem: "`mode = \"overlay\"` cannot remove files (an overlay can only add or \
                          replace); use \"auto\" or \"repack\""
                    .into(),
            });
        }
        Ok(InstallerEdits {
            remove,
            patches,
            answerfile,
            mode,
            files,
        })
    }

    /// A file owned by root: its local source, its destination (each used once in `seen`) and
    /// its permission bits (default [`DEFAULT_FILE_MODE`]).
    pub(super) fn file_with_mode(
        &self,
        seen: &mut BTreeMap<String, Origin>,
        f: &schema::FileWithMode,
    ) -> Result<(Located<PathBuf>, Located<String>, u32), Error> {
        let src = self.input_file(&f.src, "file")?;
        let dest = self.unique_dest(seen, &f.dest)?;
        let mode = match &f.mode {
            Some(m) => self.mode(m)?,
            None => DEFAULT_FILE_MODE,
        };
        Ok((src, dest, mode))
    }

    fn mode(&self, s: &Str) -> Result<u32, Error> {
        parse_mode(s.get_ref()).ok_or_else(|| Error::Mode {
            at: self.at(s.span()),
            mode: s.get_ref().clone(),
        })
    }
}
