//! other.xml: the changelogs, as createrepo_c writes it.

use std::io::{self, Write};

use super::filelists::write_package_open;
use super::primary::write_version;
use super::record::Record;
use super::xml::{attr, document, text};

/// Namespace of other.xml.
pub const NS_OTHER: &str = "http://linux.duke.edu/metadata/other";

/// Writes a complete other.xml for `records`, in the given order.
pub fn write_other(out: &mut impl Write, records: &[Record]) -> io::Result<()> {
    document(
        out,
        "otherdata",
        &format!(r#"xmlns="{NS_OTHER}""#),
        records,
        write_package,
    )
}

/// Writes one `<package>` element of other.xml followed by a newline.
pub fn write_package(out: &mut impl Write, r: &Record) -> io::Result<()> {
    write_package_open(out, r)?;
    write_version(out, "  ", r)?;
    for c in &r.changelogs {
        write!(out, r#"  <changelog author=""#)?;
        attr(out, &c.author)?;
        write!(out, r#"" date="{}">"#, c.date)?;
        text(out, &c.text)?;
        writeln!(out, "</changelog>")?;
    }
    writeln!(out, "</package>")
}
