//! The shape of a GRUB script as GRUB's own parser (and `grub-script-check`) requires it: words,
//! quotes and variables that end, and blocks that close: `function NAME { ... }`, a command with
//! a `{ ... }` block (`menuentry`, `submenu`), `if ... then ... [elif ... then ...] [else ...] fi`,
//! `for NAME in ...; do ... done`, `while`/`until ... do ... done`. Every block holds at least
//! one command.
//!
//! [`check`] reads the whole script and names the first problem by line: the opening that is
//! never closed (or that something else closes first), the closer that closes nothing, the quote
//! that never ends. It is a check only; the edits are made by [`super::grub`], which keeps the
//! text it does not understand. The commands themselves are not judged (GRUB knows them at run
//! time), nor is a script without any command refused.
//!
//! What the lexer follows (GRUB's `yylex.l`): `'...'` is literal and `"..."` takes backslash
//! escapes, both may span lines; a backslash before a newline joins lines; `#` at the start of
//! a word begins a comment; `$name`, `$1`, `$?`, `${...}` are variables; `;` and newlines end a
//! command; `{` and `}` are tokens wherever they are unquoted; `|`, `&`, `<`, `>`, `[[`, `]]`
//! are refused. Keywords count only as the first word of a command and only unquoted.

/// How deep blocks may nest: GRUB's own parser is recursive too; deeper input is refused rather
/// than walked.
pub const MAX_DEPTH: usize = 64;

/// What is wrong with a script; lines are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A quote, `${` or block opened at `line` that the script never closes.
    #[error("line {line}: {what} is never closed")]
    Unclosed {
        /// Line of the opening.
        line: usize,
        /// The opening (`` `if` ``, `` `{` of menuentry ``, `a double quote`).
        what: String,
    },
    /// A block opened at `line` that something else ends first.
    #[error("line {line}: {what} is not closed before {found} at line {at}")]
    ClosedBy {
        /// Line of the opening.
        line: usize,
        /// The opening.
        what: String,
        /// The token found instead of the closer.
        found: String,
        /// Its line.
        at: usize,
    },
    /// A token where it cannot be.
    #[error("line {line}: unexpected {found}: {why}")]
    Unexpected {
        /// Line of the token.
        line: usize,
        /// The token.
        found: String,
        /// What was expected.
        why: String,
    },
    /// A block without a command.
    #[error("line {line}: {what} holds no command")]
    Empty {
        /// Line of the opening.
        line: usize,
        /// The block.
        what: String,
    },
    /// Blocks nested deeper than [`MAX_DEPTH`].
    #[error("line {line}: blocks nested more than {MAX_DEPTH} deep")]
    TooDeep {
        /// Line of the opening that goes too deep.
        line: usize,
    },
}

