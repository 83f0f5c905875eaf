//! Answer files of the XCP-ng installer: a check that the file is well-formed XML whose root is
//! `<installation>` or `<restore>`, and an editor of the root element's attributes that keeps
//! every other byte of the file as it was.

use quick_xml::Reader;
use quick_xml::events::Event;

/// What is wrong with an answer file; names the file and the line/column.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not well-formed XML.
    #[error("answer file {file}: line {line}, column {column}: not well-formed XML: {what}")]
    Malformed {
        /// Name of the file.
        file: String,
        /// Line (1-based).
        line: usize,
        /// Column (1-based, in bytes).
        column: usize,
        /// What is wrong.
        what: String,
    },
    /// The root element is not one the installer accepts.
    #[error(
        "answer file {file}: line {line}, column {column}: root element is <{root}>, the installer wants <installation> or <restore>"
    )]
    WrongRoot {
        /// Name of the file.
        file: String,
        /// Line of the root element.
        line: usize,
        /// Column of the root element.
        column: usize,
        /// The root element's name.
        root: String,
    },
    /// No element at all.
    #[error("answer file {file}: no root element")]
    Empty {
        /// Name of the file.
        file: String,
    },
    /// The attribute edit is not possible on this root.
    #[error("answer file {file}: {what}")]
    Edit {
        /// Name of the file.
        file: String,
        /// What is wrong.
        what: String,
    },
}

/// The kind of answer file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// `<installation>`: a fresh install or an upgrade.
    Installation,
    /// `<restore>`: restore from backup.
    Restore,
}

fn line_col(text: &[u8], pos: usize) -> (usize, usize) {
    let before = &text[..pos.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.len()
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1)
        + 1;
    (line, col)
}

/// Byte range of the root start tag and the root's kind.
struct RootTag {
    start: usize,
    end: usize,
    kind: Root,
    empty: bool,
}

fn scan(file: &str, text: &[u8]) -> Result<RootTag, Error> {
    let mut reader = Reader::from_reader(text);
    reader.config_mut().check_end_names = true;
    let malformed = |pos: usize, what: String| {
        let (line, column) = line_col(text, pos);
        Error::Malformed {
            file: file.to_string(),
            line,
            column,
            what,
        }
    };
    let mut depth = 0usize;
    let mut root: Option<RootTag> = None;
    let mut root_closed = false;
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| malformed(reader.error_position() as usize, e.to_string()))?;
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                for attr in e.attributes() {
                    let attr = attr.map_err(|err| malformed(before, err.to_string()))?;
                    attr.unescape_value()
                        .map_err(|err| malformed(before, format!("attribute value: {err}")))?;
                }
                if root_closed {
                    return Err(malformed(
                        before,
                        "a second top-level element after the root".to_string(),
                    ));
                }
                let is_empty = matches!(event, Event::Empty(_));
                if root.is_none() {
                    let name = e.name();
                    let kind = match name.as_ref() {
                        b"installation" => Root::Installation,
                        b"restore" => Root::Restore,
                        other => {
                            let (line, column) = line_col(text, before);
                            return Err(Error::WrongRoot {
                                file: file.to_string(),
                                line,
                                column,
                                root: String::from_utf8_lossy(other).into_owned(),
                            });
                        }
                    };
                    root = Some(RootTag {
                        start: before,
                        end: after,
                        kind,
                        empty: is_empty,
                    });
                }
                if is_empty {
                    if depth == 0 {
                        root_closed = true;
                    }
                } else {
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    root_closed = true;
                }
            }
            Event::Text(ref t) => {
                let unescaped = t
                    .unescape()
                    .map_err(|err| malformed(before, format!("text: {err}")))?;
                if depth == 0 && !unescaped.trim().is_empty() {
                    return Err(malformed(
                        before,
                        "text outside the root element".to_string(),
                    ));
                }
            }
            Event::CData(_) if depth == 0 => {
                return Err(malformed(
                    before,
                    "CDATA outside the root element".to_string(),
                ));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if depth > 0 {
        return Err(malformed(
            text.len(),
            "end of file inside an element (unclosed tag)".to_string(),
        ));
    }
    root.ok_or_else(|| Error::Empty {
        file: file.to_string(),
    })
}

/// Checks that `text` (named `file` in messages) is well-formed XML with an `<installation>` or
/// `<restore>` root, and says which.
pub fn validate(file: &str, text: &[u8]) -> Result<Root, Error> {
    scan(file, text).map(|r| r.kind)
}

