//! From the TOML shape ([`super::schema`]) to the typed profile: resolves paths, expands globs and
//! checks every value, reporting the first problem with its `file:line:col`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde_spanned::Spanned;

mod boot;
mod drivers;
mod installer;
mod output;
mod package_build;
mod packages;
mod paths;
mod treeinfo;

use super::location::{LineIndex, Located, Origin};
use super::rules::key_wording;
use super::schema::{self, Str};
use super::{DriverDiskProfile, Error, Overrides, Profile, Source, SourceIso};

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
