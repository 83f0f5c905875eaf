//! Edits of an isolinux.cfg through [`BootMenu`]: arguments, copies of LABEL blocks, the default
//! entry and the timeout, each made on the lines it touches.

use super::{Error, IsolinuxCfg, Mboot, lower};
use crate::boot::entry::{BootMenu, EntryView, XenCmdline};
use crate::boot::text::{Line, usual_eol, words};

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
