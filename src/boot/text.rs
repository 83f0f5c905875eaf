//! Config text as lines that keep their exact bytes: each line's content and its own line ending.

/// One line of a config file: its content and the line ending that followed it (`"\n"`, `"\r\n"`
/// or `""` for a last line without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line without its ending.
    pub text: String,
    /// The line ending as it was in the file.
    pub eol: String,
}

/// Splits `text` into lines; concatenating `text` and `eol` of all lines gives `text` back.
pub fn split_lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find('\n') {
            Some(at) => {
                let (body, eol) = match rest[..at].strip_suffix('\r') {
                    Some(b) => (b, "\r\n"),
                    None => (&rest[..at], "\n"),
                };
                out.push(Line {
                    text: body.to_string(),
                    eol: eol.to_string(),
                });
                rest = &rest[at + 1..];
            }
            None => {
                out.push(Line {
                    text: rest.to_string(),
                    eol: String::new(),
                });
                rest = "";
            }
        }
    }
    out
}

/// Joins lines back into text.
pub fn join_lines(lines: &[Line]) -> String {
    let mut s = String::new();
    for l in lines {
        s.push_str(&l.text);
        s.push_str(&l.eol);
    }
    s
}

/// The line ending a new line should use: the one of the first line that has one, else `"\n"`.
pub fn usual_eol(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| l.eol.as_str())
        .find(|e| !e.is_empty())
        .unwrap_or("\n")
        .to_string()
}

/// A whitespace-separated word of a line with its byte range in the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word<'a> {
    /// Byte offset of the first character.
    pub start: usize,
    /// Byte offset after the last character.
    pub end: usize,
    /// The word as written.
    pub text: &'a str,
}

/// Splits a line at ASCII whitespace, keeping each word's position.
pub fn words(line: &str) -> Vec<Word<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        if c.is_ascii_whitespace() {
            if let Some(s) = start.take() {
                out.push(Word {
                    start: s,
                    end: i,
                    text: &line[s..i],
                });
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push(Word {
            start: s,
            end: line.len(),
            text: &line[s..],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        for t in ["", "a", "a\n", "a\r\nb\n\n c", "\n\n"] {
            assert_eq!(join_lines(&split_lines(t)), t);
        }
        assert_eq!(split_lines("a\r\nb")[0].eol, "\r\n");
    }

    #[test]
    fn words_keep_positions() {
        let w = words("\tAPPEND  a b");
        assert_eq!(w.len(), 3);
        assert_eq!((w[1].start, w[1].end, w[1].text), (9, 10, "a"));
    }
}
