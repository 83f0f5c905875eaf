//! The metadata files' framing as createrepo_c writes them; the escaping is libxml2's (the
//! crate's `xml` module).

use std::io::{self, Write};

pub use crate::xml::{attr, has_forbidden_control, text};

/// Writes a whole metadata file as createrepo_c does: the XML declaration, the root element
/// `root` with the attributes `namespaces` and the `packages` count, each of `items` written by
/// `item`, and the closing root tag without a final newline.
pub fn document<W: Write, T>(
    out: &mut W,
    root: &str,
    namespaces: &str,
    items: &[T],
    mut item: impl FnMut(&mut W, &T) -> io::Result<()>,
) -> io::Result<()> {
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<{root} {namespaces} packages="{}">"#, items.len())?;
    for i in items {
        item(out, i)?;
    }
    write!(out, "</{root}>")
}

/// Writes `<name>text</name>` with the given indentation and a newline.
pub fn text_element(out: &mut impl Write, indent: &str, name: &str, value: &str) -> io::Result<()> {
    write!(out, "{indent}<{name}>")?;
    text(out, value)?;
    writeln!(out, "</{name}>")
}
