//! The kernel's lists of built-in modules: `modules.builtin` (names, for
//! `modules.builtin.bin`) and `modules.builtin.modinfo` (their `.modinfo`
//! entries, whose aliases make `modules.builtin.alias.bin`), read exactly as
//! depmod reads them.

use super::Error;
use super::index::{IndexBuilder, normalize_alias};

/// Longest line depmod reads from `modules.order` / `modules.builtin`
/// (`fgets` into a `PATH_MAX` buffer).
pub(super) const LINE_MAX: usize = 4095;

/// Lines of a file as `fgets` with a `PATH_MAX` buffer returns them
/// (newline kept; longer lines come in pieces).
fn fgets_lines(text: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    for line in text.split_inclusive(|&b| b == b'\n') {
        let mut rest = line;
        while rest.len() > LINE_MAX {
            let (head, tail) = rest.split_at(LINE_MAX);
            out.push(head);
            rest = tail;
        }
        if !rest.is_empty() {
            out.push(rest);
        }
    }
    out
}

/// Module names of `modules.builtin`, in file order, as depmod derives them.
pub(super) fn builtin_names(text: Option<&str>) -> Vec<Vec<u8>> {
    let Some(text) = text else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in fgets_lines(text.as_bytes()) {
        if !line.first().is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        let base = line.rsplit(|&b| b == b'/').next().unwrap_or(line);
        if base.is_empty() {
            continue;
        }
        let name: Vec<u8> = base
            .iter()
            .take_while(|&&b| b != b'.' && b != 0)
            .map(|&b| if b == b'-' { b'_' } else { b })
            .collect();
        out.push(name);
    }
    out
}

/// `modules.builtin.bin`: every built-in module name, empty value; an empty
/// file when there is no `modules.builtin`.
pub(super) fn builtin_bin(text: Option<&str>) -> Result<Vec<u8>, Error> {
    if text.is_none() {
        return Ok(Vec::new());
    }
    let mut idx = IndexBuilder::new("modules.builtin.bin");
    for name in builtin_names(text) {
        idx.insert(&name, b"", 0)?;
    }
    idx.write()
}

/// A byte reader with `fgetc`/`feof` semantics.
struct Stream<'a> {
    data: &'a [u8],
    pos: usize,
    eof: bool,
}

impl Stream<'_> {
    fn getc(&mut self) -> Option<u8> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Some(b)
            }
            None => {
                self.eof = true;
                None
            }
        }
    }

    /// depmod's `flush_stream_to`: bytes up to `end` (exclusive); empty if
    /// the run ended on NUL or end of data instead.
    fn read_to(&mut self, end: u8) -> Vec<u8> {
        let mut buf = Vec::new();
        let last = loop {
            let c = self.getc();
            match c {
                Some(b) if b != end && b != 0 && buf.len() < LINE_MAX + 1 => buf.push(b),
                other => break other,
            }
        };
        if buf.len() == LINE_MAX + 1 {
            buf.pop();
        }
        if last == Some(end) { buf } else { Vec::new() }
    }

    /// depmod's `flush_stream`: skip to the next NUL.
    fn skip_to_nul(&mut self) {
        while let Some(b) = self.getc() {
            if b == 0 {
                break;
            }
        }
    }
}

/// (module, normalized alias) pairs of `modules.builtin.modinfo`, in order.
pub(super) fn builtin_aliases(data: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut s = Stream {
        data,
        pos: 0,
        eof: false,
    };
    let mut out = Vec::new();
    while !s.eof {
        let module = s.read_to(b'.');
        if module.is_empty() {
            continue;
        }
        let key = s.read_to(b'=');
        if key != b"alias" {
            s.skip_to_nul();
            continue;
        }
        let value = s.read_to(0);
        if value.is_empty() {
            continue;
        }
        if let Some(alias) = normalize_alias(&value) {
            out.push((module, alias));
        }
    }
    out
}

/// `modules.builtin.alias.bin`: alias to built-in module; an empty file when
/// there is no `modules.builtin.modinfo`.
pub(super) fn builtin_alias_bin(data: Option<&[u8]>) -> Result<Vec<u8>, Error> {
    let Some(data) = data else {
        return Ok(Vec::new());
    };
    let mut idx = IndexBuilder::new("modules.builtin.alias.bin");
    for (module, alias) in builtin_aliases(data) {
        idx.insert(&alias, &module, 0)?;
    }
    idx.write()
}
