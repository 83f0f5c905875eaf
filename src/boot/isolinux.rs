//! isolinux.cfg (syslinux family): parse into LABEL blocks, edit the Xen/dom0 arguments of
//! `mboot.c32` entries, the `DEFAULT` and `TIMEOUT` directives, copy entries, and render with every
//! line that was not edited kept byte-for-byte.
//!
//! A Xen entry is `KERNEL mboot.c32` with `APPEND <xen> <xen args> --- <kernel> <dom0 args> ---
//! <initrd>...`. Directives are matched case-insensitively as syslinux does; a directive this
//! parser does not know is an error rather than a guess.

mod directives;
mod edit;

use super::entry::{LinuxCmdline, XenCmdline};
use super::text::{Line, join_lines, split_lines, words};
use directives::{GLOBAL, MENU_GLOBAL, MENU_PER_LABEL, PER_LABEL};

/// Errors of isolinux.cfg parsing and editing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not UTF-8 text.
    #[error("isolinux config is not UTF-8 text")]
    NotText,
    /// A directive this parser does not understand.
    #[error("isolinux config line {line}: unknown or unsupported directive {word:?}")]
    UnknownDirective {
        /// 1-based line number.
        line: usize,
        /// The directive.
        word: String,
    },
    /// A directive that belongs to a LABEL appears before the first LABEL.
    #[error("isolinux config line {line}: {word:?} outside of a LABEL block")]
    OutsideLabel {
        /// 1-based line number.
        line: usize,
        /// The directive.
        word: String,
    },
    /// A LABEL block has the same directive twice.
    #[error("isolinux config line {line}: LABEL {label:?} has a second {word:?}")]
    Duplicate {
        /// 1-based line number.
        line: usize,
        /// The entry.
        label: String,
        /// The directive.
        word: String,
    },
    /// A LABEL line without a name, or a name used twice.
    #[error("isolinux config line {line}: bad LABEL: {why}")]
    BadLabel {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// An `mboot.c32` entry whose APPEND is not `xen ... --- kernel ... --- initrd...`.
    #[error(
        "isolinux config line {line}: LABEL {label:?}: mboot.c32 APPEND is not `<xen> args --- <kernel> args --- <initrd>`: {why}"
    )]
    BadMbootAppend {
        /// 1-based line number.
        line: usize,
        /// The entry.
        label: String,
        /// What is wrong.
        why: &'static str,
    },
    /// A TEXT block without ENDTEXT.
    #[error("isolinux config line {line}: TEXT block without ENDTEXT")]
    UnterminatedText {
        /// 1-based line number of the TEXT line.
        line: usize,
    },
    /// An edit that the file cannot take.
    #[error("isolinux config: {0}")]
    Edit(String),
}

/// The Xen command line of an `mboot.c32` APPEND.
#[derive(Debug, Clone)]
struct Mboot {
    cmdline: XenCmdline,
    /// Everything after the second `---`, word by word.
    rest: Vec<String>,
}

#[derive(Debug, Clone)]
struct Entry {
    label: String,
    /// Index of the LABEL line.
    start: usize,
    /// Index after the last line of the block.
    end: usize,
    kernel: Option<usize>,
    append: Option<usize>,
    menu_label: Option<usize>,
    mboot: Option<Mboot>,
}

