//! `isoremix extract`: an ISO's tree, or install.img's, into a folder.

use std::path::PathBuf;
use std::process::ExitCode;

use isoremix::iso::SourceIso;
use isoremix::{extract, inspect};

use isoremix::progress::Progress;

use super::Outcome;

/// Examples shown after `--help`.
pub const EXAMPLES: &str = "\
Examples:
  isoremix extract site.iso site-tree
  isoremix extract site.iso installer-tree --initrd
  isoremix extract site.iso out --path /boot/isolinux/isolinux.cfg";

#[derive(clap::Args)]
pub struct Args {
    /// The ISO image.
    iso: PathBuf,
    /// The folder to create or fill.
    dir: PathBuf,
    /// Extract install.img's merged tree instead of the ISO's.
    #[arg(long)]
    initrd: bool,
    /// Extract only this file or folder of the ISO (at the same place below DIR).
    #[arg(long, value_name = "PATH", conflicts_with = "initrd")]
    path: Option<String>,
}

pub fn run(args: Args, ui: &Progress) -> Outcome {
    let Args {
        iso,
        dir,
        initrd,
        path,
    } = args;
    let source = SourceIso::open(&iso)?;
    for damage in source
        .boot_entries()
        .iter()
        .filter_map(|e| e.damage.as_ref())
    {
        ui.warning(&format!("{}: {damage}", iso.display()));
    }
    if initrd {
        let (_, tree) = inspect::read_install_img(&source)?
            .ok_or_else(|| format!("the image has no {}", inspect::INSTALL_IMG))?;
        let image =
            std::io::BufReader::with_capacity(1 << 20, source.open_file(inspect::INSTALL_IMG)?);
        let done = isoremix::initrd::extract(image, &tree, &dir)?;
        super::done(
            ui,
            &format!(
                "extracted install.img: {} files, {} hard links, {} directories, {} symlinks into {}",
                done.files,
                done.hard_links,
                done.dirs,
                done.symlinks,
                dir.display()
            ),
        );
        if !done.skipped.is_empty() {
            ui.warning(&format!(
                "{} device nodes, FIFOs or sockets need root and were not created",
                done.skipped.len()
            ));
        }
    } else {
        let done = match &path {
            Some(path) => extract::extract_path(&source, &dir, path)?,
            None => extract::extract(&source, &dir)?,
        };
        super::done(
            ui,
            &format!(
                "extracted {} files ({} bytes), {} directories, {} symlinks into {}",
                done.files,
                done.bytes,
                done.dirs,
                done.symlinks,
                dir.display()
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}
