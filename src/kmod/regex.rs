//! A small POSIX extended regular expression matcher, for the kernel-version
//! patterns of depmod.d's `override` and `external` lines (depmod matches
//! them with `regexec`, unanchored).
//!
//! Supports literals, `.`, bracket expressions (ranges, negation, character
//! classes), `^`, `$`, groups, `|`, and the quantifiers `*`, `+`, `?`,
//! `{m}`, `{m,}`, `{m,n}`. A pattern that does not compile matches nothing,
//! as in depmod.

use std::cell::Cell;

/// Upper bound on matcher steps, so a hostile pattern cannot hang the caller.
const STEP_LIMIT: u32 = 1_000_000;
/// Upper bound on a `{m,n}` count.
const REPEAT_MAX: u32 = 255;
/// Longest pattern compiled; longer ones match nothing.
const PATTERN_MAX: usize = 1024;
/// Deepest group nesting compiled.
const NESTING_MAX: usize = 32;
/// Deepest matcher recursion before giving up (no match).
const DEPTH_MAX: u32 = 200;

#[derive(Debug)]
enum Node {
    Byte(u8),
    Any,
    Set(Box<[bool; 256]>),
    Start,
    End,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

/// True if `pattern` (POSIX ERE) matches somewhere in `text`.
pub fn is_match(pattern: &str, text: &str) -> bool {
    if pattern.len() > PATTERN_MAX {
        return false;
    }
    let mut parser = Parser {
        p: pattern.as_bytes(),
        i: 0,
        nesting: 0,
    };
    let Some(node) = parser.alt() else {
        return false;
    };
    if parser.i != parser.p.len() {
        return false;
    }
    let t = text.as_bytes();
    let budget = Budget {
        steps: Cell::new(0),
        depth: Cell::new(0),
    };
    (0..=t.len()).any(|start| matches(&node, t, start, &budget, &|_| true))
}

struct Parser<'a> {
    p: &'a [u8],
    i: usize,
    nesting: usize,
}

/// Work done so far by one match: total steps and current recursion depth.
struct Budget {
    steps: Cell<u32>,
    depth: Cell<u32>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.p.get(self.i).copied()
    }

    fn alt(&mut self) -> Option<Node> {
        let mut branches = vec![self.concat()?];
        while self.peek() == Some(b'|') {
            self.i += 1;
            branches.push(self.concat()?);
        }
        Some(if branches.len() == 1 {
            branches.pop()?
        } else {
            Node::Alt(branches)
        })
    }

    fn concat(&mut self) -> Option<Node> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == b'|' || c == b')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Some(Node::Concat(items))
    }

    fn quantified(&mut self, mut atom: Node) -> Option<Node> {
        loop {
            let (min, max) = match self.peek() {
                Some(b'*') => (0, None),
                Some(b'+') => (1, None),
                Some(b'?') => (0, Some(1)),
                Some(b'{') => {
                    self.i += 1;
                    let min = self.number()?;
                    let max = if self.peek() == Some(b',') {
                        self.i += 1;
                        if self.peek() == Some(b'}') {
                            None
                        } else {
                            Some(self.number()?)
                        }
                    } else {
                        Some(min)
                    };
                    if self.peek() != Some(b'}') || max.is_some_and(|m| m < min) {
                        return None;
                    }
                    (min, max)
                }
                _ => return Some(atom),
            };
            self.i += 1;
            atom = Node::Repeat(Box::new(atom), min, max);
        }
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let n: u32 = std::str::from_utf8(&self.p[start..self.i])
            .ok()?
            .parse()
            .ok()?;
        (n <= REPEAT_MAX).then_some(n)
    }

    fn atom(&mut self) -> Option<Node> {
        let c = self.peek()?;
        self.i += 1;
        Some(match c {
            b'.' => Node::Any,
            b'^' => Node::Start,
            b'$' => Node::End,
            b'(' => {
                self.nesting += 1;
                if self.nesting > NESTING_MAX {
                    return None;
                }
                let inner = self.alt()?;
                self.nesting -= 1;
                if self.peek() != Some(b')') {
                    return None;
                }
                self.i += 1;
                inner
            }
            b'[' => self.bracket()?,
            b'\\' => {
                let e = self.peek()?;
                self.i += 1;
                Node::Byte(e)
            }
            b'*' | b'+' | b'?' | b'{' => return None,
            c => Node::Byte(c),
        })
    }

    fn bracket(&mut self) -> Option<Node> {
        let mut set = Box::new([false; 256]);
        let negate = self.peek() == Some(b'^');
        if negate {
            self.i += 1;
        }
        let mut first = true;
        loop {
            let c = self.peek()?;
            if c == b']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            if c == b'[' && self.p.get(self.i + 1) == Some(&b':') {
                let rest = &self.p[self.i + 2..];
                let end = rest.windows(2).position(|w| w == b":]")?;
                let class = &rest[..end];
                for b in 0..=255u8 {
                    if class_has(class, b)? {
                        set[b as usize] = true;
                    }
                }
                self.i += 2 + end + 2;
                continue;
            }
            self.i += 1;
            if self.peek() == Some(b'-') && self.p.get(self.i + 1).is_some_and(|&n| n != b']') {
                let hi = self.p[self.i + 1];
                if hi < c {
                    return None;
                }
                for b in c..=hi {
                    set[b as usize] = true;
                }
                self.i += 2;
            } else {
                set[c as usize] = true;
            }
        }
        if negate {
            for v in set.iter_mut() {
                *v = !*v;
            }
        }
        Some(Node::Set(set))
    }
}

