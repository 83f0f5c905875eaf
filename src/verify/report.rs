//! The verdicts: per entry, per distinct command line of the entry, as text and JSON.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Finding, Severity};
use crate::entries::{Action, BootLine, Checks};

/// Whether the installer installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// It installs.
    Installs,
    /// It does not; the reasons say why.
    DoesNotInstall,
    /// Not an installer run (memtest, a shell first, a kernel without Xen).
    NotJudged,
}

/// One way an entry boots (configs that agree share one) and what the installer does then.
#[derive(Debug, Clone, Serialize)]
pub struct VariantReport {
    /// The configs that boot the entry this way, with the entry's name there.
    pub configs: Vec<String>,
    /// The hypervisor and its arguments.
    pub xen: Option<String>,
    /// The dom0 kernel.
    pub kernel: Option<String>,
    /// The dom0 arguments.
    pub dom0_args: Vec<String>,
    /// What the installer makes of them.
    pub action: Action,
    /// The signature checks yum runs (installer runs only).
    pub checks: Option<Checks>,
    /// What yum is asked to install.
    pub targets: Vec<String>,
    /// What it installs (`name-[epoch:]version-release.arch`), when solved.
    pub packages: Vec<String>,
    /// Unmet requirements let through by `allow_unresolved`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tolerated: Vec<String>,
    /// Why it does not install.
    pub reasons: Vec<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// What it installs, as indexes of the solver's candidates.
    #[serde(skip)]
    pub(super) installed: Vec<usize>,
}

impl VariantReport {
    /// A variant not judged yet.
    pub fn new(line: &BootLine, configs: Vec<&str>, action: Action) -> VariantReport {
        VariantReport {
            configs: configs.into_iter().map(str::to_string).collect(),
            xen: line.xen.clone(),
            kernel: line.kernel.clone(),
            dom0_args: line.args.clone(),
            action,
            checks: None,
            targets: Vec::new(),
            packages: Vec::new(),
            tolerated: Vec::new(),
            reasons: Vec::new(),
            verdict: Verdict::NotJudged,
            installed: Vec::new(),
        }
    }

    /// Sets the verdict from the action and the reasons.
    fn settle(&mut self) {
        self.verdict = match (&self.action, self.reasons.is_empty()) {
            (Action::Install(_), true) => Verdict::Installs,
            (Action::Install(_), false) => Verdict::DoesNotInstall,
            _ => Verdict::NotJudged,
        };
    }

    fn why_not_judged(&self) -> String {
        match &self.action {
            Action::NotInstaller { why } => format!("not an installer entry: {why}"),
            Action::Shell => {
                "not judged: opens a shell; the installer runs only when it exits".into()
            }
            Action::Install(_) => String::new(),
        }
    }
}

/// One boot entry.
#[derive(Debug, Clone, Serialize)]
pub struct EntryReport {
    /// Its name in the first config.
    pub label: String,
    /// Installs only if every variant installs.
    pub verdict: Verdict,
    /// The distinct ways it boots.
    pub variants: Vec<VariantReport>,
}

impl EntryReport {
    /// An entry with its judged variants.
    pub fn new(label: &str, mut variants: Vec<VariantReport>) -> EntryReport {
        for v in &mut variants {
            v.settle();
        }
        let verdict = if variants
            .iter()
            .any(|v| v.verdict == Verdict::DoesNotInstall)
        {
            Verdict::DoesNotInstall
        } else if variants.iter().any(|v| v.verdict == Verdict::Installs) {
            Verdict::Installs
        } else {
            Verdict::NotJudged
        };
        EntryReport {
            label: label.to_string(),
            verdict,
            variants,
        }
    }
}

/// Everything `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `installer` (an image with boot entries) or `driver-disk`.
    pub kind: &'static str,
    /// True when every judged entry installs and there is at least one.
    pub installs: bool,
    /// Image-wide findings (errors fail every installer entry).
    pub findings: Vec<Finding>,
    /// The entries, in the order of the first config.
    pub entries: Vec<EntryReport>,
}

impl Report {
    /// A report of an installer image.
    pub fn new(findings: Vec<Finding>, entries: Vec<EntryReport>) -> Report {
        Report::with_kind("installer", findings, entries)
    }

    pub(super) fn with_kind(
        kind: &'static str,
        findings: Vec<Finding>,
        entries: Vec<EntryReport>,
    ) -> Report {
        let judged: Vec<&EntryReport> = entries
            .iter()
            .filter(|e| e.verdict != Verdict::NotJudged)
            .collect();
        let installs = !judged.is_empty() && judged.iter().all(|e| e.verdict == Verdict::Installs);
        Report {
            kind,
            installs,
            findings,
            entries,
        }
    }

    /// The entries that do not install, with their reasons (first variant that fails).
    pub fn failures(&self) -> Vec<(&str, &[String])> {
        self.entries
            .iter()
            .filter_map(|e| {
                let v = e
                    .variants
                    .iter()
                    .find(|v| v.verdict == Verdict::DoesNotInstall)?;
                Some((e.label.as_str(), v.reasons.as_slice()))
            })
            .collect()
    }

    /// The human-readable report: one line per entry (per variant when configs disagree),
    /// then the warnings.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        if self.entries.is_empty() {
            let _ = writeln!(s, "no boot entry runs the installer: nothing installs");
        }
        for e in &self.entries {
            let several = e.variants.len() > 1 && e.verdict != Verdict::NotJudged;
            for v in &e.variants {
                let who = if several {
                    format!("{} [{}]", e.label, v.configs.join(", "))
                } else if std::ptr::eq(v, &e.variants[0]) {
                    e.label.clone()
                } else {
                    continue;
                };
                match v.verdict {
                    Verdict::Installs => {
                        let _ = writeln!(s, "{who}: installs");
                    }
                    Verdict::NotJudged => {
                        let _ = writeln!(s, "{who}: {}", v.why_not_judged());
                    }
                    Verdict::DoesNotInstall => {
                        let _ = writeln!(
                            s,
                            "{who}: does not install: {}",
                            v.reasons.first().map_or("", String::as_str)
                        );
                        for r in v.reasons.iter().skip(1) {
                            let _ = writeln!(s, "    also: {r}");
                        }
                    }
                }
            }
        }
        let warnings: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .collect();
        if !warnings.is_empty() {
            let _ = writeln!(s, "warnings:");
            for w in warnings {
                let _ = writeln!(s, "  {}: {}", w.check, w.message);
            }
        }
        s
    }
}
