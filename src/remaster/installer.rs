//! Step `[installer]`: the profile's edits of install.img (files, removals,
//! patches, the answer file) translated into [`initrd::Edits`]; `initrd::rewrite`
//! chooses how to write them (an appended overlay, a splice of the bzip2 blocks
//! holding the changed entries, or a parallel re-pack) and this step names the
//! reason in the profile's words. The answer file's boot arguments are handed
//! on to the boot step.

use super::changes::InstallImgChange;
use super::{At, Context, Error};
use crate::answerfile;
use crate::initrd::{self, Content, Edits, PutEntry, PutKind, Reason, Strategy};
use crate::iso::{NewContent, SourceIso, Span};
use crate::patch::Patch;
use crate::profile::{InstallerEdits, InstallerMode, Located};

/// Where the embedded answer file goes inside install.img.
use crate::xcpng::ANSWERFILE as ANSWERFILE_PATH;
/// The image inside the ISO.
use crate::xcpng::INSTALL_IMG;

/// What later steps need to know about the installer edits.
#[derive(Debug, Default)]
pub struct Outcome {
    /// dom0 arguments the boot menus must get.
    pub dom0_args: Vec<String>,
    /// The embedded answer file (path on the host), when there is one.
    pub answerfile: Option<std::path::PathBuf>,
    /// How install.img is rewritten; `None` when it is kept.
    pub change: Option<InstallImgChange>,
    /// The check of the cached install.img index the new install.img relies on, still
    /// running: the image may be put in place only if it holds.
    pub check: Option<initrd::PendingCheck>,
}

/// An install.img path as users write it and the report shows it: absolute.
fn shown(path: &[u8]) -> String {
    let text = String::from_utf8_lossy(path);
    let rel = text.strip_prefix("./").unwrap_or(&text);
    format!("/{}", rel.trim_start_matches('/'))
}

/// Why the profile's `mode` and the image lead to the strategy [`initrd::rewrite()`] chose.
fn why(mode: InstallerMode, reason: &Reason) -> String {
    match (mode, reason) {
        (InstallerMode::Repack, _) => "[installer] mode = \"repack\"".into(),
        (InstallerMode::Overlay, _) => "[installer] mode = \"overlay\"".into(),
        (_, Reason::Removal(p, None)) => format!(
            "removing {} needs a re-pack: an appended overlay cannot delete",
            shown(p)
        ),
        (_, Reason::Removal(p, Some(no_splice))) => format!(
            "removing {} needs a re-pack: an appended overlay cannot delete, and the bzip2 blocks cannot be spliced ({no_splice})",
            shown(p)
        ),
        (_, Reason::NoSplice(no_splice)) => format!(
            "nothing removed: an archive appended after the source's bytes, kept as they are (the bzip2 blocks cannot be spliced: {no_splice})"
        ),
        (_, Reason::Spliced(s)) => format!(
            "only the bzip2 blocks holding the changed entries are encoded again ({} of {} blocks), the others copied as they are ({} of {} bytes the source's; {} unused selectors added to keep them byte-aligned)",
            s.blocks_rewritten,
            s.blocks_rewritten + s.blocks_kept,
            s.kept_bytes,
            s.written,
            s.selectors_added
        ),
        (_, Reason::OnlyAdded | Reason::Forced) => {
            "nothing removed: an archive appended after the source's bytes, kept as they are".into()
        }
    }
}

/// What the build does to install.img, for the report.
fn change(done: &initrd::Rewritten, mode: InstallerMode) -> InstallImgChange {
    let changes = &done.changes;
    InstallImgChange {
        strategy: match done.strategy {
            Strategy::Overlay => "overlay",
            Strategy::Repack => "repack",
            Strategy::Splice => "splice",
        },
        why: why(mode, &done.reason),
        written: changes
            .puts
            .iter()
            .filter(|p| !matches!(p.kind, PutKind::Dir))
            .map(|p| shown(&p.path))
            .collect(),
        removed: changes.removes.iter().map(|p| shown(p)).collect(),
    }
}

/// Reads the host file `at` names.
fn read_host_file(at: &Located<std::path::PathBuf>) -> Result<Vec<u8>, Error> {
    crate::input::read(&at.value).map_err(|source| Error::HostFile {
        at: At::from(&at.origin),
        action: "read",
        path: at.value.clone(),
        source,
    })
}

