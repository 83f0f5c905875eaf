//! From the TOML shape ([`super::schema`]) to the typed profile: resolves paths, expands globs and
//! checks every value, reporting the first problem with its `file:line:col`.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde_spanned::Spanned;

use super::location::{LineIndex, Located, Origin};
use super::rules::{
    boot_arg_problem, image_path_problem, is_dotted_numbers, is_env_name, is_kernel_version,
    is_rpm_name, is_version, key_wording, normalize_uuid, parse_mode, volume_id_problem,
};
use super::schema::{self, Str};
use super::{
    ArgEdits, BootEdits, DiskSource, Driver, DriverDisk, DriverDiskProfile, DriverSource, Error,
    InstallerEdits, InstallerFile, InstallerMode, IsoEdits, IsoFile, ModuleDir, ModuleSet,
    NewBootEntry, Output, Overrides, PackageEdits, Profile, Signing, Source, SourceIso,
    TreeinfoEdits,
};

/// The longest menu timeout isolinux accepts (35996 tenths of a second), in whole seconds.
const MAX_TIMEOUT_SECONDS: i64 = 3599;
/// The default permission bits of a file added to the installer.
pub(crate) const DEFAULT_FILE_MODE: u32 = 0o644;

/// Validates a remaster profile.
pub(crate) fn remaster(
    text: &str,
    file: &Path,
    base_dir: &Path,
    overrides: &Overrides,
) -> Result<Profile, Error> {
    let index = LineIndex::new(text, file);
    let cx = Cx {
        index: &index,
        base_dir,
    };
    let doc = cx.parse(text)?;
    if let Some(dd) = &doc.driver_disk {
        return Err(Error::MisplacedSection {
            at: cx.at(dd.span()),
            section: "driver_disk",
            reason: "a driver disk is built from a profile of its own ([driver_disk], [output], \
                     [signing]) with `isoremix driver-disk`",
        });
    }

    let source = match &overrides.source_iso {
        Some(iso) => Source { iso: iso.clone() },
        None => {
            let s = doc.source.as_ref().ok_or_else(|| cx.missing("source"))?;
            Source {
                iso: cx.source_iso(&s.get_ref().iso)?,
            }
        }
    };
    let output = cx.output(doc.output.as_ref(), overrides.output_iso.as_deref())?;
    if overrides.output_iso.is_none()
        && let (SourceIso::File(src), Some(out)) = (&source.iso, &doc.output)
        && *src == output.iso
    {
        return Err(Error::Conflict {
            at: cx.at(out.get_ref().iso.span()),
            problem: format!(
                "the output ISO `{}` is the source ISO; choose another path",
                output.iso.display()
            ),
        });
    }

    let profile = Profile {
        file: file.to_path_buf(),
        base_dir: base_dir.to_path_buf(),
        text: text.to_owned(),
        source,
        output,
        iso: doc
            .iso
            .as_ref()
            .map(|s| cx.iso(s.get_ref()))
            .transpose()?
            .unwrap_or_default(),
        installer: doc
            .installer
            .as_ref()
            .map(|s| cx.installer(s.get_ref()))
            .transpose()?
            .unwrap_or_default(),
        boot: doc
            .boot
            .as_ref()
            .map(|s| cx.boot(s.get_ref()))
            .transpose()?
            .unwrap_or_default(),
        packages: doc
            .packages
            .as_ref()
            .map(|s| cx.packages(s.get_ref()))
            .transpose()?
            .unwrap_or_default(),
        treeinfo: doc
            .treeinfo
            .as_ref()
            .map(|s| cx.treeinfo(s.get_ref()))
            .transpose()?
            .unwrap_or_default(),
        signing: doc
            .signing
            .as_ref()
            .map(|s| cx.signing(s.get_ref()))
            .transpose()?,
        drivers: match &doc.drivers {
            Some(list) => list
                .get_ref()
                .iter()
                .map(|d| cx.driver(d))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        },
    };
    install_img_edited_once(&profile)?;
    Ok(profile)
}

