//! `[[packages.build]]`: packages built from plain files, each field checked as the RPM layer
//! writes it.

use std::collections::BTreeMap;

use serde_spanned::Spanned;

use super::{Cx, one_edit_per_path};
use crate::profile::location::{Located, Origin};
use crate::profile::rules::{is_capability, is_version_part, text_problem};
use crate::profile::schema::{self, Str};
use crate::profile::{BuildArch, DEFAULT_BUILD_RELEASE, Error, PackageBuild, PackageBuildFile};

impl Cx<'_> {
    /// Every `[[packages.build]]`, in profile order; two of one name are refused.
    pub(super) fn package_builds(
        &self,
        list: &[Spanned<schema::PackageBuild>],
    ) -> Result<Vec<PackageBuild>, Error> {
        let mut names: BTreeMap<String, Origin> = BTreeMap::new();
        let mut builds = Vec::with_capacity(list.len());
        for b in list {
            let build = self.package_build(b)?;
            if let Some(first) = names.get(&build.name.value) {
                return Err(Error::Conflict {
                    at: build.name.origin,
                    problem: format!("package `{}` is already built at {first}", build.name.value),
                });
            }
            names.insert(build.name.value.clone(), build.name.origin.clone());
            builds.push(build);
        }
        Ok(builds)
    }

    fn package_build(&self, b: &Spanned<schema::PackageBuild>) -> Result<PackageBuild, Error> {
        let origin = self.at(b.span());
        let b = b.get_ref();
        let mut seen = BTreeMap::new();
        let files: Vec<PackageBuildFile> = b
            .files
            .iter()
            .map(|f| {
                let (src, dest, mode) = self.file_with_mode(&mut seen, f.get_ref())?;
                Ok(PackageBuildFile { src, dest, mode })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        // A file cannot be the folder of another.
        let dests: Vec<&Located<String>> = files.iter().map(|f| &f.dest).collect();
        one_edit_per_path(("", &[]), ("[[packages.build.files]] dest", &dests))?;
        let requires = b
            .requires
            .iter()
            .map(|r| {
                if is_capability(r.get_ref()) {
                    Ok(self.loc(r))
                } else {
                    Err(self.bad_name(
                        r,
                        "required capability",
                        "must be a name without whitespace, control characters or `,<>=` \
                         (no version), or an absolute normalized path",
                    ))
                }
            })
            .collect::<Result<_, Error>>()?;
        Ok(PackageBuild {
            name: self.rpm_name(&b.name, "package name")?,
            version: self.version_part(&b.version, "version")?,
            release: match &b.release {
                Some(r) => self.version_part(r, "release")?.value,
                None => DEFAULT_BUILD_RELEASE.to_owned(),
            },
            arch: match b.arch.as_ref().map(Spanned::get_ref) {
                None | Some(schema::BuildArch::Noarch) => BuildArch::Noarch,
                Some(schema::BuildArch::X86_64) => BuildArch::X86_64,
            },
            summary: self.text(&b.summary, "summary", false)?,
            description: b
                .description
                .as_ref()
                .map(|d| self.text(d, "description", true))
                .transpose()?,
            license: self.text(&b.license, "license", false)?,
            group: b
                .group
                .as_ref()
                .map(|g| self.text(g, "group", false))
                .transpose()?,
            vendor: b
                .vendor
                .as_ref()
                .map(|v| self.text(v, "vendor", false))
                .transpose()?,
            requires,
            files,
            origin,
        })
    }

    /// A version or a release: no `-`.
    fn version_part(&self, s: &Str, what: &'static str) -> Result<Located<String>, Error> {
        if is_version_part(s.get_ref()) {
            Ok(self.loc(s))
        } else {
            Err(self.bad_name(s, what, "must be letters, digits and `._+~^`"))
        }
    }

    /// A text field of the package's header: one line, or several for `multiline`.
    fn text(&self, s: &Str, what: &'static str, multiline: bool) -> Result<String, Error> {
        match text_problem(s.get_ref(), multiline) {
            None => Ok(s.get_ref().clone()),
            Some(problem) => Err(self.bad_name(s, what, problem)),
        }
    }
}
