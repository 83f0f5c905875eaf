//! isolinux.cfg (syslinux family): parse into LABEL blocks, edit the Xen/dom0 arguments of
//! `mboot.c32` entries, the `DEFAULT` and `TIMEOUT` directives, copy entries, and render with every
//! line that was not edited kept byte-for-byte.
//!
//! A Xen entry is `KERNEL mboot.c32` with `APPEND <xen> <xen args> --- <kernel> <dom0 args> ---
//! <initrd>...`. Directives are matched case-insensitively as syslinux does; a directive this
//! parser does not know is an error rather than a guess.

use super::entry::{BootMenu, EntryView, LinuxCmdline, XenCmdline};
use super::text::{Line, join_lines, split_lines, usual_eol, words};

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

/// Directives valid anywhere (global).
const GLOBAL: &[&str] = &[
    "default",
    "ui",
    "prompt",
    "timeout",
    "totaltimeout",
    "ontimeout",
    "onerror",
    "noescape",
    "nocomplete",
    "nohalt",
    "allowoptions",
    "implicit",
    "console",
    "serial",
    "font",
    "kbdmap",
    "display",
    "say",
    "path",
    "f0",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "f6",
    "f7",
    "f8",
    "f9",
    "f10",
    "f11",
    "f12",
];

/// Directives that belong to the current LABEL.
const PER_LABEL: &[&str] = &[
    "kernel",
    "linux",
    "boot",
    "bss",
    "pxe",
    "fdimage",
    "comboot",
    "com32",
    "config",
    "localboot",
    "append",
    "initrd",
    "ipappend",
    "sysappend",
];

/// `MENU` sub-commands that belong to the current LABEL.
const MENU_PER_LABEL: &[&str] = &[
    "label", "default", "hide", "disable", "passwd", "indent", "goto", "exit", "quit",
];

/// `MENU` sub-commands that are global settings (appearance and texts).
const MENU_GLOBAL: &[&str] = &[
    "title",
    "background",
    "color",
    "width",
    "margin",
    "rows",
    "tabmsgrow",
    "cmdlinerow",
    "endrow",
    "passwordrow",
    "timeoutrow",
    "helpmsgrow",
    "helpmsgendrow",
    "hiddenrow",
    "hshift",
    "vshift",
    "tabmsg",
    "autoboot",
    "notabmsg",
    "passprompt",
    "resolution",
    "separator",
    "shiftkey",
    "hidden",
    "clear",
    "immediate",
    "msgcolor",
    "master",
    "save",
    "nosave",
    "include",
];

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

impl BootMenu for IsolinuxCfg {
    type Error = Error;

    fn entry_count(&self) -> usize {
        self.entries.len()
    }

    fn view(&self, idx: usize) -> Option<EntryView> {
        let e = self.entries.get(idx)?;
        Some(EntryView {
            name: e.label.clone(),
            xen: e.mboot.as_ref().map(|m| m.cmdline.clone()),
            linux: self.linux_of(e),
        })
    }

    fn set_kernel_args(&mut self, idx: usize, args: &[String]) -> Result<(), Error> {
        let e = self.entry(idx)?.clone();
        let Some(linux) = self.linux_of(&e) else {
            return Err(Error::Edit(format!(
                "entry {:?} does not boot a Linux kernel",
                e.label
            )));
        };
        if linux.args == args {
            return Ok(());
        }
        match e.append {
            Some(a) => {
                if let Some(line) = self.lines.get_mut(a) {
                    let w = words(&line.text);
                    let (Some(kw), Some(last)) = (w.first(), w.last()) else {
                        return Err(Error::Edit(format!("entry {:?}: empty APPEND", e.label)));
                    };
                    let sep = w.get(1).map_or(" ", |a1| &line.text[kw.end..a1.start]);
                    let trailing = &line.text[last.end..];
                    line.text = if args.is_empty() {
                        format!("{}{}", &line.text[..kw.end], trailing)
                    } else {
                        format!(
                            "{}{}{}{}",
                            &line.text[..kw.end],
                            sep,
                            args.join(" "),
                            trailing
                        )
                    };
                }
                Ok(())
            }
            None => {
                let Some(k) = e.kernel else {
                    return Err(Error::Edit(format!("entry {:?} has no kernel", e.label)));
                };
                let usual = usual_eol(&self.lines);
                let Some(kline) = self.lines.get_mut(k) else {
                    return Err(Error::Edit(format!("entry {:?} lost its kernel", e.label)));
                };
                let start = words(&kline.text).first().map_or(0, |w| w.start);
                let indent = kline.text[..start].to_string();
                // The new line ends the way the kernel line did; a kernel line that ended the
                // file without a newline gets one.
                let tail = kline.eol.clone();
                if kline.eol.is_empty() {
                    kline.eol = usual;
                }
                let text = format!("{indent}APPEND {}", args.join(" "));
                self.insert_lines(k + 1, vec![Line { text, eol: tail }])
            }
        }
    }

