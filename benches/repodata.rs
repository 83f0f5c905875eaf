//! The repodata step alone, side by side with createrepo_c, on 1,000 generated RPMs.
//!
//!   cargo bench --bench repodata
//!
//! Three figures on the same folder of packages, each run 3 times:
//! - `createrepo_c -q --no-database --workers 2` from scratch (the referee);
//! - isoremix from scratch: every package read and hashed on 2 threads, then the repodata
//!   written, as the packages step does for packages it has no record of;
//! - isoremix re-run: the records read back from the repodata it just wrote, so no package
//!   is read or hashed again, then the repodata written again;
//! - isoremix re-run as the packages step does it: the same, but the records found equal to
//!   the stored ones, so the repodata is kept and nothing is generated or written.
//!
//! Targets: isoremix from scratch <= createrepo_c; re-run <= 0.1 x createrepo_c. Before
//! timing, both tools' primary.xml must list the same packages with the same checksums.
//! Every run reads the packages from the page cache (they were just written and read).
//!
//! Settings (environment):
//! - `ISOREMIX_BENCH_REPO_MB`: total size of the packages in MB (default 300; an XCP-ng 8.3
//!   `Packages/` holds about 700 RPMs and 500 MB);
//! - `ISOREMIX_BENCH_REPO_RPMS`: number of packages (default 1000);
//! - `ISOREMIX_BENCH_DIR`: where to make the temporary folder (default: the system's).
//!
//! This is not a test: it prints figures to compare. It needs `createrepo_c` on the PATH.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use isoremix::repo::{
    self, CollectStats, DEFAULT_CHANGELOG_LIMIT, PackageInput, PackageJob, Record,
};
use isoremix::repo::{ReuseIndex, read_repo_dir};
use isoremix::rpm::{Compression, Filler};
use isoremix::rpm::{Dep, DepCmp, DirSpec, FileSpec, PackageSpec, build_package};

type Res<T> = Result<T, Box<dyn Error>>;

/// SOURCE_DATE_EPOCH of the generated packages and of the repodata.
const TIME: u32 = 1_700_000_000;
/// Worker threads, for both tools.
const THREADS: usize = 2;
/// Timed runs of each figure.
const RUNS: usize = 3;
/// Smallest and largest filler file of one package.
const MIN_PAYLOAD: u64 = 4 << 10;
const MAX_PAYLOAD: u64 = 2 << 20;

fn env_u64(name: &str, default: u64) -> Res<u64> {
    match std::env::var(name) {
        Ok(v) => Ok(v
            .trim()
            .parse()
            .map_err(|e| format!("{name}={v:?}: not a number: {e}"))?),
        Err(_) => Ok(default),
    }
}

/// The next value in [0, 1) of a seeded stream.
fn unit(filler: &mut Filler) -> f64 {
    let bytes = filler.take_vec(8);
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes);
    (u64::from_le_bytes(word) >> 11) as f64 / (1u64 << 53) as f64
}

/// Filler sizes for `count` packages adding up to about `total` bytes: many small packages
/// and a few large ones, as in a real `Packages/`, each between 4 KiB and 2 MiB.
fn payload_sizes(count: usize, total: u64) -> Vec<u64> {
    let mut filler = Filler::new(0x5eed);
    let weights: Vec<f64> = (0..count).map(|_| unit(&mut filler).powi(4)).collect();
    let sum: f64 = weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let spread = total.saturating_sub(MIN_PAYLOAD * count as u64) as f64;
    weights
        .iter()
        .map(|w| (MIN_PAYLOAD + (w / sum * spread) as u64).min(MAX_PAYLOAD))
        .collect()
}

