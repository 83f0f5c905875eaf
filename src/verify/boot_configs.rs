//! The boot configs agree: an entry boots the same way in each config that has it.

use super::{Finding, Severity};
use crate::entries;

/// Entries that boot differently per config, or that some configs lack.
pub(super) fn consistency(
    boot_entries: &[entries::Entry],
    configs: &[entries::Config],
    strict: bool,
) -> Vec<Finding> {
    let severity = if strict {
        Severity::Error
    } else {
        Severity::Warning
    };
    let mut out = Vec::new();
    for e in boot_entries
        .iter()
        .filter(|e| e.lines.iter().any(|l| l.xen.is_some()))
    {
        let variants = e.variants();
        if variants.len() > 1 {
            let ways: Vec<String> = variants
                .iter()
                .map(|(l, c)| format!("{} [{}]", l.args.join(" "), c.join(", ")))
                .collect();
            out.push(Finding {
                check: "boot-configs",
                severity,
                message: format!(
                    "entry {:?} boots differently per config: {}",
                    e.label,
                    ways.join(" vs ")
                ),
            });
        }
        let missing = e.missing_from(configs);
        if !missing.is_empty() {
            out.push(Finding {
                check: "boot-configs",
                severity: Severity::Warning,
                message: format!("entry {:?} is missing from {}", e.label, missing.join(", ")),
            });
        }
    }
    out
}
