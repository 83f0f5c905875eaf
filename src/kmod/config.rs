//! depmod.d configuration: `search`, `override`, `external`, `exclude`.
//!
//! depmod reads every `*.conf` of `/etc/depmod.d`, `/run/depmod.d`,
//! `/usr/local/lib/depmod.d` and `/lib/depmod.d`, sorted by file name (a name
//! seen in an earlier directory hides the later ones), and parses them in
//! that order. Each directive is pushed at the head of its list, so lists end
//! up in reverse order of appearance; that order decides priorities exactly
//! as in depmod (the first `search` entry written has the highest priority).

use super::regex;

/// One entry of the `search` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// A directory relative to `/lib/modules/<kver>`.
    Path(String),
    /// `built-in`: the place of every module no other entry names.
    BuiltIn,
    /// `external`: the directories of `external` lines.
    External,
}

/// The effective depmod configuration for one kernel version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `search` entries, last written first (depmod's list order).
    pub searches: Vec<Search>,
    /// `override` entries as `SUBDIR/MODNAME`, last written first.
    pub overrides: Vec<String>,
    /// `external` directories, last written first.
    pub externals: Vec<String>,
    /// `exclude` directory names, last written first.
    pub excludes: Vec<String>,
}

/// True if depmod reads a depmod.d file of this name (`*.conf`, not hidden).
pub fn is_config_name(name: &str) -> bool {
    !name.starts_with('.') && name.len() >= 6 && name.ends_with(".conf")
}

impl Config {
    /// Parses the given files (already in depmod's order) for kernel `kver`.
    /// Lines depmod would ignore (unknown commands, missing arguments,
    /// non-matching kernel versions) are ignored.
    pub fn parse<'a>(files: impl IntoIterator<Item = &'a str>, kver: &str) -> Config {
        let mut cfg = Config::default();
        for text in files {
            for line in logical_lines(text) {
                cfg.parse_line(&line, kver);
            }
        }
        if cfg.searches.is_empty() {
            cfg.searches.push(Search::Path("updates".to_string()));
        }
        cfg
    }

    fn parse_line(&mut self, line: &[u8], kver: &str) {
        if line.is_empty() || line[0] == b'#' {
            return;
        }
        let text = String::from_utf8_lossy(line);
        let mut words = text.split([' ', '\t']).filter(|w| !w.is_empty());
        let Some(cmd) = words.next() else {
            return;
        };
        match cmd {
            "search" => {
                for w in words {
                    let entry = match w {
                        "built-in" => Search::BuiltIn,
                        "external" => Search::External,
                        path => Search::Path(path.to_string()),
                    };
                    self.searches.insert(0, entry);
                }
            }
            "override" => {
                let (Some(module), Some(version), Some(subdir)) =
                    (words.next(), words.next(), words.next())
                else {
                    return;
                };
                if kernel_matches(version, kver) {
                    self.overrides.insert(0, format!("{subdir}/{module}"));
                }
            }
            "external" => {
                let (Some(version), Some(dir)) = (words.next(), words.next()) else {
                    return;
                };
                if kernel_matches(version, kver) {
                    self.externals.insert(0, dir.to_string());
                }
            }
            "exclude" => {
                for w in words {
                    self.excludes.insert(0, w.to_string());
                }
            }
            _ => {}
        }
    }
}

/// depmod's kernel version test: `*`, or a POSIX extended regular expression
/// found anywhere in the version.
fn kernel_matches(pattern: &str, kver: &str) -> bool {
    pattern == "*" || regex::is_match(pattern, kver)
}

/// Lines as depmod reads them: a backslash-newline joins lines, a backslash
/// before any other character is dropped.
fn logical_lines(text: &str) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut cur = Vec::new();
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'\n' => lines.push(std::mem::take(&mut cur)),
            b'\\' => match bytes.next() {
                Some(b'\n') | None => {}
                Some(other) => cur.push(other),
            },
            other => cur.push(other),
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_reversed_and_default_search_is_updates() {
        let cfg = Config::parse(["search override updates built-in\nexclude a b\n"], "6.1.0");
        assert_eq!(
            cfg.searches,
            vec![
                Search::BuiltIn,
                Search::Path("updates".into()),
                Search::Path("override".into())
            ]
        );
        assert_eq!(cfg.excludes, vec!["b".to_string(), "a".to_string()]);
        let cfg = Config::parse(["# nothing\n"], "6.1.0");
        assert_eq!(cfg.searches, vec![Search::Path("updates".into())]);
    }

    #[test]
    fn override_needs_matching_kernel() {
        let cfg = Config::parse(
            ["override e1000 6.1.* extra\noverride igb 5.10.* extra\noverride ixgbe * \\\nweak\n"],
            "6.1.0-56-amd64",
        );
        assert_eq!(
            cfg.overrides,
            vec!["weak/ixgbe".to_string(), "extra/e1000".to_string()]
        );
    }
}
