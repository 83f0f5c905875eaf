//! Unchanged files written ahead of the image, while one file's new content is still being
//! made.
//!
//! A build that rewrites install.img (a splice of its bzip2 blocks, a re-pack) knows the rest of
//! the image before that file: the other files are final, most of them unchanged data of the
//! source. The writer lays the late file out after every other file's data
//! ([`WriteOptions::last`]), so where the others go does not depend on its length, and
//! [`Prewrite::start`] copies their data to those places on another thread while the build
//! makes the late file on this one. The writer then writes the image as it always does, except
//! that the runs of unchanged data it would hand to the kernel and that were already copied to
//! the same place from the same source bytes are skipped ([`Prewritten::covered`]).
//!
//! Nothing here can make the image wrong, only slower: the copies ahead are joined before the
//! writer starts, and the writer writes every byte of the image again (gaps included, and the
//! file cut to the image's length) except exactly those runs. A file the build changed after
//! the start, or a layout that moved, only means that its copy ahead is not used.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use hadris_fs::Extent;

use super::error::Result;
use super::kernel_copy::{DataCopy, KernelCopy, Tally};
use super::output::PartialImage;
use super::source::{SourceIso, walk};
use super::writer::{WriteOptions, iso_options};

/// One copy: `len` bytes from byte `from` of the source to byte `to` of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    from: u64,
    to: u64,
    len: u64,
}

/// The runs copied ahead, by output offset.
#[derive(Debug, Default)]
pub(super) struct Prewritten {
    runs: Vec<Run>,
}

impl Prewritten {
    /// Drops every run that overlaps another (sorted by output offset): two plans that
    /// disagreed copied both in no known order, so neither's bytes can be trusted there.
    fn keep_apart(&mut self) {
        let mut overlapped = vec![false; self.runs.len()];
        for (i, a) in self.runs.iter().enumerate() {
            for (j, b) in self.runs.iter().enumerate().skip(i + 1) {
                if b.to >= a.to + a.len {
                    break;
                }
                overlapped[i] = true;
                overlapped[j] = true;
            }
        }
        let mut flags = overlapped.into_iter();
        self.runs.retain(|_| !flags.next().unwrap_or(true));
    }

    /// How many of the output bytes `to..to + len`, from `to` on, already hold the source
    /// bytes from `from` on (0 when the first does not).
    pub(super) fn covered(&self, from: u64, to: u64, len: u64) -> u64 {
        let i = self.runs.partition_point(|r| r.to <= to);
        let Some(run) = i.checked_sub(1).map(|i| self.runs[i]) else {
            return 0;
        };
        let shift = run.from.wrapping_sub(run.to);
        if from.wrapping_sub(to) != shift {
            return 0;
        }
        // Pieces of one run follow each other.
        let mut end = run.to + run.len;
        for next in &self.runs[i..] {
            if end >= to + len || next.to != end || next.from.wrapping_sub(next.to) != shift {
                break;
            }
            end += next.len;
        }
        end.saturating_sub(to).min(len)
    }
}

/// The work of the copies ahead: the build's thread queues runs, the copying thread takes them.
/// One thread copies: two writing into one file only wait on each other (the filesystem
/// serializes buffered writes to a file).
#[derive(Debug, Default)]
struct Queue {
    state: Mutex<State>,
    more: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Runs not started yet, in order of output offset.
    waiting: VecDeque<Run>,
    /// No more runs will come: a thread that finds none left ends.
    closed: bool,
    /// The build failed or ended: copy nothing more.
    stopped: bool,
    done: Vec<Run>,
    /// The first error a copy met.
    error: Option<io::Error>,
}

impl Queue {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds runs to copy.
    fn push(&self, runs: &[Run]) {
        self.lock().waiting.extend(runs.iter().copied());
        self.more.notify_all();
    }