/// The value of attribute `name` of the root element (`<installation gpgcheck="false">`), after
/// checking the file as [`validate`] does; `None` when the root does not have it.
pub fn root_attribute(file: &str, text: &[u8], name: &str) -> Result<Option<String>, Error> {
    let root = scan(file, text)?;
    let tag = &text[root.start..root.end];
    let edit = |what: String| Error::Edit {
        file: file.to_string(),
        what,
    };
    let mut reader = Reader::from_reader(tag);
    let (Event::Start(start) | Event::Empty(start)) =
        reader.read_event().map_err(|e| edit(e.to_string()))?
    else {
        return Err(edit("root tag not found again".to_string()));
    };
    for attr in start.attributes() {
        let attr = attr.map_err(|e| edit(e.to_string()))?;
        if attr.key.as_ref() == name.as_bytes() {
            let value = attr.unescape_value().map_err(|e| edit(e.to_string()))?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

/// Sets attributes on the `<installation>` root element (e.g. `gpgcheck="false"`): an existing
/// attribute's value is replaced, a missing one is appended. Only the root start tag is rewritten
/// (its other attributes keep their text); every other byte of the file is kept.
pub fn set_root_attributes(
    file: &str,
    text: &[u8],
    attrs: &[(&str, &str)],
) -> Result<Vec<u8>, Error> {
    let root = scan(file, text)?;
    if root.kind != Root::Installation {
        return Err(Error::Edit {
            file: file.to_string(),
            what: "attributes can only be set on an <installation> answer file".to_string(),
        });
    }
    let tag = &text[root.start..root.end];
    let mut reader = Reader::from_reader(tag);
    let event = reader.read_event().map_err(|e| Error::Edit {
        file: file.to_string(),
        what: e.to_string(),
    })?;
    let (Event::Start(start) | Event::Empty(start)) = event else {
        return Err(Error::Edit {
            file: file.to_string(),
            what: "root tag not found again".to_string(),
        });
    };
    let mut new_tag = b"<installation".to_vec();
    let mut done = vec![false; attrs.len()];
    for attr in start.attributes() {
        let attr = attr.map_err(|e| Error::Edit {
            file: file.to_string(),
            what: e.to_string(),
        })?;
        new_tag.push(b' ');
        new_tag.extend_from_slice(attr.key.as_ref());
        match attrs
            .iter()
            .position(|(k, _)| k.as_bytes() == attr.key.as_ref())
        {
            Some(i) => {
                done[i] = true;
                quoted_attr(&mut new_tag, attrs[i].1);
            }
            None => {
                let quote = if attr.value.contains(&b'"') {
                    b'\''
                } else {
                    b'"'
                };
                new_tag.push(b'=');
                new_tag.push(quote);
                new_tag.extend_from_slice(&attr.value);
                new_tag.push(quote);
            }
        }
    }
    for (i, (k, v)) in attrs.iter().enumerate() {
        if !done[i] {
            new_tag.push(b' ');
            new_tag.extend_from_slice(k.as_bytes());
            quoted_attr(&mut new_tag, v);
        }
    }
    new_tag.extend_from_slice(if root.empty { b"/>" } else { b">" });
    let mut out = Vec::with_capacity(text.len() + 64);
    out.extend_from_slice(&text[..root.start]);
    out.extend_from_slice(&new_tag);
    out.extend_from_slice(&text[root.end..]);
    scan(file, &out)?;
    Ok(out)
}

/// Appends `="value"` with `value` escaped (as libxml2 does).
fn quoted_attr(tag: &mut Vec<u8>, value: &str) {
    tag.extend_from_slice(b"=\"");
    // Writing into a Vec cannot fail.
    let _ = crate::xml::attr(tag, value);
    tag.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_installation_and_restore() {
        let a = b"<?xml version=\"1.0\"?>\n<installation mode=\"fresh\">\n<primary-disk>sda</primary-disk>\n</installation>\n";
        assert_eq!(validate("a.xml", a).unwrap(), Root::Installation);
        assert_eq!(validate("r.xml", b"<restore/>").unwrap(), Root::Restore);
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = validate("bad.xml", b"<installation>\n<a>\n</b>\n</installation>").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("bad.xml") && msg.contains("line 3"), "{msg}");
        let err = validate("x.xml", b"<upgrade/>").unwrap_err();
        assert!(err.to_string().contains("<upgrade>"), "{err}");
        let err = validate("u.xml", b"<installation>\n<a>").unwrap_err();
        assert!(err.to_string().contains("unclosed"), "{err}");
        let err = validate("t.xml", b"plain text").unwrap_err();
        assert!(err.to_string().contains("t.xml"), "{err}");
    }

    #[test]
    fn reads_root_attributes() {
        let a = b"<installation mode='fresh' gpgcheck=\"no\" x=\"&amp;\"><s gpgcheck=\"yes\"/></installation>";
        assert_eq!(
            root_attribute("a", a, "gpgcheck").unwrap().as_deref(),
            Some("no")
        );
        assert_eq!(root_attribute("a", a, "x").unwrap().as_deref(), Some("&"));
        assert_eq!(root_attribute("a", a, "repo-gpgcheck").unwrap(), None);
        assert!(root_attribute("a", b"<installation>", "gpgcheck").is_err());
    }

    #[test]
    fn sets_attributes_keeping_the_rest() {
        let a = b"<?xml version=\"1.0\"?>\n<!-- c -->\n<installation  mode='fresh' gpgcheck=\"true\">\n  <x a=\"1\"/>\n</installation>\n";
        let out = set_root_attributes(
            "a.xml",
            a,
            &[("gpgcheck", "false"), ("repo-gpgcheck", "false")],
        )
        .unwrap();
        let expected = b"<?xml version=\"1.0\"?>\n<!-- c -->\n<installation mode=\"fresh\" gpgcheck=\"false\" repo-gpgcheck=\"false\">\n  <x a=\"1\"/>\n</installation>\n";
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(expected)
        );
    }

    #[test]
    fn set_attributes_read_back_unchanged() {
        let a = b"<installation mode=\"fresh\"/>";
        let value = "a<b>&\"c\"\td\ne";
        let out = set_root_attributes("a.xml", a, &[("x", value)]).unwrap();
        assert_eq!(
            root_attribute("a.xml", &out, "x").unwrap().as_deref(),
            Some(value)
        );
    }
}