/// Package `n` of the bench: a filler file of `size` incompressible bytes, a few small text
/// files, a directory, dependencies on the previous package and on `/bin/sh`.
fn package_spec(n: usize, size: u64) -> Res<PackageSpec> {
    let name = format!("bench-pkg-{n:04}");
    let arch = if n.is_multiple_of(3) {
        "noarch"
    } else {
        "x86_64"
    };
    let mut s = PackageSpec::new(
        &name,
        format!("1.{}", n % 7),
        "1.xcpng8.3",
        arch,
        TIME,
        "bench.isoremix.invalid",
    );
    s.summary = format!("Generated package {n} for the repodata benchmark");
    s.description = format!("{}.\nOne filler file of {size} bytes.", s.summary);
    s.license = "GPLv2".into();
    s.group = "System Environment/Base".into();
    s.url = Some(format!("https://bench.isoremix.invalid/{name}"));
    s.vendor = Some("isoremix bench".into());
    s.compression = Compression::Gzip(1);
    s.requires.push(Dep::any("/bin/sh"));
    if n > 1 {
        s.requires.push(Dep::versioned(
            format!("bench-pkg-{:04}", n - 1),
            DepCmp::Ge,
            "1.0",
        ));
    }
    s.provides.push(Dep::any(format!("bench-capability-{n}")));
    let dir = format!("/usr/lib/bench/{name}");
    s.dirs.push(DirSpec::new(&dir, 0o755, TIME));
    let len = usize::try_from(size)?;
    s.files.push(FileSpec::new(
        format!("{dir}/data.bin"),
        0o644,
        TIME,
        Filler::new(n as u64).take_vec(len),
    ));
    s.files.push(FileSpec::new(
        format!("/usr/share/doc/{name}/README"),
        0o644,
        TIME,
        format!("{name}: generated for the repodata benchmark\n").into_bytes(),
    ));
    s.files.push(FileSpec::new(
        format!("/etc/{name}.conf"),
        0o644,
        TIME,
        format!("# {name}\nenabled=1\n").into_bytes(),
    ));
    s.files.push(FileSpec::new(
        format!("/usr/bin/{name}"),
        0o755,
        TIME,
        format!("#!/bin/sh\necho {name}\n").into_bytes(),
    ));
    Ok(s)
}

/// Writes the packages into `root/Packages`; returns their total size.
fn generate(root: &Path, count: usize, total: u64) -> Res<u64> {
    let dir = root.join("Packages");
    std::fs::create_dir_all(&dir)?;
    let mut written = 0;
    for (i, size) in payload_sizes(count, total).into_iter().enumerate() {
        let spec = package_spec(i + 1, size)?;
        let path = dir.join(spec.file_name());
        let mut out = BufWriter::new(std::fs::File::create(&path)?);
        build_package(&spec, &mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        written += std::fs::metadata(&path)?.len();
    }
    Ok(written)
}

/// The packages of `root/Packages` as the packages step sees them: location and size, no
/// checksum known.
fn list_packages(root: &Path) -> Res<Vec<PackageInput>> {
    let mut inputs = Vec::new();
    for entry in std::fs::read_dir(root.join("Packages"))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".rpm") {
            continue;
        }
        inputs.push(PackageInput {
            job: PackageJob {
                path: entry.path(),
                location_href: format!("Packages/{name}"),
                time_file: u64::from(TIME),
            },
            size: entry.metadata()?.len(),
            sha256: None,
        });
    }
    inputs.sort_by(|a, b| a.job.location_href.cmp(&b.job.location_href));
    Ok(inputs)
}

/// Where one isoremix pass spent its time.
#[derive(Clone, Copy, Debug, Default)]
struct Phases {
    /// Reading the previous repodata into the reuse index.
    index: Duration,
    /// Listing `Packages/`.
    list: Duration,
    /// Getting the records (reused, or read and hashed).
    collect: Duration,
    /// Generating the repodata files in memory.
    generate: Duration,
    /// Writing them to disk.
    write: Duration,
}

