//! `isoremix driver-disk`: an XCP-ng driver disk ISO from a driver-disk profile.

use std::path::PathBuf;
use std::process::ExitCode;

use isoremix::driver_disk;
use isoremix::profile::DriverDiskProfile;

use isoremix::progress::Progress;

use super::{Outcome, done, existing};

/// Examples shown after `--help`.
pub const EXAMPLES: &str = "\
Examples:
  isoremix driver-disk igb-disk.toml
  isoremix driver-disk igb-disk.toml -o igb-driver-disk.iso --force";

#[derive(clap::Args)]
pub struct Args {
    /// The driver-disk profile (TOML).
    profile: PathBuf,
    /// Write here instead of the profile's [output] iso.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Replace the output file if it already exists.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args, ui: &Progress) -> Outcome {
    let profile = DriverDiskProfile::load_with(&args.profile, args.output.as_deref())?;
    let report = driver_disk::build(&profile, existing(args.force))?;
    done(
        ui,
        &format!(
            "wrote {} ({} bytes): driver disk {} {}{}",
            report.output.display(),
            report.size,
            report.update.name_label,
            report.update.version,
            if report.signed { ", signed" } else { "" }
        ),
    );
    Ok(ExitCode::SUCCESS)
}