    /// Copies runs from `source` to `output` until none is left and the queue is closed, or
    /// the copies are stopped.
    fn work(&self, source: &File, output: &File) {
        let quiet = |_, _| {};
        let tally = Tally::new(&quiet, 0);
        let mut kernel = match KernelCopy::new(source, output, DataCopy::Kernel, &tally, None) {
            Ok(kernel) => kernel,
            Err(e) => return self.fail(e),
        };
        loop {
            let run = {
                let mut state = self.lock();
                loop {
                    if state.stopped || state.error.is_some() {
                        return;
                    }
                    if let Some(run) = state.waiting.pop_front() {
                        break run;
                    }
                    if state.closed {
                        return;
                    }
                    state = self
                        .more
                        .wait(state)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            };
            match kernel.copy_range(run.from, run.to, run.len) {
                Ok(copied) => {
                    let mut state = self.lock();
                    if copied > 0 {
                        state.done.push(Run { len: copied, ..run });
                    }
                    if copied < run.len {
                        // The kernel refused: the writer streams the rest.
                        state.stopped = true;
                    }
                }
                Err(e) => return self.fail(io::Error::other(e.to_string())),
            }
        }
    }

    fn fail(&self, e: io::Error) {
        let mut state = self.lock();
        state.error.get_or_insert(e);
        state.stopped = true;
        drop(state);
        self.more.notify_all();
    }

    fn stop(&self) {
        self.lock().stopped = true;
        self.more.notify_all();
    }
}

/// Copies of unchanged file data running ahead of the image writer, into the image's file, on
/// a thread of their own.
pub struct Prewrite {
    /// The image's file; taken by [`Prewrite::finish`].
    partial: Option<PartialImage>,
    queue: Arc<Queue>,
    /// The runs queued so far, by output offset.
    queued: Vec<Run>,
    job: Option<JoinHandle<()>>,
}

impl Prewrite {
    /// Starts the output file of `out` (refusing an existing one as `opts.existing` says) and
    /// copies into it, on another thread, the data of every unchanged file of `src` but
    /// `opts.last`, where the writer will put it. `None` when there is nothing to copy ahead:
    /// no late file, or the data is streamed by the writer ([`DataCopy::Stream`]).
    pub fn start(
        src: &mut SourceIso,
        out: &Path,
        opts: &WriteOptions,
        copy: DataCopy,
    ) -> Result<Option<Self>> {
        let Some(last) = opts.last.as_deref() else {
            return Ok(None);
        };
        if copy == DataCopy::Stream {
            return Ok(None);
        }
        let runs = runs_ahead(src, opts, Some(last))?;
        let partial = PartialImage::create(out, opts.existing)?;
        let source: File = src.file().try_clone().map_err(|e| partial.err(e))?;
        let output = partial.file().try_clone().map_err(|e| partial.err(e))?;
        let queue = Arc::new(Queue::default());
        queue.push(&runs);
        let job = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || queue.work(&source, &output))
        };
        Ok(Some(Self {
            partial: Some(partial),
            queue,
            queued: runs,
            job: Some(job),
        }))
    }

    /// Queues the late file's unchanged data too, now that `src` holds its content, waits for
    /// every run to be copied, and hands over the output file with what is in it.
    pub(super) fn finish(
        mut self,
        src: &mut SourceIso,
        opts: &WriteOptions,
    ) -> Result<(PartialImage, Prewritten)> {
        if let Ok(all) = runs_ahead(src, opts, None) {
            let new: Vec<Run> = all
                .into_iter()
                .filter(|r| self.queued.binary_search_by_key(&r.to, |q| q.to).is_err())
                .collect();
            self.queue.push(&new);
        }
        self.queue.lock().closed = true;
        self.queue.more.notify_all();
        let joined = self.job.take().map(JoinHandle::join);
        let partial = self.partial.take().ok_or_else(|| {
            super::output::write_err(Path::new(""), "the image's file was already handed over")
        })?;
        let mut state = self.queue.lock();
        if let Some(e) = state.error.take() {
            return Err(partial.err(e));
        }
        let mut done = Prewritten {
            runs: match joined {
                Some(Ok(())) => std::mem::take(&mut state.done),
                // A panic in the copies: nothing of theirs is used.
                Some(Err(_)) | None => Vec::new(),
            },
        };
        drop(state);
        done.runs.sort_by_key(|r| r.to);
        done.keep_apart();
        Ok((partial, done))
    }
}

impl Drop for Prewrite {
    /// A build that fails before writing stops the copies (the file goes with it).
    fn drop(&mut self) {
        self.queue.stop();
        if let Some(job) = self.job.take() {
            let _ = job.join();
        }
    }
}