/// Refuses `[iso]` replacing or removing /install.img while `[installer]` or `[[drivers]]`
/// edit its content: one of the two would be lost, depending on the order of steps.
fn install_img_edited_once(profile: &Profile) -> Result<(), Error> {
    let image = crate::xcpng::INSTALL_IMG;
    let by_iso = (profile.iso.remove.iter().map(|r| ("[iso] remove", r)))
        .chain(
            profile
                .iso
                .files
                .iter()
                .map(|f| ("[[iso.files]] dest", &f.dest)),
        )
        .find(|(_, at)| at.value == image);
    let Some((iso_what, iso_at)) = by_iso else {
        return Ok(());
    };
    let inst = &profile.installer;
    let edits = (inst
        .remove
        .iter()
        .map(|r| (format!("[installer] remove `{}`", r.value), &r.origin)))
    .chain(inst.files.iter().map(|f| {
        (
            format!("[[installer.files]] dest `{}`", f.dest.value),
            &f.dest.origin,
        )
    }))
    .chain(inst.patches.iter().map(|p| {
        (
            format!("[installer] patches `{}`", p.value.display()),
            &p.origin,
        )
    }))
    .chain(inst.answerfile.iter().map(|a| {
        (
            format!("[installer] answerfile `{}`", a.value.display()),
            &a.origin,
        )
    }))
    .chain(
        profile
            .drivers
            .iter()
            .filter(|d| d.installer)
            .map(|d| ("[[drivers]] (into the installer)".to_string(), &d.origin)),
    );
    let Some((inst_what, inst_at)) = edits.min_by(|a, b| a.1.cmp(b.1)) else {
        return Ok(());
    };
    let iso_what = format!("{iso_what} `{}`", iso_at.value);
    let why = "install.img cannot be both replaced or removed and edited";
    let (at, what, first) = if iso_at.origin < *inst_at {
        (
            inst_at.clone(),
            inst_what,
            format!("{iso_what} at {}", iso_at.origin),
        )
    } else {
        (
            iso_at.origin.clone(),
            iso_what,
            format!("{inst_what} at {inst_at}"),
        )
    };
    Err(Error::EditConflict {
        at,
        what,
        first,
        why,
    })
}

/// Validates a driver-disk profile.
pub(crate) fn driver_disk(
    text: &str,
    file: &Path,
    base_dir: &Path,
    output_iso: Option<&Path>,
) -> Result<DriverDiskProfile, Error> {
    let index = LineIndex::new(text, file);
    let cx = Cx {
        index: &index,
        base_dir,
    };
    let doc = cx.parse(text)?;
    const REASON: &str = "a driver-disk profile has only [driver_disk], [output] and [signing]";
    let misplaced = [
        ("source", doc.source.as_ref().map(Spanned::span)),
        ("iso", doc.iso.as_ref().map(Spanned::span)),
        ("installer", doc.installer.as_ref().map(Spanned::span)),
        ("boot", doc.boot.as_ref().map(Spanned::span)),
        ("packages", doc.packages.as_ref().map(Spanned::span)),
        ("treeinfo", doc.treeinfo.as_ref().map(Spanned::span)),
        ("drivers", doc.drivers.as_ref().map(Spanned::span)),
    ];
    if let Some((section, span)) = misplaced
        .into_iter()
        .filter_map(|(section, span)| span.map(|s| (section, s)))
        .min_by_key(|(_, span)| span.start)
    {
        return Err(Error::MisplacedSection {
            at: cx.at(span),
            section,
            reason: REASON,
        });
    }
    let dd = doc
        .driver_disk
        .as_ref()
        .ok_or_else(|| cx.missing("driver_disk"))?;
    Ok(DriverDiskProfile {
        file: file.to_path_buf(),
        base_dir: base_dir.to_path_buf(),
        output: cx.output(doc.output.as_ref(), output_iso)?,
        signing: doc
            .signing
            .as_ref()
            .map(|s| cx.signing(s.get_ref()))
            .transpose()?,
        driver_disk: cx.driver_disk(dd)?,
    })
}

