//! Edits of a GRUB config through [`BootMenu`]: arguments, copies of entries, the default
//! entry and the timeout, each made on the lines it touches.

use super::words::{Quote, gwords, quoted, title_word};
use super::{Error, GrubCfg};
use crate::boot::entry::{BootMenu, EntryView, LinuxCmdline};
use crate::boot::text::{Line, usual_eol};

impl BootMenu for GrubCfg {
    type Error = Error;

    fn entry_count(&self) -> usize {
        self.entries.len()
    }

    fn view(&self, idx: usize) -> Option<EntryView> {
        let e = self.entries.get(idx)?;
        Some(EntryView {
            name: e.title.clone(),
            xen: e.xen.as_ref().map(|x| x.cmdline.clone()),
            linux: e.linux.as_ref().map(|l| LinuxCmdline {
                kernel: l.kernel.clone(),
                args: l.args.clone(),
            }),
        })
    }

    fn set_kernel_args(&mut self, idx: usize, args: &[String]) -> Result<(), Error> {
        let e = self.entry(idx)?;
        let Some(l) = e.linux.clone() else {
            return Err(Error::Edit(format!(
                "entry {:?} does not boot a Linux kernel",
                e.title
            )));
        };
        if l.args != args {
            self.rewrite_args(l.line, args)?;
        }
        self.reparse_entry(idx)
    }

    fn set_args(
        &mut self,
        idx: usize,
        xen_args: &[String],
        dom0_args: &[String],
    ) -> Result<(), Error> {
        let e = self.entry(idx)?;
        let Some(x) = e.xen.clone() else {
            return Err(Error::Edit(format!(
                "entry {:?} does not boot Xen",
                e.title
            )));
        };
        if x.cmdline.xen_args != xen_args {
            self.rewrite_args(x.mb_line, xen_args)?;
        }
        if x.cmdline.dom0_args != dom0_args {
            self.rewrite_args(x.mod_line, dom0_args)?;
        }
        self.reparse_entry(idx)
    }

    fn duplicate(&mut self, idx: usize, _name: &str, title: &str) -> Result<usize, Error> {
        if title.is_empty() || title.chars().any(|c| c.is_control()) {
            return Err(Error::Edit(format!(
                "title {title:?} must be one line of text"
            )));
        }
        if self.entries.iter().any(|e| e.title == title) {
            return Err(Error::Edit(format!("menuentry {title:?} already exists")));
        }
        let e = self.entry(idx)?.clone();
        let mut block: Vec<Line> = self.lines.get(e.start..e.end).unwrap_or_default().to_vec();
        if let Some(head) = block.first_mut() {
            let ws = gwords(&head.text).map_err(|why| Error::Syntax {
                line: e.start + 1,
                why,
            })?;
            if let Some(w) = title_word(&ws) {
                let raw = &head.text[w.start..w.end];
                let style = match raw.chars().next() {
                    Some('\'') => Quote::Single,
                    Some('"') => Quote::Double,
                    _ => Quote::None,
                };
                head.text = format!(
                    "{}{}{}",
                    &head.text[..w.start],
                    quoted(title, style),
                    &head.text[w.end..]
                );
            }
            // An `--id` copied verbatim would name two entries.
            if head.text.contains("--id") {
                return Err(Error::Edit(format!(
                    "menuentry {:?} has an --id; copying it is not supported",
                    e.title
                )));
            }
        }
        let eol = usual_eol(&self.lines);
        if block.last().is_some_and(|l| l.eol.is_empty()) {
            if let Some(l) = block.last_mut() {
                l.eol = eol.clone();
            }
            if let Some(l) = self.lines.get_mut(e.end - 1) {
                l.eol = eol.clone();
            }
        }
        // Separate from the source entry the way the file separates entries.
        let blank_between = self
            .lines
            .get(e.end)
            .is_some_and(|l| l.text.trim().is_empty());
        let mut insert = Vec::new();
        if blank_between {
            insert.push(Line {
                text: String::new(),
                eol,
            });
        }
        insert.extend(block);
        // Entry indices after the new one move by one: keep an index-style default on its entry.
        if let (Some(d), Some(s)) = (self.default_index(), self.default.clone())
            && d > idx
        {
            self.rewrite_setting(&s, "default", &(d + 1).to_string());
        }
        self.lines.splice(e.end..e.end, insert);
        self.reparse()?;
        Ok(idx + 1)
    }

    fn set_default(&mut self, idx: usize) -> Result<(), Error> {
        let title = self.entry(idx)?.title.clone();
        self.check_unconditional("default")?;
        match self.default.clone() {
            Some(s) => {
                let current = s.word.value.strip_prefix("default=").unwrap_or("");
                if current.parse::<usize>().is_ok() {
                    self.rewrite_setting(&s, "default", &idx.to_string());
                } else if current == "saved" || current.contains('$') || current.contains('>') {
                    return Err(Error::Edit(format!(
                        "set default={current} is not an entry index or title; cannot change it"
                    )));
                } else {
                    self.rewrite_setting(&s, "default", &title);
                }
                self.reparse()
            }
            None => self.insert_setting(format!(
                "set default={}",
                quoted(&idx.to_string(), Quote::Double)
            )),
        }
    }

    fn set_timeout(&mut self, seconds: u32) -> Result<(), Error> {
        self.check_unconditional("timeout")?;
        match self.timeout.clone() {
            Some(s) => {
                self.rewrite_setting(&s, "timeout", &seconds.to_string());
                self.reparse()
            }
            None => self.insert_setting(format!("set timeout={seconds}")),
        }
    }

    fn render(&self) -> String {
        GrubCfg::render(self)
    }
}
