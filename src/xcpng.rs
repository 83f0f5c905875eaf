//! Facts of the XCP-ng 8.3 installer (host-installer 10.10.x) that several parts of the tool
//! depend on: where things are on the ISO and in install.img, which boot arguments and answer
//! file attributes it reads, and what it installs. One home for each, so the build and
//! `verify` cannot drift apart.

/// The installer's root filesystem on the ISO (the initrd of every installer boot entry).
pub const INSTALL_IMG: &str = "/install.img";
/// The repository description the installer reads with Python's `ConfigParser`.
pub const TREEINFO: &str = "/.treeinfo";
/// The repository index.
pub const REPOMD: &str = "/repodata/repomd.xml";
/// The detached signature of [`REPOMD`] that yum wants when `repo_gpgcheck` is on.
pub const REPOMD_ASC: &str = "/repodata/repomd.xml.asc";
/// What makes an image a driver disk (or an update) for the installer.
pub const UPDATE_XML: &str = "/update.xml";
/// The detached signature of [`UPDATE_XML`] on a signed driver disk.
pub const UPDATE_XML_ASC: &str = "/update.xml.asc";
/// The installer's own repository code inside install.img, whose `MainYumRepository._targets`
/// says what it installs.
pub const INSTALLER_REPOSITORY_PY: &str = "/opt/xensource/installer/repository.py";
/// Where `isoremix build` puts an embedded answer file inside install.img, named on the dom0
/// line as `answerfile=file:///answerfile.xml`.
pub const ANSWERFILE: &str = "/answerfile.xml";

/// What XCP-ng 8.x's installer installs from the main repository (`MainYumRepository._targets`).
pub const MAIN_TARGET: &str = "xcp-ng-deps";
/// The comps groups XenServer-style installers install when the repository has no
/// [`MAIN_TARGET`] (`@xenserver_base @xenserver_dom0`).
pub const XENSERVER_GROUPS: [&str; 2] = ["xenserver_base", "xenserver_dom0"];
/// The package added to the targets when [`arg::KERNEL_ALT`] is on the dom0 command line.
pub const KERNEL_ALT_PACKAGE: &str = "kernel-alt";
/// The comps group the installer installs from a driver disk (`yum install @drivers`).
pub const DRIVERS_GROUP: &str = "drivers";

/// The dom0 boot arguments that turn the installer's signature checks off (RPMs, then
/// repomd.xml) for an interactive install.
pub const SIGNATURE_CHECKS_OFF_ARGS: [&str; 2] = [arg::NO_GPGCHECK, arg::NO_REPO_GPGCHECK];
/// The answer-file attributes (of `<installation>`) that turn the same checks off for an
/// unattended install.
pub const SIGNATURE_CHECKS_OFF_ATTRIBUTES: [(&str, &str); 2] =
    [(attr::GPGCHECK, "false"), (attr::REPO_GPGCHECK, "false")];

/// dom0 boot arguments the installer acts on (startup/preinit, init, install.py).
pub mod arg {
    /// `answerfile=<url>`: an unattended install driven by that answer file.
    pub const ANSWERFILE: &str = "answerfile";
    /// `rt_answerfile=<url>`: the same, without the text UI.
    pub const RT_ANSWERFILE: &str = "rt_answerfile";
    /// `answerfile_generator=<url>`: a script that prints the answer file.
    pub const ANSWERFILE_GENERATOR: &str = "answerfile_generator";
    /// Turns RPM signature checks off; refused together with an answer file.
    pub const NO_GPGCHECK: &str = "no-gpgcheck";
    /// Turns the repomd.xml signature check off; refused together with an answer file.
    pub const NO_REPO_GPGCHECK: &str = "no-repo-gpgcheck";
    /// Installs the alternate kernel as well.
    pub const KERNEL_ALT: &str = "kernel-alt";
    /// Open a shell first; the installer runs only when it exits.
    pub const SHELLS: [&str; 2] = ["shell", "bash-shell"];
    /// Arguments preinit consumes and does not pass to the installer.
    pub const NOT_PASSED: [&str; 8] = [
        "atexit",
        "blacklist",
        "enable-ide",
        "extramodules",
        "make-ramdisk",
        "sshpassword",
        "start",
        "bash-shell",
    ];
}

/// Attributes of the answer file's `<installation>` element (and of each `<source>`).
pub mod attr {
    /// RPM signature checks (default on; `true`/`yes` is on, any other value off).
    pub const GPGCHECK: &str = "gpgcheck";
    /// repomd.xml signature check (same values).
    pub const REPO_GPGCHECK: &str = "repo-gpgcheck";
}
