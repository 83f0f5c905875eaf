//! What XCP-ng's installer reads from its dom0 command line (startup/preinit, then install.py):
//! an answer file or generator (unattended), a shell first, `kernel-alt`, the signature checks
//! turned off; and how an answer file's booleans read.
//!
//! Boot-menu editing ([`crate::boot`]) and the reading of an image's boot entries
//! ([`crate::entries`]) both ask this module what a command line means.

use serde::Serialize;

use crate::xcpng::{self, arg};

/// What the installer is told by the dom0 command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Install {
    /// The answer file address (`answerfile=`/`rt_answerfile=`), for an unattended install.
    pub answerfile: Option<String>,
    /// The answer file generator script (`answerfile_generator=`).
    pub answerfile_generator: Option<String>,
    /// `no-gpgcheck` is on the line.
    pub no_gpgcheck: bool,
    /// `no-repo-gpgcheck` is on the line.
    pub no_repo_gpgcheck: bool,
    /// `kernel-alt` is on the line: the `kernel-alt` package is installed too.
    pub kernel_alt: bool,
}

impl Install {
    /// Whether an answer file (or generator) drives the install.
    pub fn unattended(&self) -> bool {
        self.answerfile.is_some() || self.answerfile_generator.is_some()
    }

    /// Why install.py refuses this command line before installing anything, if it does.
    pub fn abort(&self) -> Option<String> {
        (self.unattended() && (self.no_gpgcheck || self.no_repo_gpgcheck)).then(|| {
            format!(
                "{} or {} together with an answer file: the installer aborts \
                 (\"Set them inside answerfile instead\": use the <installation> attributes \
                 {}=\"false\" / {}=\"false\")",
                arg::NO_GPGCHECK,
                arg::NO_REPO_GPGCHECK,
                xcpng::attr::GPGCHECK,
                xcpng::attr::REPO_GPGCHECK
            )
        })
    }

    /// What yum is asked to install: the repository's `targets`, plus `kernel-alt` when asked.
    pub fn targets(&self, repository: &[String]) -> Vec<String> {
        let mut out = repository.to_vec();
        if self.kernel_alt && !out.iter().any(|t| t == xcpng::KERNEL_ALT_PACKAGE) {
            out.push(xcpng::KERNEL_ALT_PACKAGE.to_string());
        }
        out
    }

    /// The signature checks yum runs: from the answer file's root attributes when unattended
    /// (`None` = attribute absent), else from the command line.
    pub fn checks(&self, answerfile: Option<(Option<&str>, Option<&str>)>) -> Checks {
        match answerfile {
            Some((gpg, repo)) if self.unattended() => Checks {
                gpgcheck: bool_attribute(gpg),
                repo_gpgcheck: bool_attribute(repo),
            },
            _ => Checks {
                gpgcheck: !self.no_gpgcheck,
                repo_gpgcheck: !self.no_repo_gpgcheck,
            },
        }
    }

    /// The answer file's path inside install.img, for a `file://` address.
    pub fn answerfile_path(&self) -> Option<&str> {
        self.answerfile.as_deref()?.strip_prefix("file://")
    }
}

/// An answer-file boolean as the installer reads it (xcp.xmlunwrap.getBoolAttribute): absent or
/// empty is the default (on), `true`/`yes` in any case is on, anything else off.
pub fn bool_attribute(value: Option<&str>) -> bool {
    match value {
        None | Some("") => true,
        Some(v) => matches!(v.to_ascii_lowercase().as_str(), "true" | "yes"),
    }
}

/// yum's signature checks for one install.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Checks {
    /// Every installed RPM must be signed by the `.treeinfo` key.
    pub gpgcheck: bool,
    /// repomd.xml must be signed (repomd.xml.asc) by that key.
    pub repo_gpgcheck: bool,
}

/// What the installer reads from a dom0 command line (startup/preinit's loop, then
/// util.splitArgs, where the last `--key=value` wins, then install.py): its settings, and
/// whether a shell opens before it runs.
pub fn dom0<S: AsRef<str>>(args: &[S]) -> (Install, bool) {
    let mut install = Install {
        answerfile: None,
        answerfile_generator: None,
        no_gpgcheck: false,
        no_repo_gpgcheck: false,
        kernel_alt: false,
    };
    let mut shell = false;
    for word in args {
        let word = word.as_ref();
        let (key, value) = match word.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (word, None),
        };
        if arg::SHELLS.contains(&key) && value.is_none() {
            shell = true;
            continue;
        }
        if arg::NOT_PASSED.contains(&key) {
            continue;
        }
        match (key, value) {
            (arg::ANSWERFILE | arg::RT_ANSWERFILE, Some(v)) => {
                install.answerfile = Some(v.to_string())
            }
            (arg::ANSWERFILE_GENERATOR, Some(v)) => {
                install.answerfile_generator = Some(v.to_string())
            }
            (arg::NO_GPGCHECK, None) => install.no_gpgcheck = true,
            (arg::NO_REPO_GPGCHECK, None) => install.no_repo_gpgcheck = true,
            (arg::KERNEL_ALT, None) => install.kernel_alt = true,
            _ => {}
        }
    }
    (install, shell)
}
