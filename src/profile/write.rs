//! The typed profile written back as TOML: a "resolved" profile, with every path absolute (as
//! loaded), `[packages] add` globs replaced by the files they matched, and defaults left out.
//! Loading the text again gives the same profile (up to positions).

use std::path::Path;

use toml::{Table, Value};

use super::{
    ArgEdits, BootEdits, BuildArch, DEFAULT_BUILD_RELEASE, DEFAULT_FILE_MODE, DiskSource, Driver,
    DriverDisk, DriverDiskProfile, DriverSource, Error, InstallerEdits, InstallerMode, IsoEdits,
    Located, ModuleDir, ModuleSet, Output, PackageBuild, PackageEdits, Profile, Signing, SourceIso,
    TreeinfoEdits,
};

/// Writes a remaster profile.
pub(crate) fn remaster(p: &Profile) -> Result<String, Error> {
    let mut doc = Table::new();
    let source = match &p.source.iso {
        SourceIso::Sample => "builtin:sample".to_owned(),
        SourceIso::File(path) => {
            let s = path_str(path)?;
            if s.starts_with("builtin:") {
                format!("./{s}")
            } else {
                s
            }
        }
    };
    doc.insert(
        "source".into(),
        table([("iso", Value::String(source))]).into(),
    );
    doc.insert("output".into(), output(&p.output)?.into());
    put(&mut doc, "iso", iso(&p.iso)?);
    put(&mut doc, "installer", installer(&p.installer)?);
    put(&mut doc, "boot", boot(&p.boot));
    put(&mut doc, "packages", packages(&p.packages)?);
    put(&mut doc, "treeinfo", treeinfo(&p.treeinfo));
    if let Some(s) = &p.signing {
        doc.insert("signing".into(), signing(s)?.into());
    }
    if !p.drivers.is_empty() {
        let drivers = p
            .drivers
            .iter()
            .map(driver)
            .collect::<Result<Vec<_>, _>>()?;
        doc.insert("drivers".into(), tables(drivers));
    }
    finish(&doc)
}

/// Writes a driver-disk profile.
pub(crate) fn driver_disk(p: &DriverDiskProfile) -> Result<String, Error> {
    let mut doc = Table::new();
    doc.insert("output".into(), output(&p.output)?.into());
    if let Some(s) = &p.signing {
        doc.insert("signing".into(), signing(s)?.into());
    }
    doc.insert("driver_disk".into(), disk(&p.driver_disk)?.into());
    finish(&doc)
}

/// The sections in the order a profile is usually written (a TOML table alone would sort them).
const SECTION_ORDER: [&str; 10] = [
    "source",
    "output",
    "iso",
    "installer",
    "boot",
    "packages",
    "treeinfo",
    "signing",
    "drivers",
    "driver_disk",
];

pub(super) fn finish(doc: &Table) -> Result<String, Error> {
    let mut text = String::new();
    for key in SECTION_ORDER {
        if let Some(section) = doc.get(key) {
            let one: Table = [(key.to_owned(), section.clone())].into_iter().collect();
            let part = toml::to_string(&one).map_err(|e| Error::Write {
                message: e.to_string(),
            })?;
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&part);
        }
    }
    Ok(text)
}

fn path_str(path: &Path) -> Result<String, Error> {
    path.to_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::NotUtf8 {
            path: path.to_path_buf(),
        })
}

fn table<const N: usize>(entries: [(&str, Value); N]) -> Table {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

fn tables(list: Vec<Table>) -> Value {
    Value::Array(list.into_iter().map(Value::Table).collect())
}

/// Inserts a section unless it is empty.
pub(super) fn put(doc: &mut Table, key: &str, section: Table) {
    if !section.is_empty() {
        doc.insert(key.to_owned(), section.into());
    }
}

fn opt(t: &mut Table, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        t.insert(key.to_owned(), v);
    }
}

fn string(s: &Located<String>) -> Value {
    Value::String(s.value.clone())
}

fn strings(list: &[Located<String>]) -> Value {
    Value::Array(list.iter().map(string).collect())
}

fn nonempty_strings(t: &mut Table, key: &str, list: &[Located<String>]) {
    if !list.is_empty() {
        t.insert(key.to_owned(), strings(list));
    }
}

fn path(p: &Located<std::path::PathBuf>) -> Result<Value, Error> {
    Ok(Value::String(path_str(&p.value)?))
}

