//! The answer files an image's boot entries use, in brief: where each is (inside install.img, or
//! fetched at install time), the entries that use it, its root element and mode, its source,
//! and its top-level settings (passwords shown only as set).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde::Serialize;

use super::boot_menus::BootMenus;
use crate::entries;

// Where `isoremix build` puts an answer file, looked for even when no entry names it.
use crate::xcpng::ANSWERFILE as DEFAULT_PATH;

/// One answer file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AnswerFile {
    /// `install.img:/PATH` for an embedded file, else the address the installer fetches.
    pub location: String,
    /// Whether the file is inside the image (install.img).
    pub embedded: bool,
    /// The entries whose dom0 line names it (`CONFIG: ENTRY`), in config order.
    pub used_by: Vec<String>,
    /// The root element: `installation` or `restore`.
    pub root: Option<String>,
    /// The root's `mode` attribute (`fresh`, `upgrade`, `reinstall`), when set.
    pub mode: Option<String>,
    /// The `<source>` element in brief (`type=local`, `type=url http://...`).
    pub source: Option<String>,
    /// The root element's attributes.
    pub attributes: BTreeMap<String, String>,
    /// The top-level elements in file order.
    pub settings: Vec<Setting>,
    /// Why it cannot be read (missing from install.img, malformed XML).
    pub problem: Option<String>,
}

/// One top-level element of an answer file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// The element's name.
    pub element: String,
    /// Its attributes.
    pub attributes: BTreeMap<String, String>,
    /// Its text, trimmed (`(set)` for a password); `None` when it has none.
    pub text: Option<String>,
}

impl Setting {
    /// `text attr=value...` in one line.
    fn brief(&self) -> String {
        self.text
            .iter()
            .cloned()
            .chain(self.attributes.iter().map(|(k, v)| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The paths inside install.img that the boot entries' `answerfile=file://` name, with the
/// default `/answerfile.xml`: what to keep while reading install.img.
pub fn wanted(menus: &BootMenus) -> Vec<String> {
    let mut out = vec![DEFAULT_PATH.to_string()];
    for (_, address) in addresses(menus) {
        if let Some(path) = address.strip_prefix("file://")
            && !out.iter().any(|p| p == path)
        {
            out.push(path.to_string());
        }
    }
    out
}

/// Each entry's answer-file address, as `(CONFIG: ENTRY, address)`.
fn addresses(menus: &BootMenus) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for c in &menus.configs {
        for line in &c.entries {
            if line.xen.is_none() {
                continue;
            }
            if let (install, false) = entries::dom0(&line.args)
                && let Some(address) = install.answerfile
            {
                out.push((format!("{}: {}", c.config, line.name), address));
            }
        }
    }
    out
}

/// The answer files of the image: those its entries name, and `/answerfile.xml` when
/// install.img has it though no entry names it. `files` are install.img's kept files by path
/// (see [`wanted`]); `None` when install.img was not read.
pub fn read(menus: &BootMenus, files: Option<&BTreeMap<String, Vec<u8>>>) -> Vec<AnswerFile> {
    let mut out: Vec<AnswerFile> = Vec::new();
    for (user, address) in addresses(menus) {
        match out.iter_mut().find(|a| a.location == location(&address)) {
            Some(a) => a.used_by.push(user),
            None => {
                let mut a = brief(&address, files);
                a.used_by.push(user);
                out.push(a);
            }
        }
    }
    let default = location(&format!("file://{DEFAULT_PATH}"));
    if !out.iter().any(|a| a.location == default)
        && files.is_some_and(|f| f.contains_key(DEFAULT_PATH))
    {
        out.push(brief(&format!("file://{DEFAULT_PATH}"), files));
    }
    out
}

fn location(address: &str) -> String {
    match address.strip_prefix("file://") {
        Some(path) => format!("install.img:{path}"),
        None => address.to_string(),
    }
}

fn brief(address: &str, files: Option<&BTreeMap<String, Vec<u8>>>) -> AnswerFile {
    let mut a = AnswerFile {
        location: location(address),
        ..AnswerFile::default()
    };
    let Some(path) = address.strip_prefix("file://") else {
        return a;
    };
    a.embedded = true;
    let Some(files) = files else {
        a.problem = Some("install.img was not read".into());
        return a;
    };
    match files.get(path) {
        None => a.problem = Some("not a file in install.img".into()),
        Some(text) => match parse(text) {
            Ok((root, attributes, settings)) => {
                a.mode = attributes.get("mode").cloned();
                a.source = settings
                    .iter()
                    .find(|s| s.element == "source")
                    .map(Setting::brief);
                a.root = Some(root);
                a.attributes = attributes;
                a.settings = settings;
            }
            Err(why) => a.problem = Some(why),
        },
    }
    a
}

fn attributes(e: &BytesStart<'_>) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let value = attr.unescape_value().map_err(|e| e.to_string())?;
        out.insert(
            String::from_utf8_lossy(attr.key.as_ref()).into_owned(),
            value.into_owned(),
        );
    }
    Ok(out)
}

type Parsed = (String, BTreeMap<String, String>, Vec<Setting>);

/// The root's name and attributes and its top-level elements, after the check the build runs
/// ([`crate::answerfile::validate`]).
fn parse(text: &[u8]) -> Result<Parsed, String> {
    crate::answerfile::validate("answer file", text).map_err(|e| e.to_string())?;
    let mut reader = Reader::from_reader(text);
    let mut depth = 0usize;
    let mut root = (String::new(), BTreeMap::new());
    let mut settings: Vec<Setting> = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                match depth {
                    0 => {
                        root = (
                            String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                            attributes(e)?,
                        )
                    }
                    1 => settings.push(Setting {
                        element: String::from_utf8_lossy(e.name().as_ref()).into_owned(),
                        attributes: attributes(e)?,
                        text: None,
                    }),
                    _ => {}
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(t) if depth == 2 => {
                let text = t.unescape().map_err(|e| e.to_string())?;
                let text = text.trim();
                if let Some(s) = settings.last_mut()
                    && !text.is_empty()
                {
                    s.text = Some(if s.element.contains("password") {
                        "(set)".to_string()
                    } else {
                        text.to_string()
                    });
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok((root.0, root.1, settings))
}

impl AnswerFile {
    /// The text section of one answer file.
    pub fn write_text(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "answer file: {}{}",
            self.location,
            if self.embedded {
                ""
            } else {
                " (fetched at install time: not in the image)"
            }
        );
        if !self.used_by.is_empty() {
            // Each entry once, by its name in the first config that has it.
            let mut names: Vec<&str> = Vec::new();
            for user in &self.used_by {
                let name = user.split_once(": ").map_or(user.as_str(), |(_, n)| n);
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            let _ = writeln!(s, "  used by:         {}", names.join(", "));
        } else {
            let _ = writeln!(s, "  used by:         no boot entry");
        }
        if let Some(p) = &self.problem {
            let _ = writeln!(s, "  problem:         {p}");
        }
        if let Some(root) = &self.root {
            let attrs: Vec<String> = self
                .attributes
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let _ = writeln!(s, "  root:            <{root}> {}", attrs.join(" "));
        }
        for setting in &self.settings {
            let _ = writeln!(
                s,
                "  {:<16} {}",
                format!("{}:", setting.element),
                setting.brief()
            );
        }
    }
}