/// A parsed isolinux.cfg.
#[derive(Debug, Clone)]
pub struct IsolinuxCfg {
    lines: Vec<Line>,
    entries: Vec<Entry>,
    default: Option<usize>,
    timeout: Option<usize>,
    menu_default: bool,
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// The file name at the end of a path (`/boot/isolinux/mboot.c32` → `mboot.c32`).
fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl IsolinuxCfg {
    /// Parses an isolinux.cfg.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let text = std::str::from_utf8(bytes).map_err(|_| Error::NotText)?;
        let lines = split_lines(text);
        let mut cfg = IsolinuxCfg {
            lines: Vec::new(),
            entries: Vec::new(),
            default: None,
            timeout: None,
            menu_default: false,
        };
        let mut in_text: Option<usize> = None;
        let mut labels = std::collections::BTreeSet::new();
        for (i, line) in lines.iter().enumerate() {
            let no = i + 1;
            if in_text.is_some() {
                if lower(line.text.trim()) == "endtext" {
                    in_text = None;
                }
                continue;
            }
            let w = words(&line.text);
            let Some(first) = w.first() else { continue };
            if first.text.starts_with('#') {
                continue;
            }
            let kw = lower(first.text);
            if kw == "label" {
                let Some(name) = w.get(1) else {
                    return Err(Error::BadLabel {
                        line: no,
                        why: "no name".into(),
                    });
                };
                let name = line.text[name.start..].trim_end().to_string();
                if !labels.insert(name.clone()) {
                    return Err(Error::BadLabel {
                        line: no,
                        why: format!("{name:?} defined twice"),
                    });
                }
                if let Some(last) = cfg.entries.last_mut() {
                    last.end = i;
                }
                cfg.entries.push(Entry {
                    label: name,
                    start: i,
                    end: lines.len(),
                    kernel: None,
                    append: None,
                    menu_label: None,
                    mboot: None,
                });
                continue;
            }
            if kw == "text" {
                in_text = Some(no);
                continue;
            }
            if kw == "include" {
                return Err(Error::UnknownDirective {
                    line: no,
                    word: first.text.to_string(),
                });
            }
            if kw == "menu" {
                let sub = w.get(1).map(|s| lower(s.text)).unwrap_or_default();
                if MENU_PER_LABEL.contains(&sub.as_str()) {
                    let Some(entry) = cfg.entries.last_mut() else {
                        return Err(Error::OutsideLabel {
                            line: no,
                            word: format!("MENU {sub}"),
                        });
                    };
                    match sub.as_str() {
                        "label" => entry.menu_label = Some(i),
                        "default" => cfg.menu_default = true,
                        _ => {}
                    }
                    continue;
                }
                if MENU_GLOBAL.contains(&sub.as_str()) {
                    continue;
                }
                return Err(Error::UnknownDirective {
                    line: no,
                    word: line.text.trim().to_string(),
                });
            }
            if GLOBAL.contains(&kw.as_str()) {
                match kw.as_str() {
                    "default" => cfg.default = Some(i),
                    "timeout" => cfg.timeout = Some(i),
                    _ => {}
                }
                continue;
            }
            if PER_LABEL.contains(&kw.as_str()) {
                let Some(entry) = cfg.entries.last_mut() else {
                    return Err(Error::OutsideLabel {
                        line: no,
                        word: first.text.to_string(),
                    });
                };
                let slot = match kw.as_str() {
                    "append" => Some(&mut entry.append),
                    "kernel" | "linux" | "boot" | "bss" | "pxe" | "fdimage" | "comboot"
                    | "com32" | "config" | "localboot" => Some(&mut entry.kernel),
                    _ => None,
                };
                if let Some(slot) = slot {
                    if slot.is_some() {
                        return Err(Error::Duplicate {
                            line: no,
                            label: entry.label.clone(),
                            word: first.text.to_string(),
                        });
                    }
                    *slot = Some(i);
                }
                continue;
            }
            return Err(Error::UnknownDirective {
                line: no,
                word: first.text.to_string(),
            });
        }
        if let Some(line) = in_text {
            return Err(Error::UnterminatedText { line });
        }
        cfg.lines = lines;
        for idx in 0..cfg.entries.len() {
            let mboot = cfg.parse_mboot(idx)?;
            if let Some(e) = cfg.entries.get_mut(idx) {
                e.mboot = mboot;
            }
        }
        Ok(cfg)
    }

