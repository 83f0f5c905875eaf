//! GRUB 2 configs (`grub.cfg`, its copy in efiboot.img, `grub-usb.cfg`): parse the top-level
//! `menuentry` blocks and the `set default=` / `set timeout=` lines, edit the Xen/dom0 arguments
//! (`multiboot2`/`module2`, or `multiboot`/`module`), copy entries, and render with every line
//! that was not edited kept byte-for-byte.
//!
//! Everything else at the top level (`function` blocks, `insmod`, `load_video`, `search`,
//! `if ... fi`) is kept as opaque text. What cannot be understood safely is an error: `submenu`,
//! a `menuentry` whose `{` is not on its own line's end, a menu entry inside `if`, an unterminated
//! quote or block, two `multiboot` lines in one entry.

mod edit;
mod words;

use super::entry::XenCmdline;
use super::text::{Line, join_lines, split_lines, usual_eol};
use words::{GWord, Quote, gwords, path_and_args, quote_of, quoted, title_word};

/// Errors of GRUB config parsing and editing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not UTF-8 text.
    #[error("GRUB config is not UTF-8 text")]
    NotText,
    /// A line this parser cannot split into words.
    #[error("GRUB config line {line}: {why}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
    /// A construct this parser does not support.
    #[error("GRUB config line {line}: unsupported: {what}")]
    Unsupported {
        /// 1-based line number.
        line: usize,
        /// The construct.
        what: String,
    },
    /// A block (`menuentry`, `function`, `if`) that is never closed.
    #[error("GRUB config line {line}: {what} is never closed")]
    Unclosed {
        /// 1-based line number where the block starts.
        line: usize,
        /// The block.
        what: String,
    },
    /// An entry whose boot lines cannot be understood (a Xen entry whose lines are not
    /// `multiboot2 <xen> args` + `module2 <kernel> args` + ..., two `linux` lines...).
    #[error("GRUB config line {line}: menuentry {title:?}: {why}")]
    BadEntry {
        /// 1-based line number.
        line: usize,
        /// The entry title.
        title: String,
        /// What is wrong.
        why: &'static str,
    },
    /// An edit that the file cannot take.
    #[error("GRUB config: {0}")]
    Edit(String),
}

#[derive(Debug, Clone)]
struct Setting {
    line: usize,
    /// The `default=...` / `timeout=...` word.
    word: GWord,
    quote: Quote,
}

#[derive(Debug, Clone)]
struct XenLines {
    /// The `multiboot2`/`multiboot` line: Xen and its arguments.
    mb_line: usize,
    /// The first `module2`/`module` line: the dom0 kernel and its arguments.
    mod_line: usize,
    cmdline: XenCmdline,
}

#[derive(Debug, Clone)]
struct LinuxLine {
    line: usize,
    kernel: String,
    args: Vec<String>,
}

#[derive(Debug, Clone)]
struct Entry {
    title: String,
    linux: Option<LinuxLine>,
    /// The `menuentry` line.
    start: usize,
    /// Index after the closing `}` line.
    end: usize,
    xen: Option<XenLines>,
}

/// A parsed GRUB config.
#[derive(Debug, Clone)]
pub struct GrubCfg {
    lines: Vec<Line>,
    entries: Vec<Entry>,
    default: Option<Setting>,
    timeout: Option<Setting>,
    /// Lines (1-based) that set `default` or `timeout` inside `if`/loops: their effect depends
    /// on run-time state, so those settings are not edited.
    conditional: Vec<usize>,
}

