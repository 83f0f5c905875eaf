//! The TOML shape of a profile, exactly as written: every table refuses unknown keys, and every
//! value keeps its byte span so that validation can report `file:line:col`.
//!
//! Nothing here is checked beyond TOML types; `validate.rs` turns these structs into the typed
//! profile.

use serde::Deserialize;
use serde_spanned::Spanned;

/// A string with its span.
pub(crate) type Str = Spanned<String>;
/// A list of strings, each with its span.
pub(crate) type StrList = Vec<Str>;

/// The whole profile file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Document {
    pub source: Option<Spanned<Source>>,
    pub output: Option<Spanned<Output>>,
    pub iso: Option<Spanned<Iso>>,
    pub installer: Option<Spanned<Installer>>,
    pub boot: Option<Spanned<Boot>>,
    pub packages: Option<Spanned<Packages>>,
    pub treeinfo: Option<Spanned<Treeinfo>>,
    pub signing: Option<Spanned<Signing>>,
    pub drivers: Option<Spanned<Vec<Spanned<Driver>>>>,
    pub driver_disk: Option<Spanned<DriverDisk>>,
}

/// `[source]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Source {
    pub iso: Str,
}

/// `[output]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Output {
    pub iso: Str,
    pub volume_id: Option<Str>,
}

/// `[iso]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Iso {
    #[serde(default)]
    pub remove: StrList,
    #[serde(default)]
    pub files: Vec<Spanned<IsoFile>>,
}

/// `[[iso.files]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IsoFile {
    pub src: Str,
    pub dest: Str,
}

/// `[installer]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Installer {
    #[serde(default)]
    pub remove: StrList,
    #[serde(default)]
    pub patches: StrList,
    pub answerfile: Option<Str>,
    pub mode: Option<Spanned<InstallerMode>>,
    #[serde(default)]
    pub files: Vec<Spanned<FileWithMode>>,
}

/// `[installer] mode`
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum InstallerMode {
    Auto,
    Overlay,
    Repack,
}

/// `[[installer.files]]`, `[[packages.build.files]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileWithMode {
    pub src: Str,
    pub dest: Str,
    pub mode: Option<Str>,
}

/// `[boot]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Boot {
    pub entries: Option<Spanned<StrList>>,
    pub xen_args: Option<Spanned<ArgEdits>>,
    pub dom0_args: Option<Spanned<ArgEdits>>,
    pub default: Option<Str>,
    pub timeout: Option<Spanned<i64>>,
    pub efi_fallback: Option<bool>,
    #[serde(default)]
    pub entry: Vec<Spanned<BootEntry>>,
}

/// `xen_args = { ... }` / `dom0_args = { ... }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArgEdits {
    #[serde(default)]
    pub set: StrList,
    #[serde(default)]
    pub add: StrList,
    #[serde(default)]
    pub remove: StrList,
}

/// `[[boot.entry]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BootEntry {
    pub label: Str,
    pub title: Str,
    pub from: Str,
    pub xen_args: Option<Spanned<ArgEdits>>,
    pub dom0_args: Option<Spanned<ArgEdits>>,
}

/// `[packages]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Packages {
    #[serde(default)]
    pub add: StrList,
    #[serde(default)]
    pub remove: StrList,
    #[serde(default)]
    pub install: StrList,
    pub group: Option<Str>,
    pub meta: Option<Str>,
    pub allow_downgrade: Option<bool>,
    #[serde(default)]
    pub from: StrList,
    pub update: Option<bool>,
    #[serde(default)]
    pub allow_unresolved: StrList,
    #[serde(default)]
    pub build: Vec<Spanned<PackageBuild>>,
}

/// `[[packages.build]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PackageBuild {
    pub name: Str,
    pub version: Str,
    pub release: Option<Str>,
    pub arch: Option<Spanned<BuildArch>>,
    pub summary: Str,
    pub description: Option<Str>,
    pub license: Str,
    pub group: Option<Str>,
    pub vendor: Option<Str>,
    #[serde(default)]
    pub requires: StrList,
    #[serde(default)]
    pub files: Vec<Spanned<FileWithMode>>,
}

/// `[[packages.build]] arch`
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum BuildArch {
    Noarch,
    X86_64,
}

/// `[treeinfo]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Treeinfo {
    pub build_number: Option<Str>,
    pub product_name: Option<Str>,
    pub product_version: Option<Str>,
}

/// `[signing]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Signing {
    pub key: Str,
    pub passphrase_env: Option<Str>,
}

/// `[[drivers]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Driver {
    pub rpm: Option<Str>,
    pub ko: Option<Spanned<StrList>>,
    pub name: Option<Str>,
    pub version: Option<Str>,
    pub dir: Option<Spanned<ModuleDir>>,
    pub installer: Option<bool>,
    pub system: Option<bool>,
    pub kernel: Option<Str>,
    pub force: Option<bool>,
}

/// `dir = "..."` of a module set.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ModuleDir {
    Updates,
    Extra,
    Override,
}

/// `[driver_disk]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DriverDisk {
    pub name: Str,
    pub version: Option<Str>,
    pub description: Option<Str>,
    pub rpm: Option<Str>,
    pub ko: Option<Spanned<StrList>>,
    pub dir: Option<Spanned<ModuleDir>>,
    pub kernel: Option<Str>,
    pub force: Option<bool>,
    pub uuid: Option<Str>,
}