    /// Reads the Xen command line of entry `idx` if it boots `mboot.c32`.
    fn parse_mboot(&self, idx: usize) -> Result<Option<Mboot>, Error> {
        let Some(e) = self.entries.get(idx) else {
            return Ok(None);
        };
        let Some(k) = e.kernel.and_then(|k| self.lines.get(k)) else {
            return Ok(None);
        };
        let kw = words(&k.text);
        let is_mboot = kw
            .get(1)
            .is_some_and(|w| lower(base_name(w.text)) == "mboot.c32");
        if !is_mboot {
            return Ok(None);
        }
        let bad = |line: usize, why| Error::BadMbootAppend {
            line: line + 1,
            label: e.label.clone(),
            why,
        };
        let Some(a) = e.append else {
            return Err(bad(e.start, "no APPEND"));
        };
        let text = self.lines.get(a).map(|l| l.text.as_str()).unwrap_or("");
        let args: Vec<&str> = words(text).iter().skip(1).map(|w| w.text).collect();
        let mut parts = args.split(|w| *w == "---");
        let (Some(x), Some(d), Some(r), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad(a, "expected exactly two `---` separators"));
        };
        let (Some(xen), Some(kernel), Some(_)) = (x.first(), d.first(), r.first()) else {
            return Err(bad(a, "a module path is missing"));
        };
        let own = |s: &[&str]| s.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        Ok(Some(Mboot {
            cmdline: XenCmdline {
                xen: xen.to_string(),
                xen_args: own(x.get(1..).unwrap_or_default()),
                kernel: kernel.to_string(),
                dom0_args: own(d.get(1..).unwrap_or_default()),
            },
            rest: own(r),
        }))
    }

    /// Renders the config as text.
    pub fn render(&self) -> String {
        join_lines(&self.lines)
    }

    /// The kernel command line of an entry that boots a Linux kernel (KERNEL/LINUX of a file
    /// that is not a `.c32` module).
    fn linux_of(&self, e: &Entry) -> Option<LinuxCmdline> {
        if e.mboot.is_some() {
            return None;
        }
        let k = self.lines.get(e.kernel?)?;
        let kw = words(&k.text);
        let directive = lower(kw.first()?.text);
        let path = kw.get(1)?.text;
        if !(directive == "kernel" || directive == "linux") || lower(path).ends_with(".c32") {
            return None;
        }
        let args = e
            .append
            .and_then(|a| self.lines.get(a))
            .map(|l| {
                words(&l.text)
                    .iter()
                    .skip(1)
                    .map(|w| w.text.to_string())
                    .collect()
            })
            .unwrap_or_default();
        Some(LinuxCmdline {
            kernel: path.to_string(),
            args,
        })
    }

    /// Inserts lines at `at` and parses the result again, so that every recorded position is
    /// that of the new text.
    fn insert_lines(&mut self, at: usize, new: Vec<Line>) -> Result<(), Error> {
        let at = at.min(self.lines.len());
        self.lines.splice(at..at, new);
        *self = Self::parse(self.render().as_bytes())?;
        Ok(())
    }

    /// Replaces the text after the directive word of line `idx` with `value`.
    fn set_directive_value(&mut self, idx: usize, value: &str) {
        if let Some(line) = self.lines.get_mut(idx) {
            let w = words(&line.text);
            if let Some(first) = w.first() {
                let lead = match w.get(1) {
                    Some(second) => line.text[..second.start].to_string(),
                    None => format!("{} ", &line.text[..first.end]),
                };
                let text = format!("{lead}{value}");
                if text != line.text {
                    line.text = text;
                }
            }
        }
    }

    fn entry(&self, idx: usize) -> Result<&Entry, Error> {
        self.entries
            .get(idx)
            .ok_or_else(|| Error::Edit(format!("no entry number {idx}")))
    }

    /// Where a new global directive goes: before the first LABEL (after the last global line).
    fn head_end(&self) -> usize {
        self.entries
            .first()
            .map(|e| {
                // Keep a blank line between the head and the first LABEL where there is one.
                let mut at = e.start;
                while at > 0
                    && self
                        .lines
                        .get(at - 1)
                        .is_some_and(|l| l.text.trim().is_empty())
                {
                    at -= 1;
                }
                at
            })
            .unwrap_or(self.lines.len())
    }
}
