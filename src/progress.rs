//! Progress bars for steps that can take more than a second: drawn on
//! standard error when it is a terminal, silent otherwise.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Makes progress bars, or hidden ones when not attached to a terminal.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    visible: bool,
}

impl Progress {
    /// Bars shown only when standard error is a terminal.
    pub fn auto() -> Self {
        Self {
            visible: std::io::stderr().is_terminal(),
        }
    }

    /// No bars at all (library use, tests).
    pub fn hidden() -> Self {
        Self { visible: false }
    }

    /// A byte-counting bar for a step of `total` bytes.
    pub fn bytes(&self, message: &str, total: u64) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(total), self.target());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:>12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(message.to_string());
        bar
    }

    /// A spinner for a step whose size is not known in advance.
    pub fn spinner(&self, message: &str) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(None, self.target());
        bar.set_message(message.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    }

    fn target(&self) -> ProgressDrawTarget {
        if self.visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }
}
