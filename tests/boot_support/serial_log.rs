//! What a guest printed on its serial port during one boot, and the facts the tests read from it.

use std::path::PathBuf;
use std::time::Duration;

use super::initrd::{CMDLINE_PREFIX, DONE_LINE, HYPERVISOR_PREFIX, MARKER_PREFIX, MODULES_PREFIX};
use super::source_iso::GRUB_ECHO_PREFIX;

/// Xen's line that shows its own command line.
const XEN_CMDLINE_PREFIX: &str = "(XEN) Command line: ";

/// How a boot ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// qemu exited by itself (the guest powered off, or reset under `-no-reboot`).
    Exited(Option<i32>),
    /// The harness killed qemu after the time limit.
    TimedOut,
}

/// The serial console output of one boot.
#[derive(Clone, Debug)]
pub struct SerialLog {
    /// The bytes as received.
    pub raw: Vec<u8>,
    /// The file qemu also logged them to.
    pub path: PathBuf,
    /// How long the boot took, from starting qemu to its exit.
    pub elapsed: Duration,
    /// How it ended.
    pub ending: Ending,
    /// Whether the harness found the boot menu and typed the entry's keys.
    pub menu_answered: bool,
}

impl SerialLog {
    /// The output as text lines, with terminal escape sequences and carriage returns removed.
    pub fn lines(&self) -> Vec<String> {
        strip_escapes(&String::from_utf8_lossy(&self.raw))
            .split('\n')
            .map(|line| line.replace('\r', ""))
            .collect()
    }

    /// The rest of the first line containing `prefix`, after it, trimmed.
    fn after(&self, prefix: &str) -> Option<String> {
        self.lines().iter().find_map(|line| {
            line.find(prefix)
                .map(|at| line[at + prefix.len()..].trim().to_owned())
        })
    }

    /// The contents of `/etc/marker` in the initrd that booted.
    pub fn marker(&self) -> Option<String> {
        self.after(MARKER_PREFIX)
    }

    /// The booted Linux kernel's command line (`/proc/cmdline`), split into arguments.
    pub fn cmdline(&self) -> Option<Vec<String>> {
        self.after(CMDLINE_PREFIX).map(|line| split_args(&line))
    }

    /// Xen's command line as Xen printed it, split into arguments; `None` when Xen did not run.
    pub fn xen_cmdline(&self) -> Option<Vec<String>> {
        self.after(XEN_CMDLINE_PREFIX).map(|line| split_args(&line))
    }

    /// `/sys/hypervisor/type` as the kernel saw it (`xen` for dom0, `none` on bare hardware).
    pub fn hypervisor(&self) -> Option<String> {
        self.after(HYPERVISOR_PREFIX)
    }

    /// The names of the loaded kernel modules (`/proc/modules`).
    pub fn modules(&self) -> Option<Vec<String>> {
        self.after(MODULES_PREFIX).map(|line| split_args(&line))
    }

    /// The word the GRUB config that ran echoed; `None` when no GRUB config ran (BIOS boots).
    pub fn grub_config_echo(&self) -> Option<String> {
        self.after(GRUB_ECHO_PREFIX)
    }

    /// Whether `/init` reached its last line before powering off.
    pub fn init_finished(&self) -> bool {
        self.lines().iter().any(|line| line.trim() == DONE_LINE)
    }

    /// The last `count` lines, for failure messages.
    pub fn tail(&self, count: usize) -> String {
        let lines = self.lines();
        let start = lines.len().saturating_sub(count);
        lines[start..].join("\n")
    }
}

fn split_args(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

/// Removes ANSI/VT100 escape sequences (`ESC [ ... final`, `ESC ( x`, `ESC x`), which OVMF and
/// GRUB write around their text.
pub fn strip_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                // Parameters and intermediates, then one final byte in '@'..='~'.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some('(') | Some(')') => {
                chars.next();
            }
            _ => {}
        }
    }
    out
}
