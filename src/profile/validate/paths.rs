//! Paths of the profile: host files and folders (relative to the profile's folder, globs
//! expanded) and paths inside the image.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::Cx;
use crate::profile::Error;
use crate::profile::location::{Located, Origin};
use crate::profile::rules::image_path_problem;
use crate::profile::schema::Str;

impl Cx<'_> {
    pub(super) fn resolve(&self, s: &Str) -> Result<PathBuf, Error> {
        if s.get_ref().is_empty() {
            return Err(Error::Name {
                at: self.at(s.span()),
                what: "path",
                value: String::new(),
                problem: "is empty".into(),
            });
        }
        Ok(self.base_dir.join(s.get_ref()))
    }

    /// A local input file: resolved, must exist and be a regular file.
    pub(super) fn input_file(
        &self,
        s: &Str,
        what: &'static str,
    ) -> Result<Located<PathBuf>, Error> {
        self.input_path(s, what, fs::Metadata::is_file, "is not a regular file")
    }

    /// A local input path: resolved, must exist and be of the kind `is_kind` accepts (else
    /// `not_kind` says what it is not).
    fn input_path(
        &self,
        s: &Str,
        what: &'static str,
        is_kind: fn(&fs::Metadata) -> bool,
        not_kind: &str,
    ) -> Result<Located<PathBuf>, Error> {
        let path = self.resolve(s)?;
        let at = self.at(s.span());
        let problem = match fs::metadata(&path) {
            Ok(m) if is_kind(&m) => return Ok(Located::new(path, at)),
            Ok(_) => not_kind.to_owned(),
            Err(e) if e.kind() == ErrorKind::NotFound => "does not exist".to_owned(),
            Err(e) => format!("cannot be read: {e}"),
        };
        Err(Error::Input {
            at,
            what,
            path,
            problem,
        })
    }

    /// A local input file whose name must end with one of `endings`.
    pub(super) fn input_with_ending(
        &self,
        s: &Str,
        what: &'static str,
        endings: &[&str],
        expected: &'static str,
    ) -> Result<Located<PathBuf>, Error> {
        let file = self.input_file(s, what)?;
        if !endings.iter().any(|e| s.get_ref().ends_with(e)) {
            return Err(Error::Extension {
                at: file.origin,
                what,
                path: file.value,
                expected,
            });
        }
        Ok(file)
    }

    /// A path inside the ISO or the installer root: absolute and normalized.
    pub(super) fn image_path(&self, s: &Str) -> Result<Located<String>, Error> {
        let path = s.get_ref();
        let problem = image_path_problem(path);
        match problem {
            None => Ok(self.loc(s)),
            Some(problem) => Err(Error::ImagePath {
                at: self.at(s.span()),
                path: path.clone(),
                problem,
            }),
        }
    }

    /// Destination paths, each used once.
    pub(super) fn unique_dest(
        &self,
        seen: &mut BTreeMap<String, Origin>,
        s: &Str,
    ) -> Result<Located<String>, Error> {
        let dest = self.image_path(s)?;
        if let Some(first) = seen.get(&dest.value) {
            return Err(Error::DuplicateDest {
                at: dest.origin,
                path: dest.value,
                first: first.clone(),
            });
        }
        seen.insert(dest.value.clone(), dest.origin.clone());
        Ok(dest)
    }

    /// A local input folder: resolved, must exist and be a folder.
    pub(super) fn input_dir(&self, s: &Str, what: &'static str) -> Result<Located<PathBuf>, Error> {
        self.input_path(s, what, fs::Metadata::is_dir, "is not a folder")
    }

    /// Expands one `[packages] add` glob against the profile's folder: the regular files it
    /// matches, each ending with `.rpm`; at least one.
    pub(super) fn expand_glob(&self, s: &Str) -> Result<Vec<PathBuf>, Error> {
        let pattern = s.get_ref();
        let at = self.at(s.span());
        let glob_error = |problem: String| Error::Glob {
            at: at.clone(),
            pattern: pattern.clone(),
            problem,
        };
        if pattern.is_empty() {
            return Err(glob_error("is empty".into()));
        }
        let full = if Path::new(pattern).is_absolute() {
            pattern.clone()
        } else {
            let base = self.base_dir.to_str().ok_or_else(|| {
                glob_error("cannot be expanded: the profile's folder is not valid UTF-8".into())
            })?;
            format!("{}/{}", glob::Pattern::escape(base), pattern)
        };
        let options = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        let paths =
            glob::glob_with(&full, options).map_err(|e| glob_error(format!("is invalid: {e}")))?;
        let mut files = Vec::new();
        for entry in paths {
            let path = entry.map_err(|e| glob_error(format!("cannot be expanded: {e}")))?;
            if !path.is_file() {
                continue;
            }
            if !path.to_string_lossy().ends_with(".rpm") {
                return Err(Error::Extension {
                    at: at.clone(),
                    what: "package",
                    path,
                    expected: "`.rpm`",
                });
            }
            files.push(path);
        }
        if files.is_empty() {
            return Err(glob_error("matches no file".into()));
        }
        files.sort();
        Ok(files)
    }
}