fn paths(list: &[Located<std::path::PathBuf>]) -> Result<Value, Error> {
    Ok(Value::Array(
        list.iter().map(path).collect::<Result<_, _>>()?,
    ))
}

fn output(o: &Output) -> Result<Table, Error> {
    let mut t = table([("iso", Value::String(path_str(&o.iso)?))]);
    opt(&mut t, "volume_id", o.volume_id.as_ref().map(string));
    Ok(t)
}

fn iso(i: &IsoEdits) -> Result<Table, Error> {
    let mut t = Table::new();
    nonempty_strings(&mut t, "remove", &i.remove);
    if !i.files.is_empty() {
        let files = i
            .files
            .iter()
            .map(|f| Ok(table([("src", path(&f.src)?), ("dest", string(&f.dest))])))
            .collect::<Result<Vec<_>, Error>>()?;
        t.insert("files".into(), tables(files));
    }
    Ok(t)
}

fn installer(i: &InstallerEdits) -> Result<Table, Error> {
    let mut t = Table::new();
    nonempty_strings(&mut t, "remove", &i.remove);
    if !i.patches.is_empty() {
        t.insert("patches".into(), paths(&i.patches)?);
    }
    opt(
        &mut t,
        "answerfile",
        i.answerfile.as_ref().map(path).transpose()?,
    );
    let mode = match i.mode {
        InstallerMode::Auto => None,
        InstallerMode::Overlay => Some("overlay"),
        InstallerMode::Repack => Some("repack"),
    };
    opt(&mut t, "mode", mode.map(|m| Value::String(m.into())));
    files_with_mode(&mut t, i.files.iter().map(|f| (&f.src, &f.dest, f.mode)))?;
    Ok(t)
}

fn arg_edits(a: &ArgEdits) -> Option<Value> {
    if a.is_empty() {
        return None;
    }
    let mut t = Table::new();
    nonempty_strings(&mut t, "set", &a.set);
    nonempty_strings(&mut t, "add", &a.add);
    nonempty_strings(&mut t, "remove", &a.remove);
    Some(t.into())
}

fn boot(b: &BootEdits) -> Table {
    let mut t = Table::new();
    opt(&mut t, "entries", b.entries.as_deref().map(strings));
    opt(&mut t, "xen_args", arg_edits(&b.xen_args));
    opt(&mut t, "dom0_args", arg_edits(&b.dom0_args));
    opt(&mut t, "default", b.default.as_ref().map(string));
    opt(
        &mut t,
        "timeout",
        b.timeout
            .as_ref()
            .map(|s| Value::Integer(i64::from(s.value))),
    );
    if b.efi_fallback {
        t.insert("efi_fallback".into(), Value::Boolean(true));
    }
    if !b.new_entries.is_empty() {
        let entries = b
            .new_entries
            .iter()
            .map(|e| {
                let mut t = table([
                    ("label", string(&e.label)),
                    ("title", string(&e.title)),
                    ("from", string(&e.from)),
                ]);
                opt(&mut t, "xen_args", arg_edits(&e.xen_args));
                opt(&mut t, "dom0_args", arg_edits(&e.dom0_args));
                t
            })
            .collect();
        t.insert("entry".into(), tables(entries));
    }
    t
}

fn packages(p: &PackageEdits) -> Result<Table, Error> {
    let mut t = Table::new();
    if !p.add.is_empty() {
        // Each file becomes a glob that matches exactly itself.
        let globs = p
            .add
            .iter()
            .map(|f| Ok(Value::String(glob::Pattern::escape(&path_str(&f.value)?))))
            .collect::<Result<Vec<_>, Error>>()?;
        t.insert("add".into(), Value::Array(globs));
    }
    nonempty_strings(&mut t, "remove", &p.remove);
    nonempty_strings(&mut t, "install", &p.install);
    opt(&mut t, "group", p.group.as_ref().map(string));
    opt(&mut t, "meta", p.meta.as_ref().map(string));
    if p.allow_downgrade {
        t.insert("allow_downgrade".into(), Value::Boolean(true));
    }
    if !p.from.is_empty() {
        t.insert("from".into(), paths(&p.from)?);
    }
    if p.update {
        t.insert("update".into(), Value::Boolean(true));
    }
    nonempty_strings(&mut t, "allow_unresolved", &p.allow_unresolved);
    if !p.build.is_empty() {
        let builds = p
            .build
            .iter()
            .map(package_build)
            .collect::<Result<Vec<_>, _>>()?;
        t.insert("build".into(), tables(builds));
    }
    Ok(t)
}

