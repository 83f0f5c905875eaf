//! `.treeinfo` as host-installer's `MainYumRepository` reads it: Python's `ConfigParser`
//! (a `%` not written `%%` breaks interpolation), the name and version pairs of `[system-v1]`,
//! `[platform]`, `[branding]` (a section without one of its keys is an error), dotted versions,
//! `[build] number`, and the first file of `[keys]`, which must exist on the image.

use super::{Finding, Severity};
use crate::iso::SourceIso;
use crate::treeinfo::{TreeInfo, is_dotted_version};
use crate::xcpng;

/// What `.treeinfo` says and what is wrong with it.
#[derive(Debug, Default)]
pub struct Treeinfo {
    /// The first key file of `[keys]` (a path relative to the image root), when there is one.
    pub key_file: Option<String>,
    /// What is wrong.
    pub findings: Vec<Finding>,
}

/// Reads and checks `.treeinfo` of `source`.
pub fn check(source: &SourceIso) -> Treeinfo {
    let mut out = Treeinfo::default();
    let mut fail = |message: String| {
        out.findings.push(Finding {
            check: "treeinfo",
            severity: Severity::Error,
            message: format!(".treeinfo: {message}"),
        })
    };
    let bytes = match source.read_file(xcpng::TREEINFO) {
        Ok(b) => b,
        Err(_) => {
            fail("missing: the installer finds no main repository without it".into());
            return out;
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        fail("not UTF-8 text".into());
        return out;
    };
    let info = match TreeInfo::parse(&text) {
        Ok(i) => i,
        Err(e) => {
            fail(format!("ConfigParser cannot read it: {e}"));
            return out;
        }
    };
    if let Err(e) = info.check_values() {
        fail(format!("ConfigParser cannot read it: {e}"));
    }
    let pairs = [
        ("system-v1", "platform_name", "platform_version"),
        ("system-v1", "product_name", "product_version"),
        ("platform", "name", "version"),
        ("branding", "name", "version"),
    ];
    for (section, name, version) in pairs {
        if !has_section(&info, section) {
            continue;
        }
        for key in [name, version] {
            if info.get(section, key).is_none() {
                fail(format!(
                    "[{section}] has no {key} (the installer fails on it)"
                ));
            }
        }
        if let Some(v) = info.get(section, version)
            && !is_dotted_version(v)
        {
            fail(format!("[{section}] {version} {v:?} is not dotted numbers"));
        }
    }
    if has_section(&info, "build") && info.get("build", "number").is_none() {
        fail("[build] has no number (the installer fails on it)".into());
    }
    if let Some((_, first)) = info.options("keys").into_iter().next() {
        let path = format!("/{}", first.trim_start_matches('/'));
        if !source.exists(&path) {
            fail(format!(
                "[keys] names {first}, which is not on the image: every install fails opening it"
            ));
        }
        out.key_file = Some(path);
    }
    out
}

fn has_section(info: &TreeInfo, section: &str) -> bool {
    info.to_text()
        .lines()
        .any(|l| l.trim_end() == format!("[{section}]"))
}
