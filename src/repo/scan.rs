//! Records read from package files, many at a time: each package streamed once (header plus a
//! SHA-256 of the whole file) on worker threads, the results in the order asked.

use std::io::{self, Read};
use std::path::PathBuf;

use super::{Error, Record, reader, sort_records};

/// A package to read into a [`Record`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageJob {
    /// Where to open it (passed to the opener).
    pub path: PathBuf,
    /// Location in the repository (`Packages/x.rpm`).
    pub location_href: String,
    /// Value for `<time file=...>`.
    pub time_file: u64,
}

/// Reads many packages (headers plus a SHA-256 of each whole file) on `threads` worker threads
/// (at least one), each streaming its package, so memory stays bounded by the headers.
/// Results come back in the order of `jobs`. `open` opens a job's package (a file, or a
/// stream out of an image).
pub fn read_records<R, F>(
    jobs: &[PackageJob],
    threads: usize,
    changelog_limit: Option<usize>,
    open: F,
) -> Vec<Result<Record, Error>>
where
    R: Read,
    F: Fn(&PackageJob) -> io::Result<R> + Sync,
{
    crate::parallelism::map_in_order(jobs, threads, |job| read_one(job, changelog_limit, &open))
        .into_iter()
        .zip(jobs)
        .map(|(result, job)| {
            result.unwrap_or_else(|| {
                Err(Error::Io {
                    what: job.location_href.clone(),
                    source: io::Error::other("worker thread failed"),
                })
            })
        })
        .collect()
}

fn read_one<R: Read>(
    job: &PackageJob,
    changelog_limit: Option<usize>,
    open: &impl Fn(&PackageJob) -> io::Result<R>,
) -> Result<Record, Error> {
    let reader = open(job).map_err(|source| Error::Io {
        what: job.path.display().to_string(),
        source,
    })?;
    let pkg = crate::rpm::header::read_package(io::BufReader::with_capacity(1 << 16, reader))
        .map_err(|source| Error::Package {
            location: job.location_href.clone(),
            source,
        })?;
    Ok(Record::from_package(
        &pkg,
        &job.location_href,
        job.time_file,
        changelog_limit,
    ))
}

/// A package of the output repository, with what is known about it without reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageInput {
    /// How to read it and where it goes.
    pub job: PackageJob,
    /// Its file size.
    pub size: u64,
    /// Its SHA-256 when already known (e.g. it was just written); `None` to trust the size.
    pub sha256: Option<String>,
}

/// How [`collect_records`] got its records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CollectStats {
    /// Records taken from the existing repodata.
    pub reused: usize,
    /// Packages read and hashed.
    pub read: usize,
}

/// Records for `inputs` in createrepo_c's order: each package found unchanged in `reuse`
/// (same location, size and, when given, checksum) keeps its stored record; the others are
/// read on `threads` threads. The first package that cannot be read is the error.
pub fn collect_records<R, F>(
    inputs: &[PackageInput],
    reuse: &reader::ReuseIndex,
    threads: usize,
    changelog_limit: Option<usize>,
    open: F,
) -> Result<(Vec<Record>, CollectStats), Error>
where
    R: Read,
    F: Fn(&PackageJob) -> io::Result<R> + Sync,
{
    let mut records = Vec::with_capacity(inputs.len());
    let mut to_read = Vec::new();
    for input in inputs {
        match reuse.lookup(
            &input.job.location_href,
            input.size,
            input.sha256.as_deref(),
        ) {
            Some(r) => records.push(r.clone()),
            None => to_read.push(input.job.clone()),
        }
    }
    let stats = CollectStats {
        reused: records.len(),
        read: to_read.len(),
    };
    for result in read_records(&to_read, threads, changelog_limit, open) {
        records.push(result?);
    }
    sort_records(&mut records);
    Ok((records, stats))
}

/// The number of worker threads to use for reading packages: one per core, at most eight (the
/// cap on every reader of input files), so that the headers they hold do not grow with the
/// machine.
pub fn default_threads() -> usize {
    crate::parallelism::file_readers()
}