/// The ISO layer's error for `action` on install.img.
fn install_img_edit(action: &'static str) -> impl FnOnce(crate::iso::Error) -> Error {
    move |e| Error::IsoEdit {
        at: At::Section("[installer]"),
        action,
        path: INSTALL_IMG.to_string(),
        source: Box::new(e),
    }
}

/// Turns `[installer]` into initrd edits (plain data).
fn edits(profile: &InstallerEdits, extra: &[PutEntry], mtime: u32) -> Result<Edits, Error> {
    let mut out = Edits {
        mtime,
        ..Edits::default()
    };
    for f in &profile.files {
        out.put.push(PutEntry {
            path: f.dest.value.as_bytes().to_vec(),
            kind: PutKind::File(Content::HostFile(f.src.value.clone())),
            mode: f.mode,
            uid: 0,
            gid: 0,
            mtime,
        });
    }
    out.put.extend_from_slice(extra);
    for r in &profile.remove {
        out.remove.push(r.value.as_bytes().to_vec());
    }
    for p in &profile.patches {
        let text = read_host_file(p)?;
        let patch =
            Patch::parse(&p.value.display().to_string(), &text).map_err(|e| Error::Patch {
                at: At::from(&p.origin),
                source: Box::new(e),
            })?;
        patch_not_removed(p, &patch, &profile.remove)?;
        out.patches.push(patch);
    }
    Ok(out)
}

