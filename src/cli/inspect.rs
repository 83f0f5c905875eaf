//! `isoremix inspect`: what an ISO holds and what boots what.

use std::path::PathBuf;
use std::process::ExitCode;

use isoremix::inspect;
use isoremix::iso::SourceIso;
use isoremix::progress::Progress;

use super::Outcome;

/// Examples shown after `--help`.
pub const EXAMPLES: &str = "\
Examples:
  isoremix inspect site.iso
  isoremix inspect site.iso --json
  isoremix inspect site.iso --initrd-ls /etc
  isoremix inspect site.iso --ls /boot/isolinux
  isoremix inspect site.iso --module igb
  isoremix inspect site.iso --against xcp-ng-8.3.0.iso";

#[derive(clap::Args)]
pub struct Args {
    /// The ISO image.
    iso: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// List install.img's merged tree (below PATH if given) instead.
    #[arg(long, value_name = "PATH")]
    initrd_ls: Option<Option<String>>,
    /// List the ISO folder PATH (or show the file PATH and where its data lie) instead.
    #[arg(long, value_name = "PATH", conflicts_with = "initrd_ls")]
    ls: Option<String>,
    /// Also say which file modprobe would load for this module name (or alias) in install.img.
    #[arg(long)]
    module: Option<String>,
    /// Also list the packages added, updated and removed since this image (the source of
    /// a build).
    #[arg(long, value_name = "SOURCE_ISO")]
    against: Option<PathBuf>,
}

pub fn run(args: Args, ui: &Progress) -> Outcome {
    let source = SourceIso::open(&args.iso)?;
    if let Some(path) = &args.ls {
        for line in inspect::list_iso(&source, path)? {
            println!("{line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut info = inspect::inspect(&source);
    if let Some(other) = &args.against {
        let before = SourceIso::open(other)?;
        info.package_changes = Some(
            inspect::package_changes(&source, &before)
                .map_err(|e| format!("{}: {e}", other.display()))?,
        );
    }
    let bar = ui.spinner("reading install.img");
    let initrd = inspect::read_install_img_keeping(&source, &inspect::answer_files_wanted(&info));
    bar.clear();
    // A damaged install.img is reported, not fatal: the rest of the report stands.
    let initrd = match (initrd, &args.initrd_ls) {
        (Ok(found), _) => found,
        (Err(e), Some(_)) => return Err(e.into()),
        (Err(e), None) => {
            ui.warning(&e.to_string());
            None
        }
    };
    if let Some(prefix) = args.initrd_ls {
        let read = initrd.ok_or_else(|| format!("the image has no {}", inspect::INSTALL_IMG))?;
        for line in inspect::list_install_img(&read.tree, prefix.as_deref().unwrap_or(""))? {
            println!("{line}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    info.answer_files = inspect::answer_files(&info, initrd.as_ref().map(|r| &r.files));
    info.install_img = initrd.map(|r| r.info);
    info.modules = inspect::modules(&source, args.module.as_deref());
    let bar = ui.spinner("judging the boot entries");
    info.verdicts = Some(inspect::verdicts(&source));
    bar.clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        print!("{}", info.to_text());
    }
    Ok(ExitCode::SUCCESS)
}