fn package_build(b: &PackageBuild) -> Result<Table, Error> {
    let text = |s: &str| Value::String(s.to_owned());
    let mut t = table([("name", string(&b.name)), ("version", string(&b.version))]);
    if b.release != DEFAULT_BUILD_RELEASE {
        t.insert("release".into(), text(&b.release));
    }
    if b.arch != BuildArch::default() {
        t.insert("arch".into(), text(b.arch.as_str()));
    }
    t.insert("summary".into(), text(&b.summary));
    opt(&mut t, "description", b.description.as_deref().map(text));
    t.insert("license".into(), text(&b.license));
    opt(&mut t, "group", b.group.as_deref().map(text));
    opt(&mut t, "vendor", b.vendor.as_deref().map(text));
    nonempty_strings(&mut t, "requires", &b.requires);
    files_with_mode(&mut t, b.files.iter().map(|f| (&f.src, &f.dest, f.mode)))?;
    Ok(t)
}

/// `files`, each as [`file_with_mode`] writes it, under the key `files` of `t` (none: no key).
fn files_with_mode<'a>(
    t: &mut Table,
    files: impl ExactSizeIterator<Item = (&'a Located<std::path::PathBuf>, &'a Located<String>, u32)>,
) -> Result<(), Error> {
    if files.len() > 0 {
        let files = files
            .map(|(src, dest, mode)| file_with_mode(src, dest, mode))
            .collect::<Result<Vec<_>, Error>>()?;
        t.insert("files".into(), tables(files));
    }
    Ok(())
}

/// A `[[installer.files]]` or `[[packages.build.files]]` table: `src`, `dest`, and `mode`
/// unless it is the default.
fn file_with_mode(
    src: &Located<std::path::PathBuf>,
    dest: &Located<String>,
    mode: u32,
) -> Result<Table, Error> {
    let mut t = table([("src", path(src)?), ("dest", string(dest))]);
    if mode != DEFAULT_FILE_MODE {
        t.insert("mode".into(), Value::String(format!("{mode:04o}")));
    }
    Ok(t)
}

fn treeinfo(ti: &TreeinfoEdits) -> Table {
    let mut t = Table::new();
    opt(&mut t, "build_number", ti.build_number.as_ref().map(string));
    opt(&mut t, "product_name", ti.product_name.as_ref().map(string));
    opt(
        &mut t,
        "product_version",
        ti.product_version.as_ref().map(string),
    );
    t
}

fn signing(s: &Signing) -> Result<Table, Error> {
    let mut t = table([("key", path(&s.key)?)]);
    opt(
        &mut t,
        "passphrase_env",
        s.passphrase_env.as_ref().map(string),
    );
    Ok(t)
}

fn modules(t: &mut Table, m: &ModuleSet) -> Result<(), Error> {
    t.insert("ko".into(), paths(&m.ko)?);
    if m.dir != ModuleDir::Updates {
        t.insert("dir".into(), Value::String(m.dir.as_str().into()));
    }
    opt(t, "kernel", m.kernel.as_ref().map(string));
    Ok(())
}

fn driver(d: &Driver) -> Result<Table, Error> {
    let mut t = Table::new();
    match &d.source {
        DriverSource::Rpm(rpm) => {
            t.insert("rpm".into(), path(rpm)?);
        }
        DriverSource::Modules {
            modules: m,
            package,
            version,
        } => {
            modules(&mut t, m)?;
            t.insert("name".into(), string(package));
            opt(&mut t, "version", version.as_ref().map(string));
        }
    }
    if !d.installer {
        t.insert("installer".into(), Value::Boolean(false));
    }
    if !d.system {
        t.insert("system".into(), Value::Boolean(false));
    }
    if d.force {
        t.insert("force".into(), Value::Boolean(true));
    }
    Ok(t)
}

fn disk(d: &DriverDisk) -> Result<Table, Error> {
    let mut t = table([("name", string(&d.name))]);
    opt(&mut t, "version", d.version.as_ref().map(string));
    opt(&mut t, "description", d.description.as_ref().map(string));
    match &d.source {
        DiskSource::Rpm(rpm) => {
            t.insert("rpm".into(), path(rpm)?);
        }
        DiskSource::Modules(m) => modules(&mut t, m)?,
    }
    if d.force {
        t.insert("force".into(), Value::Boolean(true));
    }
    opt(&mut t, "uuid", d.uuid.as_ref().map(string));
    Ok(t)
}