fn class_has(class: &[u8], b: u8) -> Option<bool> {
    Some(match class {
        b"alpha" => b.is_ascii_alphabetic(),
        b"digit" => b.is_ascii_digit(),
        b"alnum" => b.is_ascii_alphanumeric(),
        b"upper" => b.is_ascii_uppercase(),
        b"lower" => b.is_ascii_lowercase(),
        b"space" => b.is_ascii_whitespace() || b == 0x0B,
        b"blank" => b == b' ' || b == b'\t',
        b"punct" => b.is_ascii_punctuation(),
        b"xdigit" => b.is_ascii_hexdigit(),
        b"cntrl" => b.is_ascii_control(),
        b"print" => (0x20..0x7F).contains(&b),
        b"graph" => (0x21..0x7F).contains(&b),
        _ => return None,
    })
}

/// Matches `node` at `pos`, calling `k` with each end position until it
/// accepts.
fn matches(node: &Node, t: &[u8], pos: usize, budget: &Budget, k: &dyn Fn(usize) -> bool) -> bool {
    budget.steps.set(budget.steps.get() + 1);
    if budget.steps.get() > STEP_LIMIT || budget.depth.get() >= DEPTH_MAX {
        return false;
    }
    budget.depth.set(budget.depth.get() + 1);
    let matched = match node {
        Node::Byte(b) => t.get(pos) == Some(b) && k(pos + 1),
        Node::Any => pos < t.len() && k(pos + 1),
        Node::Set(set) => t.get(pos).is_some_and(|&c| set[c as usize]) && k(pos + 1),
        Node::Start => pos == 0 && k(pos),
        Node::End => pos == t.len() && k(pos),
        Node::Concat(items) => concat(items, t, pos, budget, k),
        Node::Alt(branches) => branches.iter().any(|b| matches(b, t, pos, budget, k)),
        Node::Repeat(inner, min, max) => repeat(inner, *min, *max, 0, t, pos, budget, k),
    };
    budget.depth.set(budget.depth.get() - 1);
    matched
}

fn concat(
    items: &[Node],
    t: &[u8],
    pos: usize,
    budget: &Budget,
    k: &dyn Fn(usize) -> bool,
) -> bool {
    match items.split_first() {
        None => k(pos),
        Some((first, rest)) => matches(first, t, pos, budget, &|p| concat(rest, t, p, budget, k)),
    }
}

#[allow(clippy::too_many_arguments)]
fn repeat(
    inner: &Node,
    min: u32,
    max: Option<u32>,
    count: u32,
    t: &[u8],
    pos: usize,
    budget: &Budget,
    k: &dyn Fn(usize) -> bool,
) -> bool {
    let more = max.is_none_or(|m| count < m);
    if more
        && matches(inner, t, pos, budget, &|p| {
            (p != pos || count < min) && repeat(inner, min, max, count + 1, t, p, budget, k)
        })
    {
        return true;
    }
    count >= min && k(pos)
}

#[cfg(test)]
mod tests {
    use super::is_match;

    #[test]
    fn posix_ere_basics() {
        assert!(is_match("6.1.0-56-amd64", "6.1.0-56-amd64"));
        assert!(is_match("^6\\.1\\..*", "6.1.0-56-amd64"));
        assert!(is_match("amd64$", "6.1.0-56-amd64"));
        assert!(!is_match("^5\\.", "6.1.0-56-amd64"));
        assert!(is_match("^6\\.[0-9]+\\.0-(55|56)-amd64$", "6.1.0-56-amd64"));
        assert!(!is_match(
            "^6\\.[0-9]+\\.0-(54|55)-amd64$",
            "6.1.0-56-amd64"
        ));
        assert!(is_match("[[:digit:]]{2}-amd", "6.1.0-56-amd64"));
        assert!(!is_match("(", "x"));
        assert!(!is_match("a{3,1}", "aaa"));
        assert!(is_match("", "anything"));
        assert!(is_match(
            "^6\\.1\\.0-[0-9]+-(amd64|cloud-amd64|rt-amd64)$",
            "6.1.0-56-cloud-amd64"
        ));
        assert!(is_match(".*-.*-.*-amd64", "6.1.0-56-cloud-amd64"));
    }

    #[test]
    fn hostile_pattern_terminates() {
        assert!(!is_match("((a*)*)*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(!is_match(&"(".repeat(100_000), "x"));
        assert!(!is_match(&"^".repeat(2000), ""));
        assert!(!is_match("((((^{200}){200}){200}){200})x", "x"));
        let deep = std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(|| is_match("((((^{200}){200}){200}){200})", "6.1.0"))
            .unwrap()
            .join();
        assert!(deep.is_ok());
    }
}