/// Refuses a patch that changes a path `[installer] remove` takes away (or a path below it):
/// removals come first, so the patch could never apply. Both profile lines are named. (A patch
/// may change what `[[installer.files]]` put or an earlier patch changed: they apply in order.)
fn patch_not_removed(
    at: &Located<std::path::PathBuf>,
    patch: &Patch,
    removed: &[Located<String>],
) -> Result<(), Error> {
    let bare = |p: &[u8]| -> Vec<u8> {
        p.split(|&b| b == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
            .collect::<Vec<_>>()
            .join(&b'/')
    };
    for file in &patch.files {
        let target = bare(file.path());
        for r in removed {
            let gone = bare(r.value.as_bytes());
            let below = target.len() > gone.len()
                && target.starts_with(&gone)
                && target[gone.len()] == b'/';
            if target == gone || below {
                return Err(crate::profile::Error::EditConflict {
                    at: at.origin.clone(),
                    what: format!(
                        "[installer] patches `{}` (changes /{})",
                        at.value.display(),
                        String::from_utf8_lossy(&target)
                    ),
                    first: format!("[installer] remove `{}` at {}", r.value, r.origin),
                    why: "removals come before patches, so the patch has nothing to change",
                }
                .into());
            }
        }
    }
    Ok(())
}

/// How install.img is rewritten for `profile`.
pub(super) fn rewrite_options(
    profile: &InstallerEdits,
    cx: &Context<'_>,
) -> initrd::RewriteOptions {
    initrd::RewriteOptions {
        forced: match profile.mode {
            InstallerMode::Auto => None,
            InstallerMode::Overlay => Some(Strategy::Overlay),
            InstallerMode::Repack => Some(Strategy::Repack),
        },
        workdir: cx.workdir.to_path_buf(),
        cache_dir: initrd::index_cache::default_dir(),
        progress: cx.progress.clone(),
    }
}

/// Whether `profile` will likely re-pack install.img (so that a read of it made before should
/// spool its data).
pub(super) fn likely_repack(profile: &InstallerEdits) -> bool {
    match profile.mode {
        InstallerMode::Repack => true,
        InstallerMode::Overlay => false,
        InstallerMode::Auto => !profile.remove.is_empty(),
    }
}

/// The `[installer]` edits read and checked, before install.img is rewritten.
#[derive(Debug, Default)]
pub struct Prepared {
    /// What later steps need to know; completed by [`apply`].
    pub outcome: Outcome,
    /// The edits of install.img; `None` when it is kept as it is.
    edits: Option<Edits>,
}

impl Prepared {
    /// Whether [`apply`] rewrites install.img.
    pub fn rewrites(&self) -> bool {
        self.edits.is_some()
    }
}

/// Reads `[installer]`: the answer file (checked, with `answerfile_attributes` set on its
/// `<installation>` element, e.g. `gpgcheck="false"`), the patches, and the edits of
/// install.img with `extra`, the entries other steps (drivers) put into it. The boot arguments
/// the answer file needs are known from here on; install.img is rewritten by [`apply`].
pub fn prepare(
    profile: &InstallerEdits,
    extra: &[PutEntry],
    answerfile_attributes: &[(String, String)],
    cx: &Context<'_>,
) -> Result<Prepared, Error> {
    let mut outcome = Outcome::default();
    let mtime = u32::try_from(cx.time).unwrap_or(u32::MAX);
    let mut extra = extra.to_vec();
    if let Some(af) = &profile.answerfile {
        let refused = |e| Error::AnswerFile {
            at: At::from(&af.origin),
            source: Box::new(e),
        };
        let text = read_host_file(af)?;
        answerfile::validate(&af.value.display().to_string(), &text).map_err(refused)?;
        let text = if answerfile_attributes.is_empty() {
            text
        } else {
            let name = af.value.display().to_string();
            let attrs: Vec<(&str, &str)> = answerfile_attributes
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            answerfile::set_root_attributes(&name, &text, &attrs).map_err(refused)?
        };
        extra.push(PutEntry {
            path: ANSWERFILE_PATH.as_bytes().to_vec(),
            kind: PutKind::File(Content::Bytes(text)),
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime,
        });
        outcome.dom0_args = vec![
            format!("answerfile=file://{ANSWERFILE_PATH}"),
            "install".into(),
        ];
        outcome.answerfile = Some(af.value.clone());
    }
    let kept = profile.files.is_empty()
        && profile.remove.is_empty()
        && profile.patches.is_empty()
        && extra.is_empty()
        && profile.mode != InstallerMode::Repack;
    let edits = match kept {
        true => None,
        false => Some(edits(profile, &extra, mtime)?),
    };
    Ok(Prepared { outcome, edits })
}

/// Rewrites the source's install.img with the edits `prepared` holds; `read` is the image as
/// the drivers step read it.
pub fn apply(
    source: &mut SourceIso,
    profile: &InstallerEdits,
    prepared: Prepared,
    read: Option<initrd::SourceRead>,
    cx: &mut Context<'_>,
) -> Result<Outcome, Error> {
    let Prepared { mut outcome, edits } = prepared;
    let Some(edits) = edits else {
        return Ok(outcome);
    };
    let options = rewrite_options(profile, cx);
    let image = source
        .open_file(INSTALL_IMG)
        .map_err(install_img_edit("read"))?;
    let len = image.len();
    // A second reader: a cached index of the image is checked beside the rest of the build.
    let check = source
        .open_detached(INSTALL_IMG)
        .map_err(install_img_edit("read"))?;
    let mut done = initrd::rewrite(image, len, &edits, &options, read, check).map_err(|e| {
        Error::InstallImg {
            source: Box::new(e),
        }
    })?;
    outcome.check = done.check.take();
    outcome.change = Some(change(&done, profile.mode));
    let changes = &done.changes;
    for put in &changes.puts {
        cx.details
            .push(format!("install.img: put {}", shown(&put.path)));
    }
    for path in &changes.removes {
        cx.details
            .push(format!("install.img: removed {}", shown(path)));
    }
    cx.details.extend(done.notes.iter().cloned());
    let (content, line) = match done.output {
        initrd::Output::Appended(bytes) => (
            NewContent::Appended(bytes),
            format!(
                "installer: {} entries appended to install.img as an overlay",
                changes.puts.len()
            ),
        ),
        initrd::Output::Spliced(pieces) => (
            NewContent::Spans(pieces.into_iter().map(span_of).collect()),
            format!(
                "installer: install.img spliced ({} entries changed, {} removed)",
                changes.puts.len(),
                changes.removes.len()
            ),
        ),
        initrd::Output::Replaced(path) => (
            NewContent::HostFile(path),
            format!(
                "installer: install.img re-packed ({} entries changed, {} removed)",
                changes.puts.len(),
                changes.removes.len()
            ),
        ),
    };
    source
        .put_file(INSTALL_IMG, content, cx.datetime)
        .map_err(install_img_edit("write"))?;
    cx.report.steps.push(line);
    Ok(outcome)
}

/// A piece of a spliced install.img as the image writer takes it.
fn span_of(piece: initrd::Piece) -> Span {
    match piece {
        initrd::Piece::Source { offset, len } => Span::Source { offset, len },
        initrd::Piece::New(bytes) => Span::Bytes(bytes),
    }
}
