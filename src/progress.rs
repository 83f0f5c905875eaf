//! What a command shows on standard error while it runs: a labelled bar (or
//! spinner) for each step that can take more than a second, drawn only when
//! standard error is a terminal; a line when each step ends; warnings; and,
//! when asked, per-file detail. Library callers that want silence use
//! [`Progress::hidden`].

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How much a command says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Verbosity {
    /// Errors only: nothing on success.
    Quiet,
    /// Bars, a line per step, warnings.
    #[default]
    Normal,
    /// Also per-file and per-package detail.
    Verbose,
}

/// Makes bars and prints step lines at one [`Verbosity`].
#[derive(Debug, Clone)]
pub struct Progress {
    verbosity: Verbosity,
    /// Where bars are drawn; `None` when they are not (not a terminal, or quiet).
    bars: Option<MultiProgress>,
}

impl Default for Progress {
    /// [`Progress::hidden`]: a library says nothing unless asked.
    fn default() -> Self {
        Self::hidden()
    }
}

/// What a bar counts, which decides its template and its closing line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Bytes,
    Items,
    Spinner,
}

impl Progress {
    /// At `verbosity`, drawing bars only when standard error is a terminal.
    pub fn new(verbosity: Verbosity) -> Self {
        let draw = verbosity > Verbosity::Quiet && std::io::stderr().is_terminal();
        Self {
            verbosity,
            bars: draw.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    /// [`Verbosity::Normal`], drawing bars only when standard error is a terminal.
    pub fn auto() -> Self {
        Self::new(Verbosity::Normal)
    }

    /// Nothing at all: no bars, no lines (library use, tests, `--quiet`).
    pub fn hidden() -> Self {
        Self {
            verbosity: Verbosity::Quiet,
            bars: None,
        }
    }

    /// How much is said.
    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// A bar for a step of `total` bytes: label, bytes done of total, rate and time left.
    pub fn bytes(&self, label: &str, total: u64) -> Bar {
        self.bar(label, Some(total), Unit::Bytes)
    }

    /// A bar for a step of `total` items (files, packages).
    pub fn items(&self, label: &str, total: u64) -> Bar {
        self.bar(label, Some(total), Unit::Items)
    }

    /// A spinner for a step whose size is not known in advance.
    pub fn spinner(&self, label: &str) -> Bar {
        self.bar(label, None, Unit::Spinner)
    }

    /// A step's line, printed as the step ends (not with `--quiet`).
    pub fn line(&self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.print(&format!("  {text}"));
        }
    }

    /// A warning (not with `--quiet`).
    pub fn warning(&self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.print(&format!("warning: {text}"));
        }
    }

    /// Per-file or per-package detail (only with `--verbose`).
    pub fn detail(&self, text: &str) {
        if self.verbosity >= Verbosity::Verbose {
            self.print(&format!("    {text}"));
        }
    }

    /// Prints above any bar being drawn.
    fn print(&self, line: &str) {
        match &self.bars {
            Some(bars) => bars.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn bar(&self, label: &str, total: Option<u64>, unit: Unit) -> Bar {
        let inner = match &self.bars {
            Some(bars) => {
                let bar = bars.add(ProgressBar::new(total.unwrap_or(0)));
                if unit == Unit::Spinner {
                    bar.unset_length();
                }
                bar.set_style(style(unit));
                bar.set_message(label.to_string());
                bar.enable_steady_tick(Duration::from_millis(100));
                bar
            }
            None => {
                // Counted all the same: the closing line says how much was done.
                let bar = ProgressBar::hidden();
                if let Some(total) = total {
                    bar.set_length(total);
                }
                bar
            }
        };
        Bar {
            inner,
            label: label.to_string(),
            unit,
            progress: self.clone(),
            done: false,
        }
    }
}

/// The template for a kind of bar: the label first, then the count, rate and time left.
fn style(unit: Unit) -> ProgressStyle {
    let template = match unit {
        Unit::Bytes => {
            "{spinner} {msg}: [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}, {eta} left"
        }
        Unit::Items => "{spinner} {msg}: [{bar:30}] {human_pos}/{human_len} {per_sec}, {eta} left",
        Unit::Spinner => "{spinner} {msg}: {elapsed}",
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// One step's bar. Ending it with [`Bar::finish`] prints the step's closing
/// line (what, how much, how long); a bar dropped unfinished (the step
/// failed) just disappears.
#[derive(Debug)]
pub struct Bar {
    inner: ProgressBar,
    label: String,
    unit: Unit,
    progress: Progress,
    done: bool,
}

impl Bar {
    /// Sets the count done.
    pub fn set_position(&self, done: u64) {
        self.inner.set_position(done);
    }

    /// Adds to the count done.
    pub fn inc(&self, n: u64) {
        self.inner.inc(n);
    }

    /// Sets the total, once it is known.
    pub fn set_length(&self, total: u64) {
        self.inner.set_length(total);
    }

    /// A reader that advances the bar by the bytes read through it.
    pub fn wrap_read<R: std::io::Read>(&self, read: R) -> indicatif::ProgressBarIter<R> {
        self.inner.wrap_read(read)
    }

    /// Ends the step: the bar gives way to a line saying what was done, how
    /// much and how long it took. A count short of the total shows both.
    pub fn finish(mut self) {
        self.done = true;
        self.inner.finish_and_clear();
        if let Some(bars) = &self.progress.bars {
            bars.remove(&self.inner);
        }
        let done = self.inner.position();
        let total = self.inner.length().unwrap_or(done);
        if self.unit != Unit::Spinner && done == 0 && total == 0 {
            // Nothing to do, nothing to say.
            return;
        }
        let took = self.inner.elapsed();
        let secs = format!("{:.1} s", took.as_secs_f64());
        let count = |show: &dyn Fn(u64) -> String| {
            if done == total {
                show(done)
            } else {
                format!("{} of {}", show(done), show(total))
            }
        };
        let line = match self.unit {
            Unit::Bytes => format!(
                "{}: {} in {secs} ({}/s)",
                self.label,
                count(&|n| HumanBytes(n).to_string()),
                HumanBytes(rate(done, took))
            ),
            Unit::Items => format!("{}: {} in {secs}", self.label, count(&|n| n.to_string())),
            Unit::Spinner => format!("{}: done in {secs}", self.label),
        };
        self.progress.line(&line);
    }

    /// Ends the step without a line (a step whose result the command prints itself).
    pub fn clear(mut self) {
        self.done = true;
        self.inner.finish_and_clear();
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if !self.done {
            self.inner.finish_and_clear();
        }
    }
}

/// Bytes per second over `took`, as a whole number.
fn rate(bytes: u64, took: Duration) -> u64 {
    let secs = took.as_secs_f64();
    if secs > 0.0 {
        (bytes as f64 / secs) as u64
    } else {
        bytes
    }
}
