//! The installer referee: XCP-ng 8.3's real host-installer code (Python 2.7) run against an ISO
//! by `../shared/tools/installer-referee/referee.py`. It discovers the repository on the ISO,
//! parses the embedded answer file, and runs every boot entry's dom0 command line through the
//! installer's startup, argument handling and package installation (yum played by dnf).
//!
//! Needs root, python3, python2.7 and dnf (see the referee's README); a missing piece fails the
//! test, it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::require;

/// The referee script, beside the checkout.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/installer-referee/referee.py")
}

/// What the installer did with one boot entry (one distinct command line, in every menu that
/// has it).
#[derive(Debug, Clone)]
pub struct Entry {
    /// `menu [label]` of every menu entry with this command line.
    pub menus: Vec<String>,
    /// The dom0 command line.
    pub dom0_args: String,
    /// The outcome.
    pub outcome: Outcome,
}

/// The outcome of one boot entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not run (the shell entry), with the referee's reason.
    Skipped(String),
    /// The install ran to the end.
    Installed {
        /// It read an answer file (else a simulated user answered the installer's questions).
        unattended: bool,
        /// Package signatures were checked.
        gpgcheck: bool,
        /// The repository metadata signature was checked.
        repo_gpgcheck: bool,
        /// The packages installed (NEVRA).
        installed: Vec<String>,
    },
    /// The install failed, with the installer's error.
    Failed(String),
}

/// The referee's verdict on an ISO.
#[derive(Debug)]
pub struct Report {
    /// The referee's exit status was 0 (everything installs, the repository also with checks
    /// on when reached directly).
    pub passed: bool,
    /// One per distinct boot command line.
    pub entries: Vec<Entry>,
    /// The full JSON report.
    pub json: Value,
    /// The referee's own summary (stdout), for failure messages.
    pub log: String,
}

impl Report {
    /// Fails the test unless every entry that runs an install installed.
    pub fn assert_every_entry_installs(&self) {
        let mut ran = 0;
        for e in &self.entries {
            match &e.outcome {
                Outcome::Installed { .. } => ran += 1,
                Outcome::Skipped(_) => {}
                Outcome::Failed(why) => panic!(
                    "boot entry {:?} (dom0: {}) does not install: {why}\n{}",
                    e.menus, e.dom0_args, self.log
                ),
            }
        }
        assert!(ran > 0, "no boot entry was run\n{}", self.log);
    }

    /// The entries that ran an install (not skipped), with their outcome.
    pub fn installs(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::Installed { .. }))
    }

    /// The answer-file parse result (`answerfile.results`), when install.img has one.
    pub fn answerfile_results(&self) -> Option<&Value> {
        self.json
            .get("answerfile")
            .filter(|a| !a.is_null())
            .map(|a| &a["answerfile"]["results"])
    }
}

/// `True`, `False` or the referee's `"(default True)"`.
fn flag(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.contains("True"),
        _ => panic!("unexpected gpgcheck value {v}"),
    }
}

fn outcome(result: &Value) -> Outcome {
    if let Some(why) = result.get("skipped").and_then(Value::as_str) {
        return Outcome::Skipped(why.to_string());
    }
    if let Some(crash) = result.get("crash") {
        return Outcome::Failed(format!("referee crash: {crash}"));
    }
    let install = &result["install"];
    if install["status"].as_i64() != Some(0) {
        return Outcome::Failed(
            install
                .get("error")
                .filter(|e| !e.is_null())
                .or_else(|| install.get("crash"))
                .map_or_else(|| format!("{install}"), |e| e.to_string()),
        );
    }
    Outcome::Installed {
        unattended: !install["answerfile"].is_null(),
        gpgcheck: flag(&install["gpgcheck"]),
        repo_gpgcheck: flag(&install["repo-gpgcheck"]),
        installed: result["installed"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// One referee run at a time: runs share the referee's cache, and each keeps the machine's
/// cores busy on its own.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs the referee on `iso` (work files under `work`) and reads its report.
pub fn judge(iso: &Path, work: &Path) -> Report {
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    require("python3");
    let script = script();
    assert!(
        script.is_file(),
        "the installer referee {} is missing: it must sit beside the checkout (../shared/tools) \
         — this test does not skip",
        script.display()
    );
    let json_path = work.join("report.json");
    let out = Command::new("python3")
        .arg(&script)
        .arg(iso)
        .arg("--json")
        .arg(&json_path)
        .arg("--work")
        .arg(work.join("referee"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&json_path).unwrap_or_else(|e| {
        panic!(
            "the installer referee wrote no report ({e}); it needs root, python2.7, dnf and \
             unshare (see its README) — this test does not skip. Its output:\n{log}"
        )
    });
    let json: Value = serde_json::from_str(&text).expect("the referee's report is JSON");
    let entries = json["boot"]
        .as_array()
        .expect("the report lists boot entries")
        .iter()
        .map(|e| Entry {
            menus: e["menus"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            dom0_args: e["dom0_args"].as_str().unwrap_or_default().to_string(),
            outcome: outcome(&e["result"]),
        })
        .collect();
    Report {
        passed: out.status.success(),
        entries,
        json,
        log,
    }
}
