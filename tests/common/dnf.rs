//! dnf 4 and rpm as referees of what installs: installs into a scratch root.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use super::{require, run};

/// dnf installing into `root`, with none of the machine's configuration: no repositories but
/// those the caller adds, release 1, no weak dependencies, no signature checks, no
/// documentation, no questions.
pub fn dnf_into(root: &Path) -> Command {
    require("dnf");
    let mut cmd = Command::new("dnf");
    cmd.arg(format!("--installroot={}", root.display())).args([
        "--releasever=1",
        "--setopt=reposdir=/nonexistent",
        "--setopt=install_weak_deps=0",
        "--setopt=gpgcheck=0",
        "--nodocs",
        "-y",
    ]);
    cmd
}

/// Installs `what` (package names, provides or `@group`s) from the repository at `tree` into
/// `root` (made if missing) with dnf, failing the test when dnf fails.
pub fn dnf_install(root: &Path, tree: &Path, what: &[&str]) {
    std::fs::create_dir_all(root).unwrap();
    run(dnf_into(root)
        .arg(format!("--repofrompath=r,{}", tree.display()))
        .args(["--repo=r", "-q", "install"])
        .args(what));
}

/// The packages installed in `root`, each as rpm's query format `format` prints it (which
/// ends with a newline).
pub fn installed(root: &Path, format: &str) -> BTreeSet<String> {
    run(Command::new("rpm")
        .arg(format!("--root={}", root.display()))
        .args(["-qa", "--qf", format]))
    .lines()
    .map(str::to_string)
    .collect()
}
