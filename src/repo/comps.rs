//! Comps (groups) XML: read the groups and their packages, add packages to a group as a
//! byte-level edit that keeps every other byte of the file, and build the comps of a driver
//! disk (groups `update` and `drivers`).

use std::collections::BTreeSet;
use std::io::Write;

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::Error;
use super::repomd::attribute;
use super::xml::{has_forbidden_control, text};

/// How a group requires a package (`<packagereq type=...>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReqKind {
    /// Always installed with the group.
    Mandatory,
    /// Installed by default.
    Default,
    /// Only on request.
    Optional,
    /// Installed when another package is (`requires` attribute).
    Conditional,
}

impl ReqKind {
    /// The `type` attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            ReqKind::Mandatory => "mandatory",
            ReqKind::Default => "default",
            ReqKind::Optional => "optional",
            ReqKind::Conditional => "conditional",
        }
    }

    fn parse(s: &str) -> ReqKind {
        match s {
            "mandatory" => ReqKind::Mandatory,
            "optional" => ReqKind::Optional,
            "conditional" => ReqKind::Conditional,
            _ => ReqKind::Default,
        }
    }
}

/// One `<packagereq>` of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageReq {
    /// Package name.
    pub name: String,
    /// How it is required.
    pub kind: ReqKind,
}

/// One `<group>` of a comps file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// `<id>`.
    pub id: String,
    /// `<name>` (the untranslated one).
    pub name: String,
    /// Its packages, in document order.
    pub packages: Vec<PackageReq>,
}

fn bad(reason: String) -> Error {
    Error::BadXml {
        file: "comps".into(),
        reason,
    }
}

/// Where, within one group, new package requirements go.
#[derive(Clone, Debug, Default)]
struct GroupScan {
    id: String,
    name: String,
    packages: Vec<PackageReq>,
    /// Indentation of the group's children (from its first child).
    child_indent: Option<String>,
    /// The group's own indentation.
    indent: String,
    /// End offset of the last non-blank item inside the group.
    last_end: usize,
    /// How the package list can take new entries.
    list: Option<ListEdit>,
    /// End offset of the last non-blank item inside the group, seen at `</group>`.
    close_insert: usize,
}

#[derive(Clone, Debug)]
enum ListEdit {
    /// Insert after offset `at`, each entry on its own line with `indent`; `close` is the
    /// indentation to put before `</packagelist>` when the list was written on one line.
    Append {
        at: usize,
        indent: String,
        close: Option<String>,
    },
    /// Replace `<packagelist/>` (bytes `start..end`) with a full list.
    ReplaceEmpty {
        start: usize,
        end: usize,
        indent: String,
    },
}

/// State of the package list being scanned.
#[derive(Clone, Debug, Default)]
struct ListScan {
    indent: String,
    last_end: usize,
    req_indent: Option<String>,
}

