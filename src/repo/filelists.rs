//! filelists.xml: every file of every package, as createrepo_c writes it.

use std::io::{self, Write};

use super::primary::{write_file, write_version};
use super::record::Record;
use super::xml::{attr, document};

/// Namespace of filelists.xml.
pub const NS_FILELISTS: &str = "http://linux.duke.edu/metadata/filelists";

/// Writes a complete filelists.xml for `records`, in the given order.
pub fn write_filelists(out: &mut impl Write, records: &[Record]) -> io::Result<()> {
    document(
        out,
        "filelists",
        &format!(r#"xmlns="{NS_FILELISTS}""#),
        records,
        write_package,
    )
}

/// Writes one `<package>` element of filelists.xml followed by a newline.
pub fn write_package(out: &mut impl Write, r: &Record) -> io::Result<()> {
    write_package_open(out, r)?;
    write_version(out, "  ", r)?;
    for f in &r.files {
        write_file(out, "  ", &f.path, f.kind)?;
    }
    writeln!(out, "</package>")
}

/// Writes `<package pkgid= name= arch=>` (shared with other.xml).
pub(crate) fn write_package_open(out: &mut impl Write, r: &Record) -> io::Result<()> {
    write!(out, r#"<package pkgid=""#)?;
    attr(out, &r.pkgid)?;
    write!(out, r#"" name=""#)?;
    attr(out, &r.name)?;
    write!(out, r#"" arch=""#)?;
    attr(out, &r.arch)?;
    writeln!(out, r#"">"#)
}
