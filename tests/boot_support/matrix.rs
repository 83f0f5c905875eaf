//! The boot matrix: one ISO booted in every [`Mode`] through every [`Entry`] (10 boots, one at a
//! time), each checked against what the test expects, with a timing table.

use std::time::Duration;

use super::qemu::{Entry, Mode, boot};
use super::serial_log::{Ending, SerialLog};

/// Arguments that must, and must not, be on a command line.
#[derive(Clone, Debug, Default)]
pub struct ArgCheck {
    /// Each must be present (as a whole argument).
    pub present: Vec<String>,
    /// None may be present.
    pub absent: Vec<String>,
}

impl ArgCheck {
    /// Requires `present` and forbids `absent`.
    pub fn new<P, A>(present: P, absent: A) -> ArgCheck
    where
        P: IntoIterator,
        P::Item: AsRef<str>,
        A: IntoIterator,
        A::Item: AsRef<str>,
    {
        ArgCheck {
            present: present.into_iter().map(|s| s.as_ref().to_owned()).collect(),
            absent: absent.into_iter().map(|s| s.as_ref().to_owned()).collect(),
        }
    }

    fn problems(&self, what: &str, args: &[String]) -> Vec<String> {
        let mut problems = Vec::new();
        for want in &self.present {
            if !args.contains(want) {
                problems.push(format!(
                    "{what} lacks `{want}` (it is `{}`)",
                    args.join(" ")
                ));
            }
        }
        for unwanted in &self.absent {
            if args.contains(unwanted) {
                problems.push(format!(
                    "{what} has `{unwanted}` (it is `{}`)",
                    args.join(" ")
                ));
            }
        }
        problems
    }
}

/// What one boot must show on the console.
#[derive(Clone, Debug)]
pub struct Expectation {
    /// The contents of `/etc/marker` in the installer filesystem.
    pub marker: String,
    /// Xen's command line (checked only for [`Entry::Xen`]).
    pub xen_args: ArgCheck,
    /// The booted kernel's command line.
    pub kernel_args: ArgCheck,
}

/// One boot of the matrix and what was wrong with it.
#[derive(Debug)]
pub struct BootResult {
    /// The firmware/medium combination.
    pub mode: Mode,
    /// The menu entry.
    pub entry: Entry,
    /// What the guest printed.
    pub log: SerialLog,
    /// Every failed check; empty when the boot passed.
    pub problems: Vec<String>,
}

/// Boots `iso` in every mode through every entry, one at a time, checking each boot against
/// `expect(mode, entry)`. Prints a timing table; panics listing every failed boot with the tail of
/// its serial log.
pub fn run_matrix(
    label: &str,
    iso: &std::path::Path,
    expect: impl Fn(Mode, Entry) -> Expectation,
) -> Vec<BootResult> {
    let mut results = Vec::new();
    for mode in Mode::ALL {
        for entry in Entry::ALL {
            let log = boot(iso, mode, entry);
            let problems = check(&log, mode, entry, &expect(mode, entry));
            eprintln!(
                "[{label}] {mode:<9} {entry:<6} {:>5.1} s  {}",
                log.elapsed.as_secs_f64(),
                if problems.is_empty() { "ok" } else { "FAILED" }
            );
            results.push(BootResult {
                mode,
                entry,
                log,
                problems,
            });
        }
    }
    let total: Duration = results.iter().map(|r| r.log.elapsed).sum();
    eprintln!(
        "[{label}] {} boots in {:.1} s (mean {:.1} s)",
        results.len(),
        total.as_secs_f64(),
        total.as_secs_f64() / results.len().max(1) as f64
    );
    let failed: Vec<&BootResult> = results.iter().filter(|r| !r.problems.is_empty()).collect();
    if !failed.is_empty() {
        let mut report = format!(
            "[{label}] {} of {} boots failed:\n",
            failed.len(),
            results.len()
        );
        for result in failed {
            report.push_str(&format!(
                "\n=== {} {} ({:.1} s, serial log {}):\n  - {}\n--- last lines of the serial log:\n{}\n",
                result.mode,
                result.entry,
                result.log.elapsed.as_secs_f64(),
                result.log.path.display(),
                result.problems.join("\n  - "),
                result.log.tail(40)
            ));
        }
        panic!("{report}");
    }
    results
}

/// Every way `log` differs from what `mode`, `entry` and `expect` call for.
pub fn check(log: &SerialLog, mode: Mode, entry: Entry, expect: &Expectation) -> Vec<String> {
    let mut problems = Vec::new();
    match log.ending {
        Ending::TimedOut => problems.push(format!(
            "no power-off within {} s (qemu killed)",
            super::qemu::timeout().as_secs()
        )),
        Ending::Exited(Some(0)) => {}
        Ending::Exited(code) => problems.push(format!("qemu exited with status {code:?}")),
    }
    if !log.menu_answered {
        problems.push("the boot menu never appeared (no entry was chosen)".to_owned());
    }

    match log.grub_config_echo() {
        found if found.as_deref() == mode.expected_grub_echo() => {}
        found => problems.push(format!(
            "expected GRUB config echo {:?}, found {found:?}",
            mode.expected_grub_echo()
        )),
    }

    match log.marker() {
        Some(marker) if marker == expect.marker => {}
        found => problems.push(format!(
            "expected marker {:?}, found {found:?}",
            expect.marker
        )),
    }

    match log.cmdline() {
        Some(args) => problems.extend(
            expect
                .kernel_args
                .problems("the kernel command line", &args),
        ),
        None => problems.push("the kernel command line was never printed".to_owned()),
    }

    let (want_hypervisor, xen) = match entry {
        Entry::Xen => ("xen", log.xen_cmdline()),
        Entry::Direct => ("none", log.xen_cmdline()),
    };
    match log.hypervisor() {
        Some(found) if found == want_hypervisor => {}
        found => problems.push(format!(
            "expected hypervisor {want_hypervisor:?}, found {found:?}"
        )),
    }
    match (entry, xen) {
        (Entry::Xen, Some(args)) => {
            problems.extend(expect.xen_args.problems("Xen's command line", &args))
        }
        (Entry::Xen, None) => problems.push("Xen never printed its command line".to_owned()),
        (Entry::Direct, Some(args)) => {
            problems.push(format!("Xen ran in a direct boot (`{}`)", args.join(" ")))
        }
        (Entry::Direct, None) => {}
    }

    if !log.init_finished() {
        problems.push("/init did not reach its last line".to_owned());
    }
    problems
}
