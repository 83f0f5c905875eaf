//! The tokens of a GRUB script, as GRUB's lexer (`yylex.l`) splits it: words (quotes, escapes
//! and variables followed to their end), `;`, newlines, `{` and `}`.

use super::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    /// A word; `bare` when it has no quote, escape or variable (so it may be a keyword).
    Word {
        text: Vec<u8>,
        bare: bool,
    },
    Semi,
    Newline,
    Open,
    Close,
    Eof,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) line: usize,
}

impl Token {
    /// The token as a message shows it.
    pub(super) fn show(&self) -> String {
        match &self.tok {
            Tok::Word { text, .. } => format!("`{}`", String::from_utf8_lossy(text)),
            Tok::Semi => "`;`".into(),
            Tok::Newline => "the end of the line".into(),
            Tok::Open => "`{`".into(),
            Tok::Close => "`}`".into(),
            Tok::Eof => "the end of the file".into(),
        }
    }

    /// The keyword this token is, if it is a bare word.
    pub(super) fn keyword(&self) -> Option<&[u8]> {
        match &self.tok {
            Tok::Word { text, bare: true } => Some(text),
            _ => None,
        }
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Splits `s` into tokens.
pub(super) fn lex(s: &[u8]) -> Result<Vec<Token>, Error> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < s.len() {
        let c = s[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\x0c' | b'\x0b' => i += 1,
            b'\\' if s.get(i + 1) == Some(&b'\n') => {
                i += 2;
                line += 1;
            }
            b'\n' => {
                out.push(Token {
                    tok: Tok::Newline,
                    line,
                });
                line += 1;
                i += 1;
            }
            b'#' => {
                while i < s.len() && s[i] != b'\n' {
                    i += 1;
                }
            }
            b';' => {
                out.push(Token {
                    tok: Tok::Semi,
                    line,
                });
                i += 1;
            }
            b'{' => {
                out.push(Token {
                    tok: Tok::Open,
                    line,
                });
                i += 1;
            }
            b'}' => {
                out.push(Token {
                    tok: Tok::Close,
                    line,
                });
                i += 1;
            }
            b'|' | b'&' | b'<' | b'>' => {
                return Err(Error::Unexpected {
                    line,
                    found: format!("`{}`", char::from(c)),
                    why: "GRUB scripts have no pipes or redirections".into(),
                });
            }
            _ => {
                let start_line = line;
                let (text, bare) = word(s, &mut i, &mut line)?;
                if text == b"[[" || text == b"]]" {
                    return Err(Error::Unexpected {
                        line: start_line,
                        found: format!("`{}`", String::from_utf8_lossy(&text)),
                        why: "GRUB scripts have no `[[ ... ]]` tests".into(),
                    });
                }
                out.push(Token {
                    tok: Tok::Word { text, bare },
                    line: start_line,
                });
            }
        }
    }
    out.push(Token {
        tok: Tok::Eof,
        line,
    });
    Ok(out)
}

/// Reads one word starting at `s[*i]`; returns its text (quotes and escapes removed, variables
/// kept as written) and whether it is bare.
fn word(s: &[u8], i: &mut usize, line: &mut usize) -> Result<(Vec<u8>, bool), Error> {
    let mut text = Vec::new();
    let mut bare = true;
    while let Some(&c) = s.get(*i) {
        match c {
            b' ' | b'\t' | b'\r' | b'\x0c' | b'\x0b' | b'\n' | b';' | b'{' | b'}' | b'|' | b'&'
            | b'<' | b'>' => break,
            b'\\' => {
                bare = false;
                match s.get(*i + 1) {
                    Some(b'\n') => {
                        *line += 1;
                        *i += 2;
                    }
                    Some(&e) => {
                        text.push(e);
                        *i += 2;
                    }
                    None => {
                        return Err(Error::Unexpected {
                            line: *line,
                            found: "`\\`".into(),
                            why: "a backslash ends the file".into(),
                        });
                    }
                }
            }
            b'\'' | b'"' => {
                bare = false;
                quoted(s, i, line, &mut text)?;
            }
            b'$' => {
                bare = false;
                variable(s, i, line, &mut text)?;
            }
            _ => {
                text.push(c);
                *i += 1;
            }
        }
    }
    Ok((text, bare))
}

/// Reads a quoted part at `s[*i]` (`'` or `"`) into `text`: single quotes keep every byte,
/// double quotes take backslash escapes and expand variables; both may span lines.
fn quoted(s: &[u8], i: &mut usize, line: &mut usize, text: &mut Vec<u8>) -> Result<(), Error> {
    let quote = s[*i];
    let double = quote == b'"';
    let open = *line;
    *i += 1;
    loop {
        match s.get(*i) {
            None => {
                return Err(Error::Unclosed {
                    line: open,
                    what: if double {
                        "a double quote"
                    } else {
                        "a single quote"
                    }
                    .into(),
                });
            }
            Some(&b) if b == quote => {
                *i += 1;
                return Ok(());
            }
            Some(b'\\') if double && *i + 1 < s.len() => {
                if s[*i + 1] == b'\n' {
                    *line += 1;
                }
                text.push(s[*i + 1]);
                *i += 2;
            }
            Some(b'$') if double => variable(s, i, line, text)?,
            Some(&b) => {
                if b == b'\n' {
                    *line += 1;
                }
                text.push(b);
                *i += 1;
            }
        }
    }
}

/// Reads a variable reference at `s[*i] == b'$'` into `text`.
fn variable(s: &[u8], i: &mut usize, line: &mut usize, text: &mut Vec<u8>) -> Result<(), Error> {
    let start = *i;
    *i += 1;
    match s.get(*i) {
        Some(b'{') => {
            *i += 1;
            let name_start = *i;
            while s
                .get(*i)
                .is_some_and(|&b| is_name_byte(b) || b"?@#".contains(&b))
            {
                *i += 1;
            }
            match s.get(*i) {
                Some(b'}') if *i > name_start => *i += 1,
                Some(b'}') | Some(b'\n') | None => {
                    return Err(Error::Unclosed {
                        line: *line,
                        what: "a `${` variable".into(),
                    });
                }
                Some(&b) => {
                    return Err(Error::Unexpected {
                        line: *line,
                        found: format!("`{}`", char::from(b)),
                        why: "a `${...}` variable holds a name only".into(),
                    });
                }
            }
        }
        Some(b'?' | b'@' | b'#') => *i += 1,
        Some(&b) if is_name_byte(b) => {
            while s.get(*i).is_some_and(|&b| is_name_byte(b)) {
                *i += 1;
            }
        }
        _ => {
            return Err(Error::Unexpected {
                line: *line,
                found: "`$`".into(),
                why: "a `$` must start a variable name".into(),
            });
        }
    }
    text.extend_from_slice(s.get(start..*i).unwrap_or_default());
    Ok(())
}
