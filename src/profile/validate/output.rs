//! `[source]`, `[output]` and `[iso]`: the image read, the image written, and the files
//! changed on it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_spanned::Spanned;

use super::{Cx, one_edit_per_path};
use crate::profile::location::Located;
use crate::profile::rules::volume_id_problem;
use crate::profile::schema::{self, Str};
use crate::profile::{Error, IsoEdits, IsoFile, Output, SourceIso};

impl Cx<'_> {
    pub(super) fn source_iso(&self, s: &Str) -> Result<SourceIso, Error> {
        let value = s.get_ref();
        if value.starts_with("builtin:") {
            return value.parse().map_err(|source| Error::Builtin {
                at: self.at(s.span()),
                source,
            });
        }
        Ok(SourceIso::File(self.input_file(s, "source ISO")?.value))
    }

    pub(super) fn output(
        &self,
        section: Option<&Spanned<schema::Output>>,
        iso_override: Option<&Path>,
    ) -> Result<Output, Error> {
        let section = section.map(Spanned::get_ref);
        let iso = match (iso_override, section) {
            (Some(p), _) => p.to_path_buf(),
            (None, Some(o)) => self.resolve(&o.iso)?,
            (None, None) => return Err(self.missing("output")),
        };
        let volume_id = section
            .and_then(|o| o.volume_id.as_ref())
            .map(|v| self.volume_id(v))
            .transpose()?;
        Ok(Output { iso, volume_id })
    }

    fn volume_id(&self, s: &Str) -> Result<Located<String>, Error> {
        match volume_id_problem(s.get_ref()) {
            None => Ok(self.loc(s)),
            Some(problem) => Err(Error::VolumeId {
                at: self.at(s.span()),
                value: s.get_ref().clone(),
                problem,
            }),
        }
    }

    pub(super) fn iso(&self, iso: &schema::Iso) -> Result<IsoEdits, Error> {
        let remove: Vec<Located<String>> = iso
            .remove
            .iter()
            .map(|p| self.image_path(p))
            .collect::<Result<_, _>>()?;
        let mut seen = BTreeMap::new();
        let files: Vec<IsoFile> = iso
            .files
            .iter()
            .map(|f| {
                let f = f.get_ref();
                Ok(IsoFile {
                    src: self.input_file(&f.src, "file")?,
                    dest: self.unique_dest(&mut seen, &f.dest)?,
                })
            })
            .collect::<Result<_, Error>>()?;
        let dests: Vec<&Located<String>> = files.iter().map(|f| &f.dest).collect();
        one_edit_per_path(("[iso] remove", &remove), ("[[iso.files]] dest", &dests))?;
        Ok(IsoEdits { remove, files })
    }
}