/// How the previous repodata is used by an isoremix pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Previous<'a> {
    /// None: every package is read and hashed.
    None,
    /// Its records are reused; the repodata is written again.
    Reuse(&'a Path),
    /// Its records are reused; when every record is the same, the repodata is kept and
    /// nothing is written, as the packages step does.
    ReuseKeep(&'a Path),
}

/// One isoremix pass over `root`'s packages, writing the repodata under `out` (unless kept);
/// returns how the records were got, the phases, and whether the repodata was kept.
fn isoremix_pass(
    root: &Path,
    out: &Path,
    previous: Previous<'_>,
) -> Res<(CollectStats, Phases, bool)> {
    let (index, (reuse, stored)) = time(|| match previous {
        Previous::None => Ok((ReuseIndex::default(), None)),
        Previous::Reuse(p) => Ok((ReuseIndex::new(read_repo_dir(p)?), None)),
        Previous::ReuseKeep(p) => {
            let stored = read_repo_dir(p)?;
            Ok((ReuseIndex::new(stored.clone()), Some(stored)))
        }
    })?;
    let (list, inputs) = time(|| list_packages(root))?;
    let (collect, (records, stats)) = time(|| {
        Ok(repo::collect_records(
            &inputs,
            &reuse,
            THREADS,
            Some(DEFAULT_CHANGELOG_LIMIT),
            |job: &PackageJob| std::fs::File::open(&job.path),
        )?)
    })?;
    let mut phases = Phases {
        index,
        list,
        collect,
        ..Phases::default()
    };
    if let Some(stored) = stored {
        let (compare, same) = time(|| {
            let by_location: BTreeMap<&str, &Record> = records
                .iter()
                .map(|r| (r.location_href.as_str(), r))
                .collect();
            Ok(stored.len() == records.len()
                && stored
                    .iter()
                    .all(|r| by_location.get(r.location_href.as_str()) == Some(&r)))
        })?;
        phases.collect += compare;
        if same {
            return Ok((stats, phases, true));
        }
    }
    let (generate, files) = time(|| Ok(repo::write_repodata(&records, None, u64::from(TIME))?))?;
    let (write, ()) = time(|| Ok(files.write_to_dir(out)?))?;
    phases.generate = generate;
    phases.write = write;
    Ok((stats, phases, false))
}

fn remove_repodata(root: &Path) -> Res<()> {
    for name in ["repodata", ".repodata"] {
        let dir = root.join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
    }
    Ok(())
}

fn createrepo_c(root: &Path) -> Res<()> {
    remove_repodata(root)?;
    let status = Command::new("createrepo_c")
        .args(["-q", "--no-database", "--workers", &THREADS.to_string()])
        .arg(root)
        .status()
        .map_err(|e| {
            format!("createrepo_c cannot be run ({e}); install the createrepo-c package")
        })?;
    if !status.success() {
        return Err(format!("createrepo_c failed: {status}").into());
    }
    Ok(())
}

fn time<T>(f: impl FnOnce() -> Res<T>) -> Res<(Duration, T)> {
    let start = Instant::now();
    let value = f()?;
    Ok((start.elapsed(), value))
}

/// `(location, pkgid)` of every package of the repository at `root`.
fn identities(root: &Path) -> Res<BTreeSet<(String, String)>> {
    Ok(read_repo_dir(root)?
        .into_iter()
        .map(|r| (r.location_href, r.pkgid))
        .collect())
}

/// Checks both tools describe the same packages, and that the re-run reused every record and
/// wrote the same repodata.
fn check(root: &Path, ours: &Path, rerun: &Path, count: usize) -> Res<()> {
    let theirs_records = read_repo_dir(root)?;
    let ours_records = read_repo_dir(ours)?;
    println!(
        "check: primary.xml packages: createrepo_c {}, isoremix {}",
        theirs_records.len(),
        ours_records.len()
    );
    if theirs_records.len() != ours_records.len() || ours_records.len() != count {
        return Err(format!(
            "package counts differ: createrepo_c {}, isoremix {}, generated {count}",
            theirs_records.len(),
            ours_records.len()
        )
        .into());
    }
    if identities(root)? != identities(ours)? {
        return Err("createrepo_c and isoremix list different locations or checksums".into());
    }
    let repomd = |p: &Path| std::fs::read(p.join("repodata/repomd.xml"));
    if repomd(ours)? != repomd(rerun)? {
        return Err("the re-run wrote a different repomd.xml".into());
    }
    println!("check: same locations and SHA-256 pkgids; re-run repodata identical");
    Ok(())
}

struct Figure {
    label: &'static str,
    runs: Vec<Duration>,
    /// For isoremix's figures, each run's phases.
    phases: Vec<Phases>,
}

impl Figure {
    fn sorted(&self) -> Vec<f64> {
        let mut s: Vec<f64> = self.runs.iter().map(Duration::as_secs_f64).collect();
        s.sort_by(f64::total_cmp);
        s
    }

    fn min(&self) -> f64 {
        self.sorted().first().copied().unwrap_or(f64::NAN)
    }

    /// The phases of the median run, if recorded.
    fn median_phases(&self) -> Option<Phases> {
        let mut order: Vec<usize> = (0..self.runs.len()).collect();
        order.sort_by_key(|&i| self.runs.get(i).copied());
        let i = *order.get(order.len() / 2)?;
        self.phases.get(i).copied()
    }

    fn median(&self) -> f64 {
        let s = self.sorted();
        s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
    }
}

fn ratio_line(label: &str, ours: &Figure, referee: &Figure, target: f64) {
    let (min, med) = (ours.min() / referee.min(), ours.median() / referee.median());
    let verdict = if med <= target { "met" } else { "NOT met" };
    println!("ratio {label}: median {med:.3}, min {min:.3} (target <= {target}: {verdict})");
}

fn main() -> Res<()> {
    let count = usize::try_from(env_u64("ISOREMIX_BENCH_REPO_RPMS", 1000)?)?;
    let total = env_u64("ISOREMIX_BENCH_REPO_MB", 300)? * 1_000_000;
    let mut tmp = tempfile::Builder::new();
    tmp.prefix("isoremix-bench-repodata-");
    let work = match std::env::var_os("ISOREMIX_BENCH_DIR") {
        Some(d) => tmp.tempdir_in(PathBuf::from(d))?,
        None => tmp.tempdir()?,
    };
    let root = work.path().join("repo");
    let ours = work.path().join("ours");
    let rerun = work.path().join("rerun");
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at start: {}", load.trim());
    }
    println!(
        "== generating {count} RPMs (about {} MB)",
        total / 1_000_000
    );
    let (gen_time, written) = time(|| generate(&root, count, total))?;
    println!(
        "generated {count} RPMs, {:.1} MB, in {:.1}s",
        written as f64 / 1e6,
        gen_time.as_secs_f64()
    );

    println!("== checking (and warming the page cache)");
    createrepo_c(&root)?;
    let (stats, _, _) = isoremix_pass(&root, &ours, Previous::None)?;
    if stats.read != count || stats.reused != 0 {
        return Err(format!("from scratch: expected {count} read, got {stats:?}").into());
    }
    let (stats, _, _) = isoremix_pass(&root, &rerun, Previous::Reuse(&ours))?;
    if stats.read != 0 || stats.reused != count {
        return Err(format!("re-run: expected {count} reused, got {stats:?}").into());
    }
    check(&root, &ours, &rerun, count)?;
    let (stats, _, kept) = isoremix_pass(&root, &rerun, Previous::ReuseKeep(&ours))?;
    if stats.read != 0 || !kept {
        return Err(format!("re-run: repodata not kept ({stats:?})").into());
    }

    println!("== timing, {RUNS} runs each, {THREADS} threads each");
    let mut referee = Figure {
        label: "createrepo_c (from scratch)",
        runs: Vec::new(),
        phases: Vec::new(),
    };
    let mut scratch = Figure {
        label: "isoremix (from scratch)",
        runs: Vec::new(),
        phases: Vec::new(),
    };
    let mut again = Figure {
        label: "isoremix re-run (rewritten)",
        runs: Vec::new(),
        phases: Vec::new(),
    };
    let mut kept = Figure {
        label: "isoremix re-run (kept)",
        runs: Vec::new(),
        phases: Vec::new(),
    };
    for _ in 0..RUNS {
        referee.runs.push(time(|| createrepo_c(&root))?.0);
        remove_repodata(&ours)?;
        let (took, (_, phases, _)) = time(|| isoremix_pass(&root, &ours, Previous::None))?;
        scratch.runs.push(took);
        scratch.phases.push(phases);
        remove_repodata(&rerun)?;
        let (took, (_, phases, _)) = time(|| isoremix_pass(&root, &rerun, Previous::Reuse(&ours)))?;
        again.runs.push(took);
        again.phases.push(phases);
        let (took, (_, phases, _)) =
            time(|| isoremix_pass(&root, &rerun, Previous::ReuseKeep(&ours)))?;
        kept.runs.push(took);
        kept.phases.push(phases);
    }
    for f in [&referee, &scratch, &again, &kept] {
        let runs: Vec<String> = f
            .runs
            .iter()
            .map(|d| format!("{:.3}", d.as_secs_f64()))
            .collect();
        println!(
            "{:<30} min {:>7.3}s  median {:>7.3}s  (runs: {})",
            f.label,
            f.min(),
            f.median(),
            runs.join(" ")
        );
        if let Some(p) = f.median_phases() {
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            println!(
                "{:<30} median run: index {:.1} ms, list {:.1} ms, records {:.1} ms, \
                 generate {:.1} ms, write {:.1} ms",
                "",
                ms(p.index),
                ms(p.list),
                ms(p.collect),
                ms(p.generate),
                ms(p.write)
            );
        }
    }
    ratio_line("isoremix/createrepo_c", &scratch, &referee, 1.0);
    ratio_line("re-run rewritten/createrepo_c", &again, &referee, 0.1);
    ratio_line("re-run kept/createrepo_c", &kept, &referee, 0.1);
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average at end: {}", load.trim());
    }
    Ok(())
}
