//! Step `[installer]`: edits of install.img (files, removals, patches, the
//! answer file), written as an appended overlay when possible, else as a
//! parallel re-pack. The answer file's boot arguments are handed on to the
//! boot step.

use std::io::Read;

use super::changes::InstallImgChange;
use super::{Context, Error};
use crate::answerfile;
use crate::initrd::{self, Content, Edits, PutEntry, PutKind, Strategy};
use crate::iso::{NewContent, SourceIso};
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
}

/// An install.img path as users write it and the report shows it: absolute.
fn shown(path: &[u8]) -> String {
    let text = String::from_utf8_lossy(path);
    let rel = text.strip_prefix("./").unwrap_or(&text);
    format!("/{}", rel.trim_start_matches('/'))
}

/// Why the profile's `mode` and `changes` lead to the strategy [`initrd::plan`] chooses.
fn why(mode: InstallerMode, changes: &initrd::Changes) -> String {
    match (mode, changes.removes.first()) {
        (InstallerMode::Repack, _) => "[installer] mode = \"repack\"".into(),
        (InstallerMode::Overlay, _) => "[installer] mode = \"overlay\"".into(),
        (InstallerMode::Auto, Some(p)) => format!(
            "removing {} needs a re-pack: an appended overlay cannot delete",
            shown(p)
        ),
        (InstallerMode::Auto, None) => {
            "nothing removed: an archive appended after the source's bytes, kept as they are".into()
        }
    }
}

/// What the build does to install.img, for the report.
fn change(strategy: Strategy, mode: InstallerMode, changes: &initrd::Changes) -> InstallImgChange {
    InstallImgChange {
        strategy: match strategy {
            Strategy::Overlay => "overlay",
            Strategy::Repack => "repack",
        },
        why: why(mode, changes),
        written: changes
            .puts
            .iter()
            .filter(|p| !matches!(p.kind, PutKind::Dir))
            .map(|p| shown(&p.path))
            .collect(),
        removed: changes.removes.iter().map(|p| shown(p)).collect(),
    }
}

fn step_err<T>(at: &Located<T>, e: impl std::fmt::Display) -> Error {
    Error::Step {
        at: at.origin.to_string(),
        message: e.to_string(),
    }
}

