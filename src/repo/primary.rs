//! primary.xml: the package list with versions, checksums, sizes, locations, dependencies and
//! the "primary" files, byte for byte as createrepo_c writes it.

use std::io::{self, Write};

use super::record::{Dep, Record, is_primary_file};
use super::xml::{attr, document, text, text_element};
use crate::rpm::header::FileKind;

/// Namespace of primary.xml.
pub const NS_COMMON: &str = "http://linux.duke.edu/metadata/common";
/// Namespace of the `rpm:` elements.
pub const NS_RPM: &str = "http://linux.duke.edu/metadata/rpm";

/// Writes a complete primary.xml for `records`, in the given order.
pub fn write_primary(out: &mut impl Write, records: &[Record]) -> io::Result<()> {
    document(
        out,
        "metadata",
        &format!(r#"xmlns="{NS_COMMON}" xmlns:rpm="{NS_RPM}""#),
        records,
        write_package,
    )
}

/// Writes one `<package>` element of primary.xml followed by a newline.
pub fn write_package(out: &mut impl Write, r: &Record) -> io::Result<()> {
    writeln!(out, r#"<package type="rpm">"#)?;
    text_element(out, "  ", "name", &r.name)?;
    text_element(out, "  ", "arch", &r.arch)?;
    write_version(out, "  ", r)?;
    write!(out, r#"  <checksum type="sha256" pkgid="YES">"#)?;
    text(out, &r.pkgid)?;
    writeln!(out, "</checksum>")?;
    text_element(out, "  ", "summary", &r.summary)?;
    text_element(out, "  ", "description", &r.description)?;
    text_element(out, "  ", "packager", &r.packager)?;
    text_element(out, "  ", "url", &r.url)?;
    writeln!(
        out,
        r#"  <time file="{}" build="{}"/>"#,
        r.time_file, r.time_build
    )?;
    writeln!(
        out,
        r#"  <size package="{}" installed="{}" archive="{}"/>"#,
        r.size_package, r.size_installed, r.size_archive
    )?;
    write!(out, r#"  <location href=""#)?;
    attr(out, &r.location_href)?;
    writeln!(out, r#""/>"#)?;
    writeln!(out, "  <format>")?;
    text_element(out, "    ", "rpm:license", &r.license)?;
    text_element(out, "    ", "rpm:vendor", &r.vendor)?;
    text_element(out, "    ", "rpm:group", &r.group)?;
    text_element(out, "    ", "rpm:buildhost", &r.buildhost)?;
    text_element(out, "    ", "rpm:sourcerpm", &r.sourcerpm)?;
    writeln!(
        out,
        r#"    <rpm:header-range start="{}" end="{}"/>"#,
        r.header_start, r.header_end
    )?;
    write_deps(out, "rpm:provides", &r.provides, false)?;
    write_deps(out, "rpm:requires", &r.requires, true)?;
    write_deps(out, "rpm:conflicts", &r.conflicts, false)?;
    write_deps(out, "rpm:obsoletes", &r.obsoletes, false)?;
    write_deps(out, "rpm:suggests", &r.suggests, false)?;
    write_deps(out, "rpm:enhances", &r.enhances, false)?;
    write_deps(out, "rpm:recommends", &r.recommends, false)?;
    write_deps(out, "rpm:supplements", &r.supplements, false)?;
    for f in r.files.iter().filter(|f| is_primary_file(&f.path)) {
        write_file(out, "    ", &f.path, f.kind)?;
    }
    writeln!(out, "  </format>")?;
    writeln!(out, "</package>")
}

/// Writes `<version epoch= ver= rel=/>`.
pub(crate) fn write_version(out: &mut impl Write, indent: &str, r: &Record) -> io::Result<()> {
    write!(out, r#"{indent}<version epoch=""#)?;
    attr(out, &r.epoch)?;
    write!(out, r#"" ver=""#)?;
    attr(out, &r.version)?;
    write!(out, r#"" rel=""#)?;
    attr(out, &r.release)?;
    writeln!(out, r#""/>"#)
}

/// Writes a `<file>` element (type attribute for directories and ghosts).
pub(crate) fn write_file(
    out: &mut impl Write,
    indent: &str,
    path: &str,
    kind: FileKind,
) -> io::Result<()> {
    match kind {
        FileKind::File => write!(out, "{indent}<file>")?,
        FileKind::Dir => write!(out, r#"{indent}<file type="dir">"#)?,
        FileKind::Ghost => write!(out, r#"{indent}<file type="ghost">"#)?,
    }
    text(out, path)?;
    writeln!(out, "</file>")
}

fn write_deps(out: &mut impl Write, element: &str, deps: &[Dep], requires: bool) -> io::Result<()> {
    if deps.is_empty() {
        return Ok(());
    }
    let entries: Vec<&Dep> = deps.iter().filter(|d| !d.name.is_empty()).collect();
    if entries.is_empty() {
        return writeln!(out, "    <{element}/>");
    }
    writeln!(out, "    <{element}>")?;
    for d in entries {
        write!(out, r#"      <rpm:entry name=""#)?;
        attr(out, &d.name)?;
        write!(out, "\"")?;
        if let Some(flags) = d.flags.as_deref().filter(|f| !f.is_empty()) {
            write!(out, r#" flags=""#)?;
            attr(out, flags)?;
            write!(out, "\"")?;
            for (key, value) in [("epoch", &d.epoch), ("ver", &d.ver), ("rel", &d.rel)] {
                if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                    write!(out, r#" {key}=""#)?;
                    attr(out, v)?;
                    write!(out, "\"")?;
                }
            }
        }
        if requires && d.pre {
            write!(out, r#" pre="1""#)?;
        }
        writeln!(out, "/>")?;
    }
    writeln!(out, "    </{element}>")
}