/// The input a driver or driver disk takes its modules from.
enum RpmOrKo<'d> {
    /// `rpm`: a driver RPM.
    Rpm(&'d Str),
    /// `ko`: kernel modules.
    Ko(&'d Spanned<schema::StrList>),
}

/// Validation context: positions and the folder relative paths resolve against.
struct Cx<'a> {
    index: &'a LineIndex<'a>,
    base_dir: &'a Path,
}

impl Cx<'_> {
    fn at(&self, span: Range<usize>) -> Origin {
        self.index.origin(span)
    }

    fn loc<T: Clone>(&self, s: &Spanned<T>) -> Located<T> {
        Located::new(s.get_ref().clone(), self.at(s.span()))
    }

    fn missing(&self, section: &'static str) -> Error {
        Error::MissingSection {
            file: self.index.file().to_path_buf(),
            section,
        }
    }

    fn parse(&self, text: &str) -> Result<schema::Document, Error> {
        toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let parser = key_wording(e.message());
            // The hint first, the parser's own words after it.
            let message = match super::error::type_hint(text, span.start, e.message()) {
                Some(hint) => format!("{hint} ({parser})"),
                None => parser,
            };
            Error::Toml {
                at: self.index.origin(span),
                message,
            }
        })
    }

    // ---- paths -------------------------------------------------------------------------------

    fn resolve(&self, s: &Str) -> Result<PathBuf, Error> {
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
    fn input_file(&self, s: &Str, what: &'static str) -> Result<Located<PathBuf>, Error> {
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
    fn input_with_ending(
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
    fn image_path(&self, s: &Str) -> Result<Located<String>, Error> {
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
    fn unique_dest(
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

    // ---- sections ----------------------------------------------------------------------------

    fn source_iso(&self, s: &Str) -> Result<SourceIso, Error> {
        let value = s.get_ref();
        if value.starts_with("builtin:") {
            return value.parse().map_err(|source| Error::Builtin {
                at: self.at(s.span()),
                source,
            });
        }
        Ok(SourceIso::File(self.input_file(s, "source ISO")?.value))
    }

    fn output(
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

    fn iso(&self, iso: &schema::Iso) -> Result<IsoEdits, Error> {
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

    fn installer(&self, inst: &schema::Installer) -> Result<InstallerEdits, Error> {
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
                let f = f.get_ref();
                Ok(InstallerFile {
                    src: self.input_file(&f.src, "file")?,
                    dest: self.unique_dest(&mut seen, &f.dest)?,
                    mode: match &f.mode {
                        Some(m) => self.mode(m)?,
                        None => DEFAULT_FILE_MODE,
                    },
                })
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

    fn mode(&self, s: &Str) -> Result<u32, Error> {
        parse_mode(s.get_ref()).ok_or_else(|| Error::Mode {
            at: self.at(s.span()),
            mode: s.get_ref().clone(),
        })
    }

    fn boot(&self, boot: &schema::Boot) -> Result<BootEdits, Error> {
        let entries = match &boot.entries {
            None => None,
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(Error::Conflict {
                        at: self.at(list.span()),
                        problem: "`entries` is empty; leave it out to edit every entry that \
                                  boots Xen"
                            .into(),
                    });
                }
                let mut seen = BTreeMap::new();
                let mut out = Vec::new();
                for s in list.get_ref() {
                    let label = self.label(s, "boot entry label")?;
                    if let Some(first) = seen.insert(label.value.clone(), label.origin.clone()) {
                        return Err(Error::Conflict {
                            at: label.origin,
                            problem: format!(
                                "entry `{}` is already listed at {first}",
                                label.value
                            ),
                        });
                    }
                    out.push(label);
                }
                Some(out)
            }
        };
        let mut labels = BTreeMap::new();
        let mut new_entries = Vec::new();
        for e in &boot.entry {
            let origin = self.at(e.span());
            let e = e.get_ref();
            let label = self.label(&e.label, "boot entry label")?;
            if let Some(first) = labels.insert(label.value.clone(), label.origin.clone()) {
                return Err(Error::Conflict {
                    at: label.origin,
                    problem: format!(
                        "a new boot entry `{}` is already defined at {first}",
                        label.value
                    ),
                });
            }
            new_entries.push(NewBootEntry {
                label,
                title: self.title(&e.title)?,
                from: self.label(&e.from, "boot entry label")?,
                xen_args: self.arg_edits(e.xen_args.as_ref())?,
                dom0_args: self.arg_edits(e.dom0_args.as_ref())?,
                origin,
            });
        }
        let timeout = match &boot.timeout {
            None => None,
            Some(t) => {
                let value = *t.get_ref();
                let secs = u32::try_from(value)
                    .ok()
                    .filter(|&v| i64::from(v) <= MAX_TIMEOUT_SECONDS)
                    .ok_or_else(|| Error::Range {
                        at: self.at(t.span()),
                        key: "timeout",
                        value,
                        expected: "0 to 3599 seconds (isolinux's limit)",
                    })?;
                Some(Located::new(secs, self.at(t.span())))
            }
        };
        Ok(BootEdits {
            entries,
            xen_args: self.arg_edits(boot.xen_args.as_ref())?,
            dom0_args: self.arg_edits(boot.dom0_args.as_ref())?,
            default: boot
                .default
                .as_ref()
                .map(|d| self.label(d, "boot entry label"))
                .transpose()?,
            timeout,
            efi_fallback: boot.efi_fallback.unwrap_or(false),
            new_entries,
        })
    }

    fn arg_edits(&self, edits: Option<&Spanned<schema::ArgEdits>>) -> Result<ArgEdits, Error> {
        let Some(edits) = edits.map(Spanned::get_ref) else {
            return Ok(ArgEdits::default());
        };
        let args = |list: &[Str]| -> Result<Vec<Located<String>>, Error> {
            list.iter().map(|a| self.boot_arg(a)).collect()
        };
        Ok(ArgEdits {
            set: args(&edits.set)?,
            add: args(&edits.add)?,
            remove: args(&edits.remove)?,
        })
    }

    fn boot_arg(&self, s: &Str) -> Result<Located<String>, Error> {
        match boot_arg_problem(s.get_ref()) {
            None => Ok(self.loc(s)),
            Some(problem) => Err(Error::BootArg {
                at: self.at(s.span()),
                arg: s.get_ref().clone(),
                problem,
            }),
        }
    }

    fn label(&self, s: &Str, what: &'static str) -> Result<Located<String>, Error> {
        let v = s.get_ref();
        if v.is_empty()
            || !v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(self.bad_name(s, what, "must be letters, digits, `.`, `_` or `-`"));
        }
        Ok(self.loc(s))
    }

    fn title(&self, s: &Str) -> Result<Located<String>, Error> {
        let v = s.get_ref();
        if v.trim().is_empty() {
            return Err(self.bad_name(s, "boot entry title", "is empty"));
        }
        if v.chars().any(char::is_control) {
            return Err(self.bad_name(s, "boot entry title", "has a control character"));
        }
        if v.contains(['"', '\\', '$']) {
            return Err(self.bad_name(
                s,
                "boot entry title",
                "contains `\"`, `\\` or `$`, which a GRUB menu title cannot carry as written",
            ));
        }
        Ok(self.loc(s))
    }

    fn packages(&self, p: &schema::Packages) -> Result<PackageEdits, Error> {
        let mut added: BTreeMap<PathBuf, Origin> = BTreeMap::new();
        for pattern in &p.add {
            for path in self.expand_glob(pattern)? {
                added.entry(path).or_insert_with(|| self.at(pattern.span()));
            }
        }
        let names = |list: &[Str]| -> Result<Vec<Located<String>>, Error> {
            list.iter()
                .map(|n| self.rpm_name(n, "package name"))
                .collect()
        };
        Ok(PackageEdits {
            add: added
                .into_iter()
                .map(|(path, origin)| Located::new(path, origin))
                .collect(),
            remove: names(&p.remove)?,
            install: names(&p.install)?,
            group: p
                .group
                .as_ref()
                .map(|g| self.label(g, "comps group id"))
                .transpose()?,
            meta: p
                .meta
                .as_ref()
                .map(|m| self.rpm_name(m, "meta-package name"))
                .transpose()?,
            allow_downgrade: p.allow_downgrade.unwrap_or(false),
            from: p
                .from
                .iter()
                .map(|d| self.input_dir(d, "package pool folder"))
                .collect::<Result<_, _>>()?,
            update: p.update.unwrap_or(false),
            allow_unresolved: names(&p.allow_unresolved)?,
        })
    }

    /// A local input folder: resolved, must exist and be a folder.
    fn input_dir(&self, s: &Str, what: &'static str) -> Result<Located<PathBuf>, Error> {
        self.input_path(s, what, fs::Metadata::is_dir, "is not a folder")
    }

    /// Expands one `[packages] add` glob against the profile's folder: the regular files it
    /// matches, each ending with `.rpm`; at least one.
    fn expand_glob(&self, s: &Str) -> Result<Vec<PathBuf>, Error> {
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

    fn rpm_name(&self, s: &Str, what: &'static str) -> Result<Located<String>, Error> {
        if is_rpm_name(s.get_ref()) {
            Ok(self.loc(s))
        } else {
            Err(self.bad_name(
                s,
                what,
                "is not a valid RPM name (letters, digits and `._+-`, not starting with `.`, \
                 `+` or `-`)",
            ))
        }
    }

    fn treeinfo(&self, t: &schema::Treeinfo) -> Result<TreeinfoEdits, Error> {
        let product_version = match &t.product_version {
            None => None,
            Some(v) if is_dotted_numbers(v.get_ref()) => Some(self.loc(v)),
            Some(v) => {
                return Err(self.bad_name(
                    v,
                    "product version",
                    "must be dotted numbers (like 8.3.0): the installer compares versions \
                     numerically",
                ));
            }
        };
        Ok(TreeinfoEdits {
            build_number: t
                .build_number
                .as_ref()
                .map(|v| self.treeinfo_text(v, "build number"))
                .transpose()?,
            product_name: t
                .product_name
                .as_ref()
                .map(|v| self.treeinfo_text(v, "product name"))
                .transpose()?,
            product_version,
        })
    }

    /// A `.treeinfo` value: one line that Python's ConfigParser reads back unchanged.
    fn treeinfo_text(&self, s: &Str, what: &'static str) -> Result<Located<String>, Error> {
        let v = s.get_ref();
        let problem = if v.is_empty() {
            Some("is empty")
        } else if v.chars().any(char::is_control) {
            Some("has a control character")
        } else if v.contains('%') {
            Some("contains `%`, which breaks the installer's ConfigParser")
        } else if v.trim() != v {
            Some("has leading or trailing whitespace, which ConfigParser drops")
        } else {
            None
        };
        match problem {
            None => Ok(self.loc(s)),
            Some(p) => Err(self.bad_name(s, what, p)),
        }
    }

    fn signing(&self, s: &schema::Signing) -> Result<Signing, Error> {
        let passphrase_env = match &s.passphrase_env {
            None => None,
            Some(v) if is_env_name(v.get_ref()) => Some(self.loc(v)),
            Some(v) => {
                return Err(self.bad_name(
                    v,
                    "environment variable name",
                    "must be letters, digits and `_`, not starting with a digit",
                ));
            }
        };
        Ok(Signing {
            key: self.input_file(&s.key, "signing key")?,
            passphrase_env,
        })
    }

    /// The one of `rpm` and `ko` that `what` (a driver or a driver disk, whose table is at
    /// `origin`) names: both or neither is an error.
    fn rpm_or_ko<'d>(
        &self,
        what: &str,
        origin: &Origin,
        rpm: &'d Option<Str>,
        ko: &'d Option<Spanned<schema::StrList>>,
    ) -> Result<RpmOrKo<'d>, Error> {
        match (rpm, ko) {
            (Some(_), Some(ko)) => Err(Error::DriverSource {
                at: self.at(ko.span()),
                problem: format!("{what} has either `rpm` or `ko`, not both"),
            }),
            (None, None) => Err(Error::DriverSource {
                at: origin.clone(),
                problem: format!("{what} needs `rpm` (a driver RPM) or `ko` (kernel modules)"),
            }),
            (Some(rpm), None) => Ok(RpmOrKo::Rpm(rpm)),
            (None, Some(ko)) => Ok(RpmOrKo::Ko(ko)),
        }
    }

    fn driver(&self, d: &Spanned<schema::Driver>) -> Result<Driver, Error> {
        let origin = self.at(d.span());
        let d = d.get_ref();
        let source = match self.rpm_or_ko("a driver", &origin, &d.rpm, &d.ko)? {
            RpmOrKo::Rpm(rpm) => {
                let only_ko = [
                    ("name", d.name.as_ref().map(Spanned::span)),
                    ("version", d.version.as_ref().map(Spanned::span)),
                    ("dir", d.dir.as_ref().map(Spanned::span)),
                    ("kernel", d.kernel.as_ref().map(Spanned::span)),
                ];
                self.reject_with_rpm(&only_ko)?;
                DriverSource::Rpm(self.driver_rpm(rpm)?)
            }
            RpmOrKo::Ko(ko) => {
                let Some(name) = &d.name else {
                    return Err(Error::DriverSource {
                        at: self.at(ko.span()),
                        problem: "`name` is required with `ko`: the RPM to wrap the modules in"
                            .into(),
                    });
                };
                DriverSource::Modules {
                    modules: self.modules(ko, d.dir.as_ref(), d.kernel.as_ref())?,
                    package: self.rpm_name(name, "driver package name")?,
                    version: d.version.as_ref().map(|v| self.version(v)).transpose()?,
                }
            }
        };
        Ok(Driver {
            source,
            installer: d.installer.unwrap_or(true),
            system: d.system.unwrap_or(true),
            force: d.force.unwrap_or(false),
            origin,
        })
    }

    fn driver_disk(&self, dd: &Spanned<schema::DriverDisk>) -> Result<DriverDisk, Error> {
        let origin = self.at(dd.span());
        let d = dd.get_ref();
        let source = match self.rpm_or_ko("a driver disk", &origin, &d.rpm, &d.ko)? {
            RpmOrKo::Rpm(rpm) => {
                let only_ko = [
                    ("dir", d.dir.as_ref().map(Spanned::span)),
                    ("kernel", d.kernel.as_ref().map(Spanned::span)),
                ];
                self.reject_with_rpm(&only_ko)?;
                DiskSource::Rpm(self.driver_rpm(rpm)?)
            }
            RpmOrKo::Ko(ko) => {
                DiskSource::Modules(self.modules(ko, d.dir.as_ref(), d.kernel.as_ref())?)
            }
        };
        let description = match &d.description {
            None => None,
            Some(s) if s.get_ref().trim().is_empty() => {
                return Err(self.bad_name(s, "description", "is empty"));
            }
            Some(s) if s.get_ref().chars().any(|c| c.is_control() && c != '\n') => {
                return Err(self.bad_name(s, "description", "has a control character"));
            }
            Some(s) => Some(self.loc(s)),
        };
        let uuid = match &d.uuid {
            None => None,
            Some(s) => match normalize_uuid(s.get_ref()) {
                Some(u) => Some(Located::new(u, self.at(s.span()))),
                None => {
                    return Err(self.bad_name(
                        s,
                        "uuid",
                        "is not a UUID (8-4-4-4-12 hexadecimal digits)",
                    ));
                }
            },
        };
        Ok(DriverDisk {
            name: self.rpm_name(&d.name, "driver disk name")?,
            version: d.version.as_ref().map(|v| self.version(v)).transpose()?,
            description,
            source,
            force: d.force.unwrap_or(false),
            uuid,
            origin,
        })
    }

    fn reject_with_rpm(&self, keys: &[(&str, Option<Range<usize>>)]) -> Result<(), Error> {
        if let Some((key, span)) = keys
            .iter()
            .find_map(|(k, s)| s.as_ref().map(|s| (k, s.clone())))
        {
            return Err(Error::DriverSource {
                at: self.at(span),
                problem: format!(
                    "`{key}` only goes with `ko` (kernel modules); a driver RPM brings its own"
                ),
            });
        }
        Ok(())
    }

    fn driver_rpm(&self, s: &Str) -> Result<Located<PathBuf>, Error> {
        self.input_with_ending(s, "driver RPM", &[".rpm"], "`.rpm`")
    }

    fn modules(
        &self,
        ko: &Spanned<Vec<Str>>,
        dir: Option<&Spanned<schema::ModuleDir>>,
        kernel: Option<&Str>,
    ) -> Result<ModuleSet, Error> {
        if ko.get_ref().is_empty() {
            return Err(Error::DriverSource {
                at: self.at(ko.span()),
                problem: "`ko` is empty; list at least one kernel module".into(),
            });
        }
        let files = ko
            .get_ref()
            .iter()
            .map(|k| {
                self.input_with_ending(
                    k,
                    "kernel module",
                    &[".ko", ".ko.xz", ".ko.zst"],
                    "`.ko`, `.ko.xz` or `.ko.zst`",
                )
            })
            .collect::<Result<_, _>>()?;
        let kernel = match kernel {
            None => None,
            Some(k) if is_kernel_version(k.get_ref()) => Some(self.loc(k)),
            Some(k) => {
                return Err(self.bad_name(
                    k,
                    "kernel version",
                    "must be letters, digits and `._+-~`, not starting with `.`",
                ));
            }
        };
        Ok(ModuleSet {
            ko: files,
            dir: match dir.map(Spanned::get_ref) {
                None | Some(schema::ModuleDir::Updates) => ModuleDir::Updates,
                Some(schema::ModuleDir::Extra) => ModuleDir::Extra,
                Some(schema::ModuleDir::Override) => ModuleDir::Override,
            },
            kernel,
        })
    }

    fn version(&self, s: &Str) -> Result<Located<String>, Error> {
        if is_version(s.get_ref()) {
            Ok(self.loc(s))
        } else {
            Err(self.bad_name(
                s,
                "version",
                "must be letters, digits and `._+~^`, with at most one `-` between version and \
                 release",
            ))
        }
    }

    fn bad_name(&self, s: &Str, what: &'static str, problem: &str) -> Error {
        Error::Name {
            at: self.at(s.span()),
            what,
            value: s.get_ref().clone(),
            problem: problem.to_owned(),
        }
    }
}

/// Refuses two edits of one path inside one image: a path removed twice, removed and written
/// (which one wins would depend on the order of steps), or a file written under a path that is
/// written as a file too. Two writes of one path are refused by `unique_dest` already.
fn one_edit_per_path(
    removed: (&'static str, &[Located<String>]),
    written: (&'static str, &[&Located<String>]),
) -> Result<(), Error> {
    let conflict = |what, at: &Located<String>, first_what, first: &Located<String>, why| {
        Error::EditConflict {
            at: at.origin.clone(),
            what: format!("{what} `{}`", at.value),
            first: format!("{first_what} `{}` at {}", first.value, first.origin),
            why,
        }
    };
    let mut removes: BTreeMap<&str, &Located<String>> = BTreeMap::new();
    for r in removed.1 {
        if let Some(first) = removes.insert(&r.value, r) {
            return Err(conflict(removed.0, r, removed.0, first, "removed twice"));
        }
    }
    let files: BTreeMap<&str, &Located<String>> =
        written.1.iter().map(|w| (w.value.as_str(), *w)).collect();
    for w in written.1 {
        if let Some(first) = removes.get(w.value.as_str()) {
            let (a, b) = if first.origin < w.origin {
                ((written.0, *w), (removed.0, *first))
            } else {
                ((removed.0, *first), (written.0, *w))
            };
            return Err(conflict(
                a.0,
                a.1,
                b.0,
                b.1,
                "one path is both removed and written",
            ));
        }
        // `/a/b` written while `/a` is written as a file.
        let mut parent = w.value.as_str();
        while let Some((up, _)) = parent.rsplit_once('/') {
            parent = up;
            if let Some(first) = files.get(parent) {
                return Err(conflict(
                    written.0,
                    w,
                    written.0,
                    first,
                    "a path written as a file cannot hold other files",
                ));
            }
        }
    }
    Ok(())
}