/// Checks that `script` has the shape GRUB's parser requires; see the module documentation.
pub fn check(script: &[u8]) -> Result<(), Error> {
    let tokens = lex(script)?;
    let mut p = Parser {
        tokens,
        at: 0,
        depth: 0,
    };
    p.script()
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
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
struct Token {
    tok: Tok,
    line: usize,
}

impl Token {
    /// The token as a message shows it.
    fn show(&self) -> String {
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
    fn keyword(&self) -> Option<&[u8]> {
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
fn lex(s: &[u8]) -> Result<Vec<Token>, Error> {
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

/// The words that close or continue a construct; as the first word of a command they must close
/// an open construct.
const CLOSERS: [&[u8]; 6] = [b"then", b"elif", b"else", b"fi", b"do", b"done"];
/// Keywords of GRUB's lexer that no command may start with.
const RESERVED: [&[u8]; 4] = [b"in", b"case", b"esac", b"select"];

/// An open construct, for messages.
#[derive(Clone)]
struct Opening {
    what: String,
    line: usize,
}

/// How a list of commands ends.
#[derive(Clone, Copy)]
enum End<'a> {
    /// The end of the file (the script itself).
    File,
    /// A `}`.
    Brace,
    /// One of these keywords as the first word of a command.
    Keywords(&'a [&'a [u8]]),
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // `lex` always ends with `Eof`, and nothing moves past it.
        self.tokens
            .get(self.at)
            .or(self.tokens.last())
            .unwrap_or(&EOF)
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::Eof {
            self.at += 1;
        }
        t
    }

    fn skip_newlines(&mut self) {
        while self.peek().tok == Tok::Newline {
            self.at += 1;
        }
    }

    fn script(&mut self) -> Result<(), Error> {
        self.commands(End::File, None).map(|_| ())
    }

    /// Reads commands until `end`; returns the token that ended them (consumed). `open` is the
    /// construct these commands are inside (for messages); it must hold at least one command.
    fn commands(&mut self, end: End<'_>, open: Option<&Opening>) -> Result<Token, Error> {
        let mut count = 0usize;
        loop {
            self.skip_newlines();
            let t = self.peek().clone();
            let ends = match (&t.tok, end) {
                (Tok::Eof, End::File) => true,
                (Tok::Close, End::Brace) => true,
                (_, End::Keywords(k)) => t.keyword().is_some_and(|w| k.contains(&w)),
                _ => false,
            };
            if ends {
                if count == 0
                    && let Some(o) = open
                {
                    return Err(Error::Empty {
                        line: o.line,
                        what: o.what.clone(),
                    });
                }
                return Ok(self.next());
            }
            let closer = matches!(t.tok, Tok::Eof | Tok::Close)
                || t.keyword().is_some_and(|w| CLOSERS.contains(&w));
            if closer {
                return Err(match (open, &t.tok) {
                    (Some(o), Tok::Eof) => Error::Unclosed {
                        line: o.line,
                        what: o.what.clone(),
                    },
                    (Some(o), _) => Error::ClosedBy {
                        line: o.line,
                        what: o.what.clone(),
                        found: t.show(),
                        at: t.line,
                    },
                    (None, _) => Error::Unexpected {
                        line: t.line,
                        found: t.show(),
                        why: "it closes nothing".into(),
                    },
                });
            }
            self.command(matches!(end, End::File))?;
            count += 1;
            // A command ends with `;` or a newline, or right before what closes its list.
            let t = self.peek().clone();
            match t.tok {
                Tok::Semi => {
                    self.next();
                    if self.peek().tok == Tok::Semi {
                        return Err(Error::Unexpected {
                            line: self.peek().line,
                            found: "`;`".into(),
                            why: "there is no command between two `;`".into(),
                        });
                    }
                }
                Tok::Newline | Tok::Eof | Tok::Close => {}
                _ => {
                    return Err(Error::Unexpected {
                        line: t.line,
                        found: t.show(),
                        why: "a command must end here".into(),
                    });
                }
            }
        }
    }

    /// Reads one command (at the top level, `top`, a `function` definition too).
    fn command(&mut self, top: bool) -> Result<(), Error> {
        let t = self.next();
        let keyword = t.keyword().map(<[u8]>::to_vec);
        match keyword.as_deref() {
            Some(b"if") => self.if_command(t.line),
            Some(b"for") => self.for_command(t.line),
            Some(b"while") => self.loop_command(t.line, "while"),
            Some(b"until") => self.loop_command(t.line, "until"),
            Some(b"function") if top => self.function(t.line),
            Some(b"function") => Err(Error::Unexpected {
                line: t.line,
                found: t.show(),
                why: "functions are defined at the top level only".into(),
            }),
            Some(k) if RESERVED.contains(&k) => Err(Error::Unexpected {
                line: t.line,
                found: t.show(),
                why: "a GRUB keyword cannot start a command".into(),
            }),
            _ => match t.tok {
                Tok::Word { .. } => self.arguments(),
                _ => Err(Error::Unexpected {
                    line: t.line,
                    found: t.show(),
                    why: "a command must start with a word".into(),
                }),
            },
        }
    }

    /// One level deeper, refused past [`MAX_DEPTH`].
    fn enter(&mut self, line: usize) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::TooDeep { line });
        }
        Ok(())
    }

    /// The arguments of a plain command, and its `{ ... }` block if it has one (last).
    fn arguments(&mut self) -> Result<(), Error> {
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Word { .. } => {
                    self.next();
                }
                Tok::Open => {
                    self.next();
                    let open = Opening {
                        what: "the `{` block".into(),
                        line: t.line,
                    };
                    self.enter(t.line)?;
                    self.commands(End::Brace, Some(&open))?;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Ok(()),
            }
        }
    }

    fn if_command(&mut self, line: usize) -> Result<(), Error> {
        self.enter(line)?;
        let mut open = Opening {
            what: "`if`".into(),
            line,
        };
        self.commands(End::Keywords(&[b"then"]), Some(&open))?;
        loop {
            let end = self.commands(End::Keywords(&[b"elif", b"else", b"fi"]), Some(&open))?;
            match end.keyword() {
                Some(b"elif") => {
                    open = Opening {
                        what: "`elif`".into(),
                        line: end.line,
                    };
                    self.commands(End::Keywords(&[b"then"]), Some(&open))?;
                }
                Some(b"else") => {
                    let open = Opening {
                        what: "`else`".into(),
                        line: end.line,
                    };
                    self.commands(End::Keywords(&[b"fi"]), Some(&open))?;
                    break;
                }
                _ => break,
            }
        }
        self.depth -= 1;
        Ok(())
    }

    fn for_command(&mut self, line: usize) -> Result<(), Error> {
        self.enter(line)?;
        let name = self.next();
        let is_name = name
            .keyword()
            .is_some_and(|w| w.first().is_some_and(|b| !b.is_ascii_digit()));
        if !is_name {
            return Err(Error::Unexpected {
                line: name.line,
                found: name.show(),
                why: "`for` takes a variable name".into(),
            });
        }
        let t = self.next();
        if t.keyword() != Some(b"in") {
            return Err(Error::Unexpected {
                line: t.line,
                found: t.show(),
                why: "`for NAME` must be followed by `in`".into(),
            });
        }
        while let Tok::Word { .. } = self.peek().tok {
            self.next();
        }
        let t = self.next();
        if !matches!(t.tok, Tok::Semi | Tok::Newline) {
            return Err(Error::Unexpected {
                line: t.line,
                found: t.show(),
                why: "the words of `for ... in` end with `;` or a newline".into(),
            });
        }
        self.body(line, "`for`")
    }

    fn loop_command(&mut self, line: usize, what: &str) -> Result<(), Error> {
        self.enter(line)?;
        let open = Opening {
            what: format!("`{what}`"),
            line,
        };
        self.commands(End::Keywords(&[b"do"]), Some(&open))?;
        self.do_done(&open)
    }

    /// `do ... done` after a `for`'s words.
    fn body(&mut self, line: usize, what: &str) -> Result<(), Error> {
        let open = Opening {
            what: what.into(),
            line,
        };
        self.skip_newlines();
        let t = self.next();
        if t.keyword() != Some(b"do") {
            return Err(match t.tok {
                Tok::Eof => Error::Unclosed {
                    line,
                    what: what.into(),
                },
                _ => Error::Unexpected {
                    line: t.line,
                    found: t.show(),
                    why: format!("{what} at line {line} needs `do`"),
                },
            });
        }
        self.do_done(&open)
    }

    /// The commands between `do` (just read) and `done`.
    fn do_done(&mut self, open: &Opening) -> Result<(), Error> {
        self.commands(End::Keywords(&[b"done"]), Some(open))?;
        self.depth -= 1;
        Ok(())
    }

    fn function(&mut self, line: usize) -> Result<(), Error> {
        let name = self.next();
        if name.keyword().is_none() {
            return Err(Error::Unexpected {
                line: name.line,
                found: name.show(),
                why: "`function` takes an unquoted name".into(),
            });
        }
        self.skip_newlines();
        let t = self.next();
        if t.tok != Tok::Open {
            return Err(match t.tok {
                Tok::Eof => Error::Unclosed {
                    line,
                    what: "`function`".into(),
                },
                _ => Error::Unexpected {
                    line: t.line,
                    found: t.show(),
                    why: format!(
                        "`function {}` needs `{{`",
                        String::from_utf8_lossy(name.keyword().unwrap_or_default())
                    ),
                },
            });
        }
        self.enter(line)?;
        let open = Opening {
            what: "`function`".into(),
            line,
        };
        self.commands(End::Brace, Some(&open))?;
        self.depth -= 1;
        Ok(())
    }
}

