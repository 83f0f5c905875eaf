//! `isoremix sample`: the built-in XCP-ng 8.3-shaped sample source ISO.

use std::path::PathBuf;
use std::process::ExitCode;

use isoremix::progress::Progress;
use isoremix::sample;

use super::{Outcome, done, existing};

/// Examples shown after `--help`.
pub const EXAMPLES: &str = "\
Examples:
  isoremix sample source.iso
  isoremix sample big.iso --size 600000000 --force";

#[derive(clap::Args)]
pub struct Args {
    /// Where to write it.
    output: PathBuf,
    /// Pad Packages/ with incompressible RPMs to about this many bytes.
    #[arg(long)]
    size: Option<u64>,
    /// Use real boot files from this folder instead of placeholders:
    /// isolinux.bin, mboot.c32, isohdpfx.bin, xen.gz, vmlinuz, BOOTX64.EFI.
    #[arg(long)]
    boot_files: Option<PathBuf>,
    /// Add this many small generated RPMs to Packages/.
    #[arg(long, default_value_t = 0)]
    packages: usize,
    /// Replace the output file if it already exists.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args, ui: &Progress) -> Outcome {
    let options = sample::Options {
        pad_to: args.size,
        boot_files: args.boot_files,
        packages: args.packages,
        existing: existing(args.force),
        progress: ui.clone(),
    };
    sample::write(&args.output, &options)?;
    done(ui, &format!("wrote {}", args.output.display()));
    Ok(ExitCode::SUCCESS)
}
