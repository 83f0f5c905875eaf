//! XML text and attribute escaping as libxml2 (and so createrepo_c) serializes it.
//!
//! Text escapes `&`, `<`, `>` and carriage return; attribute values also escape `"`, tab and
//! newline (so they read back unchanged, not normalized to spaces). Control characters other
//! than tab, newline and carriage return cannot be carried at all: callers refuse them, as
//! createrepo_c does.

use std::io::{self, Write};

/// Whether `s` holds a control character XML 1.0 cannot carry.
pub fn has_forbidden_control(s: &str) -> bool {
    s.bytes()
        .any(|b| b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r')
}

/// Writes `s` escaped as element text.
pub fn text(out: &mut impl Write, s: &str) -> io::Result<()> {
    escape(out, s, false)
}

/// Writes `s` escaped as an attribute value (without the quotes).
pub fn attr(out: &mut impl Write, s: &str) -> io::Result<()> {
    escape(out, s, true)
}

fn escape(out: &mut impl Write, s: &str, in_attr: bool) -> io::Result<()> {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let rep: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'\r' => b"&#13;",
            b'"' if in_attr => b"&quot;",
            b'\n' if in_attr => b"&#10;",
            b'\t' if in_attr => b"&#9;",
            _ => continue,
        };
        out.write_all(&bytes[start..i])?;
        out.write_all(rep)?;
        start = i + 1;
    }
    out.write_all(&bytes[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_libxml2() {
        let mut t = Vec::new();
        text(&mut t, "a<b>&\"c\"\n\r").unwrap();
        assert_eq!(t, b"a&lt;b&gt;&amp;\"c\"\n&#13;");
        let mut a = Vec::new();
        attr(&mut a, "a<\"\n\t").unwrap();
        assert_eq!(a, b"a&lt;&quot;&#10;&#9;");
        assert!(has_forbidden_control("a\u{1}"));
        assert!(!has_forbidden_control("a\tb\n"));
    }
}
