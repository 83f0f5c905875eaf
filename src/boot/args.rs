//! Kernel-argument lists: the key of an argument and `set` / `add` / `remove` edits that keep the
//! order of everything they do not touch.
//!
//! An argument is one whitespace-separated word of a command line (`dom0_mem=max:8192M`,
//! `nomodeset`). Its *key* is the text before the first `=`, or the whole word when it has no `=`.

/// Errors of kernel-argument edits.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// An argument given to `set`, `add` or `remove` is empty or contains characters that a boot
    /// loader would split or interpret (whitespace, quotes, `$`, `;`, braces...).
    #[error("invalid kernel argument {arg:?}: {why}")]
    InvalidArgument {
        /// The argument as given.
        arg: String,
        /// What is wrong with it.
        why: &'static str,
    },
}

/// The key of an argument: the text before the first `=`, or the whole word
/// (`dom0_mem=max:8192M` → `dom0_mem`, `nomodeset` → `nomodeset`).
pub fn key(arg: &str) -> &str {
    match arg.find('=') {
        Some(at) => &arg[..at],
        None => arg,
    }
}

/// One set of edits to one argument list.
///
/// Applied in this order: `remove`, then `set`, then `add` (so `remove = ["console=hvc0"]` with
/// `set = ["console=tty0"]` turns `console=hvc0 console=tty0` into `console=tty0`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArgEdits {
    /// Arguments that replace the argument(s) with the same key: the first one is replaced in
    /// place, later ones with the same key are dropped; appended when the key is absent.
    pub set: Vec<String>,
    /// Arguments appended at the end (even if already present).
    pub add: Vec<String>,
    /// Arguments to drop: a word with `=` drops that exact word; a word without `=` drops every
    /// argument whose key (or whole word) is that word.
    pub remove: Vec<String>,
}

impl ArgEdits {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.add.is_empty() && self.remove.is_empty()
    }

    /// Checks every argument of the edit set (see `validate`).
    pub fn validate(&self) -> Result<(), Error> {
        self.set
            .iter()
            .chain(&self.add)
            .chain(&self.remove)
            .try_for_each(|a| validate(a))
    }

    /// Appends the edits of `other` after the edits of `self`.
    pub fn extend(&mut self, other: &ArgEdits) {
        self.set.extend(other.set.iter().cloned());
        self.add.extend(other.add.iter().cloned());
        self.remove.extend(other.remove.iter().cloned());
    }
}

/// What applying an [`ArgEdits`] did to one list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// For each entry of [`ArgEdits::remove`], in order: whether it matched at least one argument.
    pub removed: Vec<bool>,
    /// Whether the list changed at all.
    pub changed: bool,
}

/// The characters isolinux or GRUB would quote, split or interpret in a command line.
pub const INTERPRETED: &str = "\"'\\$;|&<>{}#`";

/// Checks that an argument can be written into isolinux and GRUB command lines unchanged: not
/// empty, not `---` (the multiboot module separator), printable ASCII without whitespace, quotes,
/// backslash or characters GRUB interprets ([`INTERPRETED`]). The one home of this rule: the
/// profile checks its arguments with it too.
pub fn validate(arg: &str) -> Result<(), Error> {
    let bad = |why| {
        Err(Error::InvalidArgument {
            arg: arg.to_string(),
            why,
        })
    };
    if arg.is_empty() {
        return bad("empty");
    }
    if arg == "---" {
        return bad("the multiboot module separator `---`, not an argument");
    }
    if arg.starts_with('=') {
        return bad("empty key (nothing before `=`)");
    }
    for c in arg.chars() {
        if c.is_whitespace() {
            return bad("contains whitespace; give each argument as its own string");
        }
        if !c.is_ascii_graphic() {
            return bad("only printable ASCII is allowed");
        }
        if INTERPRETED.contains(c) {
            return bad("contains a character that boot loaders quote or interpret \
                 (one of \" ' \\ $ ; | & < > { } # `)");
        }
    }
    Ok(())
}

/// Applies `edits` to `args` (each element one argument, as written in the config).
///
/// Arguments are compared by their text; an argument from the config with quotes keeps its bytes
/// and is matched only by its exact text or key.
pub fn apply(args: &mut Vec<String>, edits: &ArgEdits) -> Result<Applied, Error> {
    edits.validate()?;
    let before = args.clone();
    let mut removed = Vec::with_capacity(edits.remove.len());
    for what in &edits.remove {
        let exact = what.contains('=');
        let len = args.len();
        args.retain(|a| {
            if exact {
                a != what
            } else {
                key(a) != what.as_str()
            }
        });
        removed.push(args.len() != len);
    }
    for new in &edits.set {
        let k = key(new);
        let mut first = true;
        let mut out = Vec::with_capacity(args.len() + 1);
        for a in args.drain(..) {
            if key(&a) == k {
                if first {
                    out.push(new.clone());
                    first = false;
                }
            } else {
                out.push(a);
            }
        }
        if first {
            out.push(new.clone());
        }
        *args = out;
    }
    args.extend(edits.add.iter().cloned());
    Ok(Applied {
        removed,
        changed: *args != before,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_the_text_before_the_first_equals_sign() {
        assert_eq!(key("dom0_mem=max:8192M"), "dom0_mem");
        assert_eq!(key("a=b=c"), "a");
        assert_eq!(key("nomodeset"), "nomodeset");
    }

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn e(set: &str, add: &str, remove: &str) -> ArgEdits {
        ArgEdits {
            set: v(set),
            add: v(add),
            remove: v(remove),
        }
    }

    #[test]
    fn set_replaces_in_place_and_keeps_order() {
        let mut a = v("dom0_max_vcpus=1-16 dom0_mem=max:8192M com1=115200,8n1 console=com1,vga");
        let r = apply(&mut a, &e("dom0_mem=max:16384M", "", "com1")).unwrap();
        assert_eq!(
            a,
            v("dom0_max_vcpus=1-16 dom0_mem=max:16384M console=com1,vga")
        );
        assert_eq!(r.removed, vec![true]);
        assert!(r.changed);
    }

    #[test]
    fn remove_exact_then_set_then_add() {
        let mut a = v("console=hvc0 console=tty0");
        apply(&mut a, &e("console=tty0", "nomodeset", "console=hvc0")).unwrap();
        assert_eq!(a, v("console=tty0 nomodeset"));
    }

    #[test]
    fn set_collapses_duplicates_and_appends_missing() {
        let mut a = v("console=hvc0 x console=tty0");
        apply(&mut a, &e("console=ttyS0 new=1", "", "")).unwrap();
        assert_eq!(a, v("console=ttyS0 x new=1"));
    }

    #[test]
    fn remove_reports_misses() {
        let mut a = v("a b=1");
        let r = apply(&mut a, &e("", "", "c b=2 b")).unwrap();
        assert_eq!(r.removed, vec![false, false, true]);
        assert_eq!(a, v("a"));
    }

    #[test]
    fn unchanged_when_set_is_identical() {
        let mut a = v("a=1 b");
        let r = apply(&mut a, &e("a=1", "", "")).unwrap();
        assert!(!r.changed);
    }

    #[test]
    fn rejects_unsafe_arguments() {
        for bad in ["", "---", "a b", "a\"b", "$x", "a;b", "=1", "é"] {
            let mut a = v("x");
            let edits = ArgEdits {
                add: vec![bad.to_string()],
                ..Default::default()
            };
            assert!(apply(&mut a, &edits).is_err(), "{bad:?}");
            assert_eq!(a, v("x"));
        }
    }
}
