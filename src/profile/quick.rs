//! A profile given as command-line flags, mkksiso's habit:
//! `isoremix build --source in.iso -o out.iso --dom0-arg console=ttyS0`.
//!
//! The flags become profile text, which is then validated like any profile
//! file: quick mode has no rules of its own, and the text it builds from is
//! the profile `--print-profile` shows, so building that file gives the same
//! image.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::write::{finish, put};
use super::{Error, Overrides, Profile};

/// What the quick-mode flags ask for. Relative paths are relative to the
/// folder given to [`QuickProfile::to_toml`] (the current directory).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuickProfile {
    /// `--source`: an ISO path or `builtin:sample`.
    pub source: String,
    /// `-o`: the ISO to write.
    pub output: PathBuf,
    /// `-V`: the new volume identifier.
    pub volume_id: Option<String>,
    /// `--answerfile`: an answer file for unattended installs (`[installer] answerfile`).
    pub answerfile: Option<PathBuf>,
    /// `--dom0-arg`: dom0 kernel arguments set (`[boot.dom0_args] set`).
    pub dom0_args: Vec<String>,
    /// `--xen-arg`: Xen arguments set (`[boot.xen_args] set`).
    pub xen_args: Vec<String>,
    /// `--rm-arg`: dom0 kernel arguments removed (`[boot.dom0_args] remove`).
    pub rm_args: Vec<String>,
    /// `--add-rpm`: RPM files added to the repository (`[packages] add`).
    pub add_rpms: Vec<PathBuf>,
    /// `--add SRC:DEST`: files added to the ISO (`[[iso.files]]`).
    pub add_files: Vec<(PathBuf, String)>,
}

/// The name quick-mode profiles go by in messages.
pub const QUICK_PROFILE_NAME: &str = "(command line)";

impl QuickProfile {
    /// The profile these flags stand for, as TOML, with every local path made
    /// absolute against `cwd` so the text builds the same from any folder.
    pub fn to_toml(&self, cwd: &Path) -> Result<String, Error> {
        let abs = |p: &Path| -> Result<Value, Error> {
            let p = cwd.join(p);
            p.to_str()
                .map(|s| Value::String(s.to_owned()))
                .ok_or(Error::NotUtf8 { path: p.clone() })
        };
        let strings =
            |list: &[String]| Value::Array(list.iter().cloned().map(Value::String).collect());
        let mut doc = Table::new();

        let source = match self.source.as_str() {
            s if s.starts_with("builtin:") => Value::String(s.to_owned()),
            s => abs(Path::new(s))?,
        };
        doc.insert("source".into(), table([("iso", source)]).into());
        let mut output = table([("iso", abs(&self.output)?)]);
        if let Some(id) = &self.volume_id {
            output.insert("volume_id".into(), Value::String(id.clone()));
        }
        doc.insert("output".into(), output.into());

        let mut iso = Table::new();
        if !self.add_files.is_empty() {
            let files = self
                .add_files
                .iter()
                .map(|(src, dest)| {
                    Ok(Value::Table(table([
                        ("src", abs(src)?),
                        ("dest", Value::String(dest.clone())),
                    ])))
                })
                .collect::<Result<Vec<_>, Error>>()?;
            iso.insert("files".into(), Value::Array(files));
        }
        put(&mut doc, "iso", iso);

        let mut installer = Table::new();
        if let Some(answerfile) = &self.answerfile {
            installer.insert("answerfile".into(), abs(answerfile)?);
        }
        put(&mut doc, "installer", installer);

        let mut boot = Table::new();
        if !self.xen_args.is_empty() {
            boot.insert(
                "xen_args".into(),
                table([("set", strings(&self.xen_args))]).into(),
            );
        }
        let mut dom0 = Table::new();
        if !self.dom0_args.is_empty() {
            dom0.insert("set".into(), strings(&self.dom0_args));
        }
        if !self.rm_args.is_empty() {
            dom0.insert("remove".into(), strings(&self.rm_args));
        }
        put(&mut boot, "dom0_args", dom0);
        put(&mut doc, "boot", boot);

        let mut packages = Table::new();
        if !self.add_rpms.is_empty() {
            // Each file becomes a glob that matches exactly itself.
            let globs = self
                .add_rpms
                .iter()
                .map(|rpm| match abs(rpm)? {
                    Value::String(s) => Ok(Value::String(glob::Pattern::escape(&s))),
                    other => Ok(other),
                })
                .collect::<Result<Vec<_>, Error>>()?;
            packages.insert("add".into(), Value::Array(globs));
        }
        put(&mut doc, "packages", packages);

        let body = finish(&doc)?;
        Ok(format!(
            "# Written by `isoremix build --print-profile`; build it with `isoremix build FILE`.\n\n{body}"
        ))
    }

    /// The profile itself: [`QuickProfile::to_toml`] validated like a profile
    /// file, so every value is checked by the same rules.
    pub fn to_profile(&self, cwd: &Path) -> Result<Profile, Error> {
        let text = self.to_toml(cwd)?;
        Profile::from_str_with(
            &text,
            Path::new(QUICK_PROFILE_NAME),
            cwd,
            &Overrides::default(),
        )
    }
}

fn table<const N: usize>(entries: [(&str, Value); N]) -> Table {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}