/// The runs of unchanged file data of `src` (all files but `last`, if given) and where an image
/// of it written with `opts` puts them, by output offset.
fn runs_ahead(src: &mut SourceIso, opts: &WriteOptions, last: Option<&str>) -> Result<Vec<Run>> {
    let (options, _) = iso_options(src, opts)?;
    // The writer takes the boot catalog out of the tree and writes a new one; so does the plan,
    // and the catalog goes back in for the rest of the build.
    let catalog = src.catalog_path().map(str::to_string);
    let kept = catalog
        .as_deref()
        .and_then(|c| src.tree().get(c.trim_start_matches('/')).cloned());
    if let (Some(path), Some(_)) = (&catalog, &kept) {
        src.remove(path)?;
    }
    let report = src.session_mut().plan_export(&options);
    if let (Some(path), Some(node)) = (&catalog, kept) {
        src.tree_mut()
            .insert(path.trim_start_matches('/'), node)
            .map_err(|e| src.entry_err(path, &e.to_string()))?;
    }
    // A tree the writer would refuse is refused by the writer, with its error.
    let Ok(report) = report else {
        return Ok(Vec::new());
    };
    let last = last.map(|l| l.trim_start_matches('/'));
    let mut runs = Vec::new();
    walk(src.tree(), &mut |path, entry| {
        let rel = path.trim_start_matches('/');
        let (Some(stored), Some(placed)) = (
            entry.node().content().and_then(|c| c.stored_extents()),
            report.extents(rel.as_bytes()),
        ) else {
            return;
        };
        if last != Some(rel) {
            pair_up(stored, placed, &mut runs);
        }
    });
    // Bytes past the source file's end are new bytes the build holds in memory (an overlay,
    // a splice's new blocks): the writer writes those.
    let source_len = src.file().metadata().map_or(0, |m| m.len());
    runs.retain_mut(|r| {
        r.len = r.len.min(source_len.saturating_sub(r.from));
        r.len > 0
    });
    runs.sort_by_key(|r| r.to);
    runs.dedup_by_key(|r| r.to);
    Ok(runs)
}

/// The runs that copy a file stored in `stored` to where `placed` puts it (the two lists hold
/// the same bytes in order, cut at other places).
fn pair_up(stored: &[Extent], placed: &[Extent], runs: &mut Vec<Run>) {
    let (mut s, mut p) = (stored.iter(), placed.iter());
    let (mut a, mut b) = (s.next().copied(), p.next().copied());
    while let (Some(x), Some(y)) = (a, b) {
        let len = x.len().min(y.len());
        if len > 0 {
            runs.push(Run {
                from: x.offset(),
                to: y.offset(),
                len,
            });
        }
        a = (x.len() > len)
            .then(|| Extent::new(x.offset() + len, x.len() - len))
            .or_else(|| s.next().copied());
        b = (y.len() > len)
            .then(|| Extent::new(y.offset() + len, y.len() - len))
            .or_else(|| p.next().copied());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_covers_only_the_same_source_bytes_at_the_same_place() {
        let done = Prewritten {
            runs: vec![
                Run {
                    from: 8192,
                    to: 4096,
                    len: 8192,
                },
                Run {
                    from: 0,
                    to: 20480,
                    len: 2048,
                },
            ],
        };
        assert_eq!(done.covered(8192, 4096, 8192), 8192);
        assert_eq!(done.covered(10240, 6144, 2048), 2048);
        // Up to the run's end only; another source offset, before any run, in a gap: none.
        assert_eq!(done.covered(8192, 4096, 10240), 8192);
        assert_eq!(done.covered(10240, 4096, 2048), 0);
        assert_eq!(done.covered(0, 0, 2048), 0);
        assert_eq!(done.covered(20480, 16384, 2048), 0);
        assert_eq!(done.covered(0, 20480, 4096), 2048);
        // Pieces that follow each other with the same shift count together.
        let pieces = Prewritten {
            runs: vec![
                Run {
                    from: 100,
                    to: 4100,
                    len: 3000,
                },
                Run {
                    from: 3100,
                    to: 7100,
                    len: 3000,
                },
                Run {
                    from: 9999,
                    to: 10100,
                    len: 3000,
                },
            ],
        };
        assert_eq!(pieces.covered(2048, 6048, 8192), 4052);
    }

    #[test]
    fn overlapping_runs_are_both_dropped() {
        let run = |to, len| Run { from: to, to, len };
        let mut done = Prewritten {
            runs: vec![
                run(0, 100),
                run(5, 200),
                run(150, 10),
                run(400, 10),
                run(410, 10),
            ],
        };
        done.keep_apart();
        assert_eq!(done.runs, [run(400, 10), run(410, 10)]);
    }

    #[test]
    fn extents_cut_at_different_places_pair_up_byte_for_byte() {
        let stored = [Extent::new(0, 6144), Extent::new(100_000, 2048)];
        let placed = [Extent::new(40_960, 2048), Extent::new(51_200, 6144)];
        let mut runs = Vec::new();
        pair_up(&stored, &placed, &mut runs);
        let want = [
            Run {
                from: 0,
                to: 40_960,
                len: 2048,
            },
            Run {
                from: 2048,
                to: 51_200,
                len: 4096,
            },
            Run {
                from: 100_000,
                to: 55_296,
                len: 2048,
            },
        ];
        assert_eq!(runs, want);
    }
}