fn whole(e: impl std::fmt::Display) -> Error {
    Error::Step {
        at: format!("[installer] {INSTALL_IMG}"),
        message: e.to_string(),
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
        let text = crate::input::read(&p.value).map_err(|e| step_err(p, e))?;
        let patch =
            Patch::parse(&p.value.display().to_string(), &text).map_err(|e| step_err(p, e))?;
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

/// Applies `[installer]` to the source's install.img. `extra` are entries
/// other steps (drivers) put into install.img; `answerfile_attributes` are
/// set on the embedded answer file's `<installation>` element (e.g.
/// `gpgcheck="false"`).
pub fn apply(
    source: &mut SourceIso,
    profile: &InstallerEdits,
    extra: &[PutEntry],
    answerfile_attributes: &[(String, String)],
    cx: &mut Context<'_>,
) -> Result<Outcome, Error> {
    let mut outcome = Outcome::default();
    let mtime = u32::try_from(cx.time).unwrap_or(u32::MAX);
    let mut extra = extra.to_vec();
    if let Some(af) = &profile.answerfile {
        let text = crate::input::read(&af.value).map_err(|e| step_err(af, e))?;
        answerfile::validate(&af.value.display().to_string(), &text)
            .map_err(|e| step_err(af, e))?;
        let text = if answerfile_attributes.is_empty() {
            text
        } else {
            let name = af.value.display().to_string();
            let attrs: Vec<(&str, &str)> = answerfile_attributes
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            answerfile::set_root_attributes(&name, &text, &attrs).map_err(|e| step_err(af, e))?
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
    if profile.files.is_empty()
        && profile.remove.is_empty()
        && profile.patches.is_empty()
        && extra.is_empty()
        && profile.mode != InstallerMode::Repack
    {
        return Ok(outcome);
    }
    let edits = edits(profile, &extra, mtime)?;
    let forced = match profile.mode {
        InstallerMode::Auto => None,
        InstallerMode::Overlay => Some(Strategy::Overlay),
        InstallerMode::Repack => Some(Strategy::Repack),
    };
    // Only adding files needs nothing from the image but its first bytes: the
    // overlay then carries every parent directory itself.
    let needs_tree =
        !edits.remove.is_empty() || !edits.patches.is_empty() || forced == Some(Strategy::Repack);
    let base_len = source.open_file(INSTALL_IMG).map_err(whole)?.len();
    // The files the patches change are kept while the tree is read, and for a repack the
    // decompressed data are spooled to a file: one decompression of the image per build.
    let will_repack =
        forced == Some(Strategy::Repack) || (forced.is_none() && !edits.remove.is_empty());
    let spool_path = cx.workdir.join("install.img.cpio");
    let (tree, kept) = if needs_tree {
        let bar = cx.progress.bytes("reading install.img", base_len);
        let reader = std::io::BufReader::with_capacity(
            1 << 20,
            bar.wrap_read(source.open_file(INSTALL_IMG).map_err(whole)?),
        );
        let targets = initrd::patch_targets(&edits).map_err(whole)?;
        let targets: Vec<&[u8]> = targets.iter().map(|t| t.as_slice()).collect();
        let read = if will_repack {
            let spool = std::io::BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create(&spool_path).map_err(whole)?,
            );
            initrd::Tree::read_spooling(reader, &targets, 64 << 20, Box::new(spool))
                .map_err(whole)?
        } else {
            initrd::Tree::read_keeping(reader, &targets, 64 << 20).map_err(whole)?
        };
        bar.finish();
        read
    } else {
        (initrd::Tree::new(), initrd::Kept::default())
    };
    let changes = initrd::prepare_kept(
        &edits,
        &tree,
        &kept,
        source.open_file(INSTALL_IMG).map_err(whole)?,
    )
    .map_err(whole)?;
    let strategy = initrd::plan(&changes, forced).map_err(whole)?;
    outcome.change = Some(change(strategy, profile.mode, &changes));
    for put in &changes.puts {
        cx.details
            .push(format!("install.img: put {}", shown(&put.path)));
    }
    for path in &changes.removes {
        cx.details
            .push(format!("install.img: removed {}", shown(path)));
    }
    match strategy {
        Strategy::Overlay => {
            let compression = match tree.last_compression() {
                Some(c) => c,
                None => {
                    let mut head = [0u8; 8];
                    let n = source
                        .open_file(INSTALL_IMG)
                        .map_err(whole)?
                        .read(&mut head)
                        .map_err(whole)?;
                    initrd::compression::detect(&head[..n]).ok_or_else(|| {
                        whole("install.img does not start with a known archive (bzip2, gzip, xz, zstd or newc)")
                    })?
                }
            };
            // The base is shipped as it is: its streams must at least be whole (one scan).
            let base = std::io::BufReader::with_capacity(
                1 << 20,
                source.open_file(INSTALL_IMG).map_err(whole)?,
            );
            initrd::overlay::check_base(base).map_err(whole)?;
            let mut overlay = Vec::new();
            initrd::write_overlay(base_len, compression, &changes, &mut overlay).map_err(whole)?;
            source
                .put_file(INSTALL_IMG, NewContent::Appended(overlay), cx.datetime)
                .map_err(whole)?;
            cx.report.steps.push(format!(
                "installer: {} entries appended to install.img as an overlay",
                changes.puts.len()
            ));
        }
        Strategy::Repack => {
            let path = cx.workdir.join("install.img");
            let out = std::fs::File::create(&path).map_err(whole)?;
            let options = initrd::RepackOptions {
                compression: tree
                    .last_compression()
                    .unwrap_or(initrd::Compression::Bzip2),
                ..initrd::RepackOptions::default()
            };
            let spooled = will_repack
                && tree
                    .segments()
                    .iter()
                    .all(|s| s.compression != initrd::Compression::None);
            // The bar counts the input read: the decompressed spool, or the image itself.
            let bar;
            if spooled {
                let spool = std::fs::File::open(&spool_path).map_err(whole)?;
                let len = spool.metadata().map_err(whole)?.len();
                bar = cx.progress.bytes("re-packing install.img", len);
                let spool = std::io::BufReader::with_capacity(1 << 20, bar.wrap_read(spool));
                initrd::repack_spooled(
                    spool,
                    &tree,
                    Some(&changes),
                    &options,
                    std::io::BufWriter::new(out),
                )
                .map_err(whole)?;
            } else {
                bar = cx.progress.bytes("re-packing install.img", base_len);
                let image = std::io::BufReader::with_capacity(
                    1 << 20,
                    bar.wrap_read(source.open_file(INSTALL_IMG).map_err(whole)?),
                );
                initrd::repack(
                    image,
                    &tree,
                    Some(&changes),
                    &options,
                    std::io::BufWriter::new(out),
                )
                .map_err(whole)?;
            }
            let _ = std::fs::remove_file(&spool_path);
            bar.finish();
            source
                .put_file(INSTALL_IMG, NewContent::HostFile(path), cx.datetime)
                .map_err(whole)?;
            cx.report.steps.push(format!(
                "installer: install.img re-packed ({} entries changed, {} removed)",
                changes.puts.len(),
                changes.removes.len()
            ));
        }
    }
    Ok(outcome)
}