impl GrubCfg {
    /// Parses a GRUB config.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let text = std::str::from_utf8(bytes).map_err(|_| Error::NotText)?;
        let lines = split_lines(text);
        let mut cfg = GrubCfg {
            lines: Vec::new(),
            entries: Vec::new(),
            default: None,
            timeout: None,
            conditional: Vec::new(),
        };
        let mut depth: Vec<(usize, &'static str)> = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            let no = i + 1;
            let syntax = |why: String| Error::Syntax { line: no, why };
            let line = &lines[i].text;
            let ws = gwords(line).map_err(syntax)?;
            let Some(first) = ws.first() else {
                i += 1;
                continue;
            };
            match first.value.as_str() {
                "submenu" => {
                    return Err(Error::Unsupported {
                        line: no,
                        what: "submenu".into(),
                    });
                }
                "menuentry" => {
                    if !depth.is_empty() {
                        return Err(Error::Unsupported {
                            line: no,
                            what: "menuentry inside a conditional or loop".into(),
                        });
                    }
                    let entry = Self::parse_entry(&lines, i)?;
                    i = entry.end;
                    cfg.entries.push(entry);
                    continue;
                }
                "function" => {
                    let close = Self::find_close(&lines, i, "function")?;
                    i = close + 1;
                    continue;
                }
                "if" | "for" | "while" | "until" => depth.push((no, "block")),
                "fi" | "done" if depth.pop().is_none() => {
                    return Err(syntax(format!("{:?} without a block", first.value)));
                }
                word if word == "set"
                    || word.starts_with("default=")
                    || word.starts_with("timeout=") =>
                {
                    // `set default=0`, or the bare assignment `default=0`.
                    let at = usize::from(word == "set");
                    if let Some(w) = ws.get(at) {
                        let slot = if w.value.starts_with("default=") {
                            Some(&mut cfg.default)
                        } else if w.value.starts_with("timeout=") {
                            Some(&mut cfg.timeout)
                        } else {
                            None
                        };
                        if let Some(slot) = slot {
                            if depth.is_empty() {
                                *slot = Some(Setting {
                                    line: i,
                                    word: w.clone(),
                                    quote: quote_of(&line[w.start..w.end]),
                                });
                            } else {
                                cfg.conditional.push(no);
                            }
                        }
                    }
                }
                _ => {}
            }
            // `then`/`do` may sit on the same line, and `fi` may close on it too.
            if ws.len() > 1
                && matches!(first.value.as_str(), "if" | "for" | "while" | "until")
                && let Some(last) = ws.last()
                && (last.value == "fi" || last.value == "done")
            {
                depth.pop();
            }
            i += 1;
        }
        if let Some((line, what)) = depth.pop() {
            return Err(Error::Unclosed {
                line,
                what: what.into(),
            });
        }
        cfg.lines = lines;
        Ok(cfg)
    }

    /// Index of the line closing the block opened at `start` (a line that is just `}`).
    fn find_close(lines: &[Line], start: usize, what: &str) -> Result<usize, Error> {
        let open = lines
            .get(start)
            .is_some_and(|l| l.text.trim_end().ends_with('{'));
        if !open {
            return Err(Error::Unsupported {
                line: start + 1,
                what: format!("{what} without `{{` at the end of its line"),
            });
        }
        lines
            .iter()
            .enumerate()
            .skip(start + 1)
            .find(|(_, l)| l.text.trim() == "}")
            .map(|(i, _)| i)
            .ok_or_else(|| Error::Unclosed {
                line: start + 1,
                what: what.to_string(),
            })
    }

    fn parse_entry(lines: &[Line], start: usize) -> Result<Entry, Error> {
        let close = Self::find_close(lines, start, "menuentry")?;
        let head = lines.get(start).map(|l| l.text.as_str()).unwrap_or("");
        let ws = gwords(head).map_err(|why| Error::Syntax {
            line: start + 1,
            why,
        })?;
        let Some(title_word) = title_word(&ws) else {
            return Err(Error::Syntax {
                line: start + 1,
                why: "menuentry without a title".into(),
            });
        };
        let title = title_word.value.clone();
        let mut mb: Option<(usize, String, Vec<String>)> = None;
        let mut modules: Vec<(usize, String, Vec<String>)> = Vec::new();
        let mut linux: Option<LinuxLine> = None;
        let bad = |line: usize, why| Error::BadEntry {
            line: line + 1,
            title: title.clone(),
            why,
        };
        for j in start + 1..close {
            let text = lines.get(j).map(|l| l.text.as_str()).unwrap_or("");
            let ws = gwords(text).map_err(|why| Error::Syntax { line: j + 1, why })?;
            let Some(first) = ws.first() else { continue };
            match first.value.as_str() {
                "menuentry" | "submenu" => {
                    return Err(Error::Unsupported {
                        line: j + 1,
                        what: "nested menu entries".into(),
                    });
                }
                "multiboot2" | "multiboot" => {
                    if mb.is_some() {
                        return Err(bad(j, "more than one multiboot line"));
                    }
                    let (path, args, _) =
                        path_and_args(&ws).ok_or_else(|| bad(j, "multiboot without a path"))?;
                    mb = Some((j, path, args));
                }
                "linux" | "linuxefi" | "linux16" => {
                    if linux.is_some() {
                        return Err(bad(j, "more than one linux line"));
                    }
                    let (kernel, args, _) =
                        path_and_args(&ws).ok_or_else(|| bad(j, "linux without a path"))?;
                    linux = Some(LinuxLine {
                        line: j,
                        kernel,
                        args,
                    });
                }
                "module2" | "module" => {
                    let (path, args, _) =
                        path_and_args(&ws).ok_or_else(|| bad(j, "module without a path"))?;
                    modules.push((j, path, args));
                }
                _ => {}
            }
        }
        let xen = match mb {
            None => None,
            Some((mb_line, xen, xen_args)) => {
                let Some((mod_line, kernel, dom0_args)) = modules.into_iter().next() else {
                    return Err(bad(mb_line, "multiboot without a dom0 kernel module"));
                };
                Some(XenLines {
                    mb_line,
                    mod_line,
                    cmdline: XenCmdline {
                        xen,
                        xen_args,
                        kernel,
                        dom0_args,
                    },
                })
            }
        };
        if xen.is_some() && linux.is_some() {
            return Err(bad(start, "both multiboot and linux lines"));
        }
        Ok(Entry {
            title,
            linux,
            start,
            end: close + 1,
            xen,
        })
    }

    /// Renders the config as text.
    pub fn render(&self) -> String {
        join_lines(&self.lines)
    }

    fn entry(&self, idx: usize) -> Result<&Entry, Error> {
        self.entries
            .get(idx)
            .ok_or_else(|| Error::Edit(format!("no entry number {idx}")))
    }

    /// Rewrites the arguments after the module path of line `idx`, keeping the text before the
    /// first argument and after the last one.
    fn rewrite_args(&mut self, idx: usize, args: &[String]) -> Result<(), Error> {
        let Some(line) = self.lines.get_mut(idx) else {
            return Err(Error::Edit(format!("line {} is gone", idx + 1)));
        };
        if line.text.contains('$') {
            return Err(Error::Unsupported {
                line: idx + 1,
                what: "variables in a multiboot/module line that is edited".into(),
            });
        }
        let ws = gwords(&line.text).map_err(|why| Error::Syntax { line: idx + 1, why })?;
        let Some((_, _, at)) = path_and_args(&ws) else {
            return Err(Error::Edit(format!("line {} has no module path", idx + 1)));
        };
        let (Some(path), Some(last)) = (ws.get(at), ws.last()) else {
            return Err(Error::Edit(format!("line {} has no module path", idx + 1)));
        };
        let mut text = line.text[..path.end].to_string();
        for a in args {
            text.push(' ');
            text.push_str(&quoted(a, Quote::None));
        }
        text.push_str(&line.text[last.end..]);
        line.text = text;
        Ok(())
    }

    /// Replaces the value of a `set NAME=value` line.
    fn rewrite_setting(&mut self, s: &Setting, name: &str, value: &str) {
        if let Some(line) = self.lines.get_mut(s.line) {
            let new = format!("{name}={}", quoted(value, s.quote));
            if line.text.get(s.word.start..s.word.end) != Some(new.as_str()) {
                line.text = format!(
                    "{}{}{}",
                    &line.text[..s.word.start],
                    new,
                    &line.text[s.word.end..]
                );
            }
        }
    }

    /// Refuses to edit `name` when the file also sets it inside a conditional.
    fn check_unconditional(&self, name: &str) -> Result<(), Error> {
        for &line in &self.conditional {
            let text = self.lines.get(line - 1).map_or("", |l| l.text.as_str());
            if gwords(text).ok().is_some_and(|ws| {
                ws.iter()
                    .take(2)
                    .any(|w| w.value.starts_with(&format!("{name}=")))
            }) {
                return Err(Error::Unsupported {
                    line,
                    what: format!("`{name}` is also set inside a conditional; not edited"),
                });
            }
        }
        Ok(())
    }

    /// The value of `set default=`, if it is an entry index.
    fn default_index(&self) -> Option<usize> {
        let d = self.default.as_ref()?;
        d.word.value.strip_prefix("default=")?.parse().ok()
    }

    /// Parses the text again so that every recorded position is that of the new text.
    fn reparse(&mut self) -> Result<(), Error> {
        *self = Self::parse(self.render().as_bytes())?;
        Ok(())
    }

    /// Parses entry `idx` again after an edit of its lines that kept their number, so that an
    /// edit costs the entry's size, not the file's.
    fn reparse_entry(&mut self, idx: usize) -> Result<(), Error> {
        let start = self.entry(idx)?.start;
        let entry = Self::parse_entry(&self.lines, start)?;
        if let Some(e) = self.entries.get_mut(idx) {
            *e = entry;
        }
        Ok(())
    }

    /// Where a new top-level setting goes: before the first menuentry (and its blank lines).
    fn head_end(&self) -> usize {
        let mut at = self
            .entries
            .first()
            .map(|e| e.start)
            .unwrap_or(self.lines.len());
        while at > 0
            && self
                .lines
                .get(at - 1)
                .is_some_and(|l| l.text.trim().is_empty())
        {
            at -= 1;
        }
        at
    }

    fn insert_setting(&mut self, text: String) -> Result<(), Error> {
        let eol = usual_eol(&self.lines);
        let at = self.head_end();
        self.lines.insert(at, Line { text, eol });
        self.reparse()
    }
}
