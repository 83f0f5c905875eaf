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

mod lex;

use lex::{Tok, Token, lex};

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
mod tests;