static EOF: Token = Token {
    tok: Tok::Eof,
    line: 0,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) {
        check(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e}"));
    }

    fn bad(s: &str) -> Error {
        check(s.as_bytes()).expect_err(s)
    }

    #[test]
    fn accepts_what_grub_accepts() {
        for s in [
            "if true; then\nmenuentry a {\necho x\n}\nfi\n",
            "echo fi\n",
            "menuentry a { echo x }\n",
            "menuentry a { echo x; }\n",
            "echo \"a\nb\"\n",
            "echo a \\\n b\n",
            "if true\nthen\necho\nelif false; then echo; else echo; fi\n",
            "for x in a b; do echo $x; done\n",
            "for x in; do echo; done\n",
            "while true\ndo\necho\ndone\n",
            "until true; do echo; done\n",
            "submenu a {\necho\n}\n",
            "insmod x # { \n",
            "echo ${x} $1 $? \"${x}\"\n",
            "function f\n{\necho\n}\necho\n",
            "menuentry \"a\" --class x { echo \"}\" }\n",
            "echo \\{\n",
            "echo 'a\\'\n",
            "set a=1 ; \n",
            "echo a;",
            "time echo\n",
            "if menuentry a { echo; }; then echo; fi\n",
            "",
        ] {
            ok(s);
        }
    }

    #[test]
    fn refuses_what_grub_refuses() {
        for s in [
            "menuentry a {\n}\n",
            "echo {\n",
            "echo }\n",
            "echo a{b\n",
            "fi\n",
            "echo x; fi\n",
            "menuentry a {\necho x\n",
            "menuentry a\n{\necho x\n}\n",
            "echo \"a\n",
            "echo 'a\n",
            "if true; then\nfi\n",
            "for x in a b; do\n",
            "echo a#b {\n",
            "echo ${x\n",
            "echo a|b\n",
            "{\necho\n}\n",
            "function f {}\necho\n",
            "function {\necho\n}\necho\n",
            "function f g {\necho\n}\necho\n",
            "function \"f\" {\necho\n}\necho\n",
            "function f {\necho\n\necho\n",
            "if true; then function f { echo; }; fi\necho\n",
            "echo a; ; echo b\n",
            "then\n",
            "menuentry a {\n if true; then\n echo\n}\n",
            "\"if\" true; then echo; fi\n",
            "echo [[\n",
            "echo a { echo b } c\n",
            "for x in a { echo; }; do echo; done\n",
            "while { echo; }; do echo; done\n",
            "case x\n",
            "in\n",
            "echo $\n",
            "echo ${x y}\n",
            "set a=1 ;;\n",
            "echo \"a\\\"\n",
            "menuentry a {\n# c\n}\n",
            "if true; then echo; fi; fi\n",
            "for x\n in a; do echo; done\n",
        ] {
            bad(s);
        }
    }

    #[test]
    fn names_the_opening_never_closed() {
        assert_eq!(
            bad("echo\nfunction load_video {\n  insmod efi_gop\n\nmenuentry a {\necho\n}\n"),
            Error::Unclosed {
                line: 2,
                what: "`function`".into()
            }
        );
        assert_eq!(
            bad("echo\nif [ x ]; then\n  set a=1\n"),
            Error::Unclosed {
                line: 2,
                what: "`if`".into()
            }
        );
        assert_eq!(
            bad("menuentry a {\n if true; then\n echo\n}\n"),
            Error::ClosedBy {
                line: 2,
                what: "`if`".into(),
                found: "`}`".into(),
                at: 4
            }
        );
        assert_eq!(
            bad("echo\nset x=\"abc\necho\n"),
            Error::Unclosed {
                line: 2,
                what: "a double quote".into()
            }
        );
        assert_eq!(
            bad("for x in a b; do\necho\n"),
            Error::Unclosed {
                line: 1,
                what: "`for`".into()
            }
        );
    }

    #[test]
    fn deep_nesting_is_refused_not_walked() {
        let deep = "if true; then\n".repeat(100_000);
        assert!(matches!(bad(&deep), Error::TooDeep { line: 65 }));
    }
}