/// Scans a comps document: every group with its positions.
fn scan(xml: &[u8]) -> Result<Vec<GroupScan>, Error> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut groups = Vec::new();
    let mut group: Option<GroupScan> = None;
    let mut list: Option<ListScan> = None;
    let mut stack: Vec<Vec<u8>> = Vec::new();
    let mut prev_blank: Option<String> = None;
    let mut text_target: Option<&'static str> = None;
    let mut text_value = String::new();
    let mut req_kind = ReqKind::Default;
    let mut seen_root = false;
    loop {
        buf.clear();
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| bad(format!("near byte {before}: {e}")))?;
        let after = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let indent = prev_blank
            .take()
            .map(|t| indentation(&t))
            .unwrap_or_default();
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Text(t) => {
                let raw = String::from_utf8_lossy(&t).into_owned();
                if text_target.is_some() {
                    let un = t.unescape().map_err(|e| bad(e.to_string()))?;
                    text_value.push_str(&un);
                }
                if raw.trim().is_empty() {
                    prev_blank = Some(raw);
                    continue;
                }
                if stack.is_empty() {
                    return Err(bad("text outside the root element".into()));
                }
            }
            Event::CData(t) if text_target.is_some() => {
                text_value.push_str(&String::from_utf8_lossy(&t));
            }
            Event::Start(e) | Event::Empty(e) => {
                let name = e.local_name().as_ref().to_vec();
                if stack.is_empty() {
                    if empty {
                        return Err(bad("the root element is not a <comps> element".into()));
                    }
                    if name != b"comps" {
                        return Err(bad("the root element is not <comps>".into()));
                    }
                    seen_root = true;
                }
                on_open(
                    &e,
                    &name,
                    stack.len(),
                    &indent,
                    before,
                    after,
                    empty,
                    &mut group,
                    &mut list,
                    &mut text_target,
                    &mut text_value,
                    &mut req_kind,
                )?;
                if !empty {
                    stack.push(name);
                }
            }
            Event::End(e) => {
                let name = e.local_name().as_ref().to_vec();
                if stack.pop().as_deref() != Some(name.as_slice()) {
                    return Err(bad(format!(
                        "unexpected </{}>",
                        String::from_utf8_lossy(&name)
                    )));
                }
                if let Some(target) = text_target.take()
                    && let Some(g) = group.as_mut()
                {
                    let value = std::mem::take(&mut text_value).trim().to_string();
                    match target {
                        "id" if stack.len() == 2 => g.id = value,
                        "name" if stack.len() == 2 && g.name.is_empty() => g.name = value,
                        "packagereq" => g.packages.push(PackageReq {
                            name: value,
                            kind: req_kind,
                        }),
                        _ => {}
                    }
                }
                match name.as_slice() {
                    b"packagelist" if stack.len() == 2 => {
                        if let (Some(g), Some(l)) = (group.as_mut(), list.take()) {
                            let one_line = !xml
                                .get(l.last_end..before)
                                .unwrap_or_default()
                                .contains(&b'\n');
                            let close =
                                (l.req_indent.is_none() && one_line).then(|| l.indent.clone());
                            g.list = Some(ListEdit::Append {
                                at: l.last_end,
                                indent: l.req_indent.unwrap_or_else(|| format!("{}  ", l.indent)),
                                close,
                            });
                        }
                    }
                    b"group" if stack.len() == 1 => {
                        if let Some(mut g) = group.take() {
                            g.close_insert = g.last_end;
                            groups.push(g);
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
        // Track the end of the last non-blank item inside the current group and list.
        if let Some(g) = group.as_mut() {
            g.last_end = after;
        }
        if let Some(l) = list.as_mut() {
            l.last_end = after;
        }
    }
    if !seen_root {
        return Err(bad("no <comps> element".into()));
    }
    if !stack.is_empty() {
        return Err(bad("the document ends inside an element".into()));
    }
    Ok(groups)
}

#[allow(clippy::too_many_arguments)]
fn on_open(
    e: &BytesStart,
    name: &[u8],
    depth: usize,
    indent: &str,
    before: usize,
    after: usize,
    empty: bool,
    group: &mut Option<GroupScan>,
    list: &mut Option<ListScan>,
    text_target: &mut Option<&'static str>,
    text_value: &mut String,
    req_kind: &mut ReqKind,
) -> Result<(), Error> {
    match name {
        // Only a child of the root is a group, and only a child of a group its package list:
        // the same depths the closing tags are matched at.
        b"group" if !empty && depth == 1 => {
            *group = Some(GroupScan {
                indent: indent.to_string(),
                ..GroupScan::default()
            });
        }
        _ => {
            let Some(g) = group.as_mut() else {
                return Ok(());
            };
            if g.child_indent.is_none() {
                g.child_indent = Some(indent.to_string());
            }
            match name {
                b"id" | b"name" if !empty && list.is_none() => {
                    *text_target = Some(if name == b"id" { "id" } else { "name" });
                    text_value.clear();
                }
                b"packagelist" if depth != 2 => {}
                b"packagelist" if empty => {
                    g.list = Some(ListEdit::ReplaceEmpty {
                        start: before,
                        end: after,
                        indent: indent.to_string(),
                    });
                }
                b"packagelist" => {
                    *list = Some(ListScan {
                        indent: indent.to_string(),
                        last_end: after,
                        req_indent: None,
                    });
                }
                b"packagereq" if !empty => {
                    if let Some(l) = list.as_mut() {
                        l.req_indent = Some(indent.to_string());
                    }
                    *req_kind = ReqKind::parse(&attribute(e, b"type")?.unwrap_or_default());
                    *text_target = Some("packagereq");
                    text_value.clear();
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The indentation at the end of a blank text: what follows its last newline.
fn indentation(blank: &str) -> String {
    blank.rsplit('\n').next().unwrap_or_default().to_string()
}

/// Reads the groups of a comps file.
pub fn parse_groups(xml: &[u8]) -> Result<Vec<Group>, Error> {
    Ok(scan(xml)?
        .into_iter()
        .map(|g| Group {
            id: g.id,
            name: g.name,
            packages: g.packages,
        })
        .collect())
}

fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.chars().any(char::is_whitespace) || has_forbidden_control(name) {
        return Err(bad(format!("invalid package name {name:?}")));
    }
    Ok(())
}

fn packagereq(out: &mut Vec<u8>, indent: &str, name: &str, kind: ReqKind) {
    // Writing into a Vec cannot fail.
    let _ = write!(out, "\n{indent}<packagereq type=\"{}\">", kind.as_str());
    let _ = text(out, name);
    out.extend_from_slice(b"</packagereq>");
}

/// Adds `packages` to the group `group_id` with the given kind, keeping every other byte of
/// `xml` as it is. Packages the group already lists are left alone. New entries follow the
/// indentation of the existing ones.
pub fn add_packages(
    xml: &[u8],
    group_id: &str,
    packages: &[&str],
    kind: ReqKind,
) -> Result<Vec<u8>, Error> {
    for p in packages {
        check_name(p)?;
    }
    let groups = scan(xml)?;
    let g = groups
        .iter()
        .find(|g| g.id == group_id)
        .ok_or_else(|| Error::GroupNotFound {
            id: group_id.to_string(),
        })?;
    let have: BTreeSet<&str> = g.packages.iter().map(|p| p.name.as_str()).collect();
    let mut seen = BTreeSet::new();
    let new: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !have.contains(p) && seen.insert(*p))
        .collect();
    if new.is_empty() {
        return Ok(xml.to_vec());
    }
    let child_indent = g
        .child_indent
        .clone()
        .unwrap_or_else(|| format!("{}  ", g.indent));
    let (start, end, insert) = match &g.list {
        Some(ListEdit::Append { at, indent, close }) => {
            let mut ins = Vec::new();
            for p in &new {
                packagereq(&mut ins, indent, p, kind);
            }
            if let Some(close) = close {
                ins.push(b'\n');
                ins.extend_from_slice(close.as_bytes());
            }
            (*at, *at, ins)
        }
        Some(ListEdit::ReplaceEmpty { start, end, indent }) => {
            let mut ins = b"<packagelist>".to_vec();
            for p in &new {
                packagereq(&mut ins, &format!("{indent}  "), p, kind);
            }
            ins.extend_from_slice(format!("\n{indent}</packagelist>").as_bytes());
            (*start, *end, ins)
        }
        None => {
            let mut ins = format!("\n{child_indent}<packagelist>").into_bytes();
            for p in &new {
                packagereq(&mut ins, &format!("{child_indent}  "), p, kind);
            }
            ins.extend_from_slice(format!("\n{child_indent}</packagelist>").as_bytes());
            (g.close_insert, g.close_insert, ins)
        }
    };
    let (Some(head), Some(tail)) = (xml.get(..start), xml.get(end..)) else {
        return Err(bad("edit position outside the document".into()));
    };
    let mut out = Vec::with_capacity(xml.len() + insert.len());
    out.extend_from_slice(head);
    out.extend_from_slice(&insert);
    out.extend_from_slice(tail);
    Ok(out)
}

/// The comps file of a driver disk: groups `update` and `drivers`, each with
/// `update_package` (the control package) as mandatory; `drivers` also lists
/// `driver_packages` as mandatory.
pub fn driver_disk_comps(update_package: &str, driver_packages: &[&str]) -> Result<Vec<u8>, Error> {
    check_name(update_package)?;
    for p in driver_packages {
        check_name(p)?;
    }
    let mut out = Vec::new();
    out.extend_from_slice(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<!DOCTYPE comps PUBLIC \"-//Red Hat, Inc.//DTD Comps info//EN\" \"comps.dtd\">\n<comps>",
    );
    let groups: [(&str, &str, Vec<&str>); 2] = [
        ("update", "Update", vec![update_package]),
        (
            "drivers",
            "Drivers",
            std::iter::once(update_package)
                .chain(
                    driver_packages
                        .iter()
                        .copied()
                        .filter(|p| *p != update_package),
                )
                .collect(),
        ),
    ];
    for (id, name, packages) in groups {
        let _ = write!(
            out,
            "\n  <group>\n    <id>{id}</id>\n    <name>{name}</name>\n    <default>true</default>\n    <uservisible>false</uservisible>\n    <packagelist>"
        );
        for p in packages {
            packagereq(&mut out, "      ", p, ReqKind::Mandatory);
        }
        out.extend_from_slice(b"\n    </packagelist>\n  </group>");
    }
    out.extend_from_slice(b"\n</comps>\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPS: &str = "<?xml version=\"1.0\"?>\n<comps>\n  <!-- keep me -->\n  <group>\n    <id>a</id>\n    <name>A &amp; co</name>\n    <packagelist>\n      <packagereq type=\"mandatory\">x</packagereq>\n    </packagelist>\n  </group>\n  <group>\n    <id>b</id>\n    <name>B</name>\n  </group>\n  <group>\n    <id>c</id>\n    <packagelist/>\n  </group>\n</comps>\n";

    #[test]
    fn reads_groups() {
        let g = parse_groups(COMPS.as_bytes()).unwrap();
        assert_eq!(g.len(), 3);
        assert_eq!(g[0].name, "A & co");
        assert_eq!(
            g[0].packages,
            vec![PackageReq {
                name: "x".into(),
                kind: ReqKind::Mandatory
            }]
        );
    }

    #[test]
    fn appends_to_existing_list_keeping_other_bytes() {
        let out =
            add_packages(COMPS.as_bytes(), "a", &["y", "x", "y"], ReqKind::Mandatory).unwrap();
        let expected = COMPS.replace(
            "x</packagereq>\n",
            "x</packagereq>\n      <packagereq type=\"mandatory\">y</packagereq>\n",
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn creates_list_when_missing_or_empty() {
        let out = add_packages(COMPS.as_bytes(), "b", &["z"], ReqKind::Default).unwrap();
        let expected = COMPS.replace(
            "<name>B</name>\n",
            "<name>B</name>\n    <packagelist>\n      <packagereq type=\"default\">z</packagereq>\n    </packagelist>\n",
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        let out = add_packages(COMPS.as_bytes(), "c", &["z"], ReqKind::Mandatory).unwrap();
        let g = parse_groups(&out).unwrap();
        assert_eq!(g[2].packages[0].name, "z");
        assert!(String::from_utf8(out).unwrap().contains(
            "    <packagelist>\n      <packagereq type=\"mandatory\">z</packagereq>\n    </packagelist>\n"
        ));
    }

    #[test]
    fn unknown_group_and_bad_xml_are_errors() {
        assert!(matches!(
            add_packages(COMPS.as_bytes(), "nope", &["z"], ReqKind::Mandatory),
            Err(Error::GroupNotFound { .. })
        ));
        assert!(parse_groups(b"this is not xml").is_err());
        assert!(parse_groups(b"<comps><group>").is_err());
    }
}
