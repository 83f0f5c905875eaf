//! The `isoremix` command line: parse arguments, call the library, print
//! results and errors. All the work is in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use isoremix::iso::{Existing, SourceIso};
use isoremix::profile::{DriverDiskProfile, Overrides, Profile, SourceIso as SourceSpec};
use isoremix::progress::Progress;
use isoremix::{driver_disk, extract, inspect, remaster, sample, verify};

/// Remaster XCP-ng installer ISOs without root.
#[derive(Parser)]
#[command(name = "isoremix", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a remastered ISO from a profile.
    Build {
        /// The profile (TOML).
        profile: PathBuf,
        /// Write here instead of the profile's [output] iso.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Start from this ISO (or builtin:sample) instead of the profile's [source] iso.
        #[arg(long)]
        source: Option<String>,
        /// Replace the output file if it already exists.
        #[arg(long)]
        force: bool,
        /// Say what the build would change (files, packages, boot lines, install.img), writing
        /// nothing.
        #[arg(long)]
        plan: bool,
        /// Print the build report (or the plan) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what an ISO holds and what boots what.
    Inspect {
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
    },
    /// Say, per boot entry, whether XCP-ng 8.3's installer installs from an ISO, and if not, why.
    /// Exits 0 only when every entry that runs the installer installs.
    Verify {
        /// The ISO image (installer, remastered, or driver disk).
        iso: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Extract an ISO's whole tree into a folder (never writing outside it).
    Extract {
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
    },
    /// Build an XCP-ng driver disk ISO from a driver-disk profile.
    DriverDisk {
        /// The driver-disk profile (TOML).
        profile: PathBuf,
        /// Write here instead of the profile's [output] iso.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Replace the output file if it already exists.
        #[arg(long)]
        force: bool,
    },
    /// Write the built-in XCP-ng 8.3-shaped sample source ISO.
    Sample {
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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            let mut shown = err.to_string();
            eprintln!("error: {shown}");
            // Causes whose text the message already carries are not repeated.
            let mut source = err.source();
            while let Some(cause) = source {
                let text = cause.to_string();
                if !shown.contains(&text) {
                    eprintln!("  caused by: {text}");
                    shown.push_str(&text);
                }
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match cli.command {
        Command::Verify { iso, json } => {
            let source = SourceIso::open(&iso)?;
            let bar = Progress::auto().spinner("verifying");
            let report = verify::verify(&source, &verify::Options::full());
            bar.finish_and_clear();
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.to_text());
            }
            if !report.installs {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Build {
            profile,
            output,
            source,
            force,
            plan,
            json,
        } => {
            let overrides = Overrides {
                source_iso: source.map(|s| s.parse::<SourceSpec>()).transpose()?,
                output_iso: output,
            };
            let profile = Profile::load_with(&profile, &overrides)?;
            let report = if plan {
                remaster::plan(&profile, Progress::auto())?
            } else {
                remaster::build(&profile, Progress::auto(), existing(force))?
            };
            if !json {
                for step in &report.steps {
                    eprintln!("  {step}");
                }
            }
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if plan {
                println!("plan for {} (nothing written):", report.output.display());
                print!("{}", report.changes.to_text());
            } else {
                println!("wrote {} ({} bytes)", report.output.display(), report.size);
            }
        }
        Command::Inspect {
            iso,
            json,
            initrd_ls,
            ls,
            module,
            against,
        } => {
            let source = SourceIso::open(&iso)?;
            if let Some(path) = ls {
                for line in inspect::list_iso(&source, &path)? {
                    println!("{line}");
                }
                return Ok(ExitCode::SUCCESS);
            }
            let mut info = inspect::inspect(&source);
            if let Some(other) = &against {
                let before = SourceIso::open(other)?;
                info.package_changes = Some(
                    inspect::package_changes(&source, &before)
                        .map_err(|e| format!("{}: {e}", other.display()))?,
                );
            }
            let bar = Progress::auto().spinner("reading install.img");
            let initrd =
                inspect::read_install_img_keeping(&source, &inspect::answer_files_wanted(&info));
            bar.finish_and_clear();
            // A damaged install.img is reported, not fatal: the rest of the report stands.
            let initrd = match (initrd, &initrd_ls) {
                (Ok(found), _) => found,
                (Err(e), Some(_)) => return Err(e.into()),
                (Err(e), None) => {
                    eprintln!("warning: {e}");
                    None
                }
            };
            if let Some(prefix) = initrd_ls {
                let read = initrd.ok_or("the image has no /install.img")?;
                for line in inspect::list_install_img(&read.tree, prefix.as_deref().unwrap_or(""))?
                {
                    println!("{line}");
                }
                return Ok(ExitCode::SUCCESS);
            }
            info.answer_files = inspect::answer_files(&info, initrd.as_ref().map(|r| &r.files));
            info.install_img = initrd.map(|r| r.info);
            info.modules = inspect::modules(&source, module.as_deref());
            let bar = Progress::auto().spinner("judging the boot entries");
            info.verdicts = Some(inspect::verdicts(&source));
            bar.finish_and_clear();
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                print!("{}", info.to_text());
            }
        }
        Command::Extract {
            iso,
            dir,
            initrd: true,
            ..
        } => {
            let source = SourceIso::open(&iso)?;
            let (_, tree) =
                inspect::read_install_img(&source)?.ok_or("the image has no /install.img")?;
            let image =
                std::io::BufReader::with_capacity(1 << 20, source.open_file(inspect::INSTALL_IMG)?);
            let done = isoremix::initrd::extract(image, &tree, &dir)?;
            println!(
                "extracted install.img: {} files, {} hard links, {} directories, {} symlinks into {}",
                done.files,
                done.hard_links,
                done.dirs,
                done.symlinks,
                dir.display()
            );
            if !done.skipped.is_empty() {
                eprintln!(
                    "warning: {} device nodes, FIFOs or sockets need root and were not created",
                    done.skipped.len()
                );
            }
        }
        Command::Extract { iso, dir, path, .. } => {
            let source = SourceIso::open(&iso)?;
            let done = match &path {
                Some(path) => extract::extract_path(&source, &dir, path)?,
                None => extract::extract(&source, &dir)?,
            };
            println!(
                "extracted {} files ({} bytes), {} directories, {} symlinks into {}",
                done.files,
                done.bytes,
                done.dirs,
                done.symlinks,
                dir.display()
            );
        }
        Command::DriverDisk {
            profile,
            output,
            force,
        } => {
            let profile = DriverDiskProfile::load_with(&profile, output.as_deref())?;
            let report = driver_disk::build(&profile, existing(force))?;
            println!(
                "wrote {} ({} bytes): driver disk {} {}{}",
                report.output.display(),
                report.size,
                report.update.name_label,
                report.update.version,
                if report.signed { ", signed" } else { "" }
            );
        }
        Command::Sample {
            output,
            size,
            boot_files,
            packages,
            force,
        } => {
            let options = sample::Options {
                pad_to: size,
                boot_files,
                packages,
                existing: existing(force),
            };
            let bar = Progress::auto().spinner("writing the sample");
            sample::write(&output, &options)?;
            bar.finish_and_clear();
            println!("wrote {}", output.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `--force` means for an existing output file.
fn existing(force: bool) -> Existing {
    if force {
        Existing::Replace
    } else {
        Existing::Refuse
    }
}