    fn set_args(
        &mut self,
        idx: usize,
        xen_args: &[String],
        dom0_args: &[String],
    ) -> Result<(), Error> {
        let e = self.entry(idx)?.clone();
        let (Some(m), Some(a)) = (e.mboot.clone(), e.append) else {
            return Err(Error::Edit(format!(
                "entry {:?} does not boot Xen",
                e.label
            )));
        };
        if m.cmdline.xen_args == xen_args && m.cmdline.dom0_args == dom0_args {
            return Ok(());
        }
        let Some(line) = self.lines.get_mut(a) else {
            return Err(Error::Edit(format!("entry {:?} lost its APPEND", e.label)));
        };
        let w = words(&line.text);
        let (Some(first), Some(last)) = (w.get(1), w.last()) else {
            return Err(Error::Edit(format!(
                "entry {:?} has an empty APPEND",
                e.label
            )));
        };
        let mut parts: Vec<&str> = vec![&m.cmdline.xen];
        parts.extend(xen_args.iter().map(String::as_str));
        parts.push("---");
        parts.push(&m.cmdline.kernel);
        parts.extend(dom0_args.iter().map(String::as_str));
        parts.push("---");
        parts.extend(m.rest.iter().map(String::as_str));
        line.text = format!(
            "{}{}{}",
            &line.text[..first.start],
            parts.join(" "),
            &line.text[last.end..]
        );
        if let Some(e) = self.entries.get_mut(idx) {
            e.mboot = Some(Mboot {
                cmdline: XenCmdline {
                    xen_args: xen_args.to_vec(),
                    dom0_args: dom0_args.to_vec(),
                    ..m.cmdline
                },
                ..m
            });
        }
        Ok(())
    }

    fn duplicate(&mut self, idx: usize, name: &str, title: &str) -> Result<usize, Error> {
        check_label(name)?;
        if self.entries.iter().any(|e| e.label == name) {
            return Err(Error::Edit(format!("entry {name:?} already exists")));
        }
        let e = self.entry(idx)?.clone();
        let mut block: Vec<Line> = self.lines.get(e.start..e.end).unwrap_or_default().to_vec();
        // Trailing blank lines stay with the original block.
        while block.last().is_some_and(|l| l.text.trim().is_empty()) {
            block.pop();
        }
        let len = block.len();
        if let Some(l) = block.first_mut() {
            let w = words(&l.text);
            if let Some(n) = w.get(1) {
                l.text = format!("{}{}", &l.text[..n.start], name);
            }
        }
        if let Some(ml) = e.menu_label {
            check_title(title)?;
            if let Some(l) = block.get_mut(ml - e.start) {
                let w = words(&l.text);
                if let Some(n) = w.get(2) {
                    l.text = format!("{}{}", &l.text[..n.start], title);
                }
            }
        }
        // A copied `MENU DEFAULT` would make two defaults.
        block.retain(|l| {
            let w = words(&l.text);
            !(w.len() >= 2
                && lower(w.first().map_or("", |w| w.text)) == "menu"
                && lower(w.get(1).map_or("", |w| w.text)) == "default")
        });
        if block.last().is_some_and(|l| l.eol.is_empty()) {
            let eol = usual_eol(&self.lines);
            if let Some(l) = self.lines.get_mut(e.start + len - 1) {
                l.eol = eol.clone();
            }
            if let Some(l) = block.last_mut() {
                l.eol = eol;
            }
        }
        self.insert_lines(e.start + len, block)?;
        Ok(idx + 1)
    }

    fn set_default(&mut self, idx: usize) -> Result<(), Error> {
        let label = self.entry(idx)?.label.clone();
        if let Some(line) = self.default.and_then(|d| self.lines.get(d)) {
            let value = words(&line.text).get(1).map(|w| lower(w.text));
            if value.is_some_and(|v| v.ends_with(".c32")) {
                return Err(Error::Edit(format!(
                    "line {}: DEFAULT starts a menu module; the default entry is not chosen there",
                    self.default.map_or(0, |d| d + 1)
                )));
            }
        }
        match self.default {
            Some(line) => self.set_directive_value(line, &label),
            None if self.menu_default => {
                return Err(Error::Edit(
                    "the default is chosen with MENU DEFAULT, which is not supported".into(),
                ));
            }
            None => {
                let eol = usual_eol(&self.lines);
                let at = self.head_end();
                self.insert_lines(
                    at,
                    vec![Line {
                        text: format!("DEFAULT {label}"),
                        eol,
                    }],
                )?;
            }
        }
        Ok(())
    }

    fn set_timeout(&mut self, seconds: u32) -> Result<(), Error> {
        // isolinux counts tenths of a second, and 0 means "wait forever": boot at once is 1.
        let tenths = seconds
            .checked_mul(10)
            .ok_or_else(|| Error::Edit(format!("timeout {seconds} s is too large")))?
            .max(1);
        match self.timeout {
            Some(line) => self.set_directive_value(line, &tenths.to_string()),
            None => {
                let eol = usual_eol(&self.lines);
                let at = self
                    .default
                    .map(|d| d + 1)
                    .unwrap_or_else(|| self.head_end());
                self.insert_lines(
                    at,
                    vec![Line {
                        text: format!("TIMEOUT {tenths}"),
                        eol,
                    }],
                )?;
            }
        }
        Ok(())
    }

    fn render(&self) -> String {
        IsolinuxCfg::render(self)
    }
}

fn check_label(name: &str) -> Result<(), Error> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::Edit(format!(
            "label {name:?} must be printable ASCII without spaces"
        )));
    }
    Ok(())
}

fn check_title(title: &str) -> Result<(), Error> {
    if title.is_empty() || title.chars().any(|c| c.is_control()) {
        return Err(Error::Edit(format!(
            "title {title:?} must be one line of text"
        )));
    }
    Ok(())
}
