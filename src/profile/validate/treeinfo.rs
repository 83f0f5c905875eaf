//! `[treeinfo]`: the `.treeinfo` values changed.

use super::Cx;
use crate::profile::location::Located;
use crate::profile::rules::is_dotted_numbers;
use crate::profile::schema::{self, Str};
use crate::profile::{Error, TreeinfoEdits};

impl Cx<'_> {
    pub(super) fn treeinfo(&self, t: &schema::Treeinfo) -> Result<TreeinfoEdits, Error> {
        let product_version = match &t.product_version {
            None => None,
            Some(v) if is_dotted_numbers(v.get_ref()) => Some(self.loc(v)),
            Some(v) => {
                return Err(self.bad_name(
                    v,
                    "product version",
                    "must be dotted numbers (like 8.3.0): the installer compares versions \
                     numerically",
                ));
            }
        };
        Ok(TreeinfoEdits {
            build_number: t
                .build_number
                .as_ref()
                .map(|v| self.treeinfo_text(v, "build number"))
                .transpose()?,
            product_name: t
                .product_name
                .as_ref()
                .map(|v| self.treeinfo_text(v, "product name"))
                .transpose()?,
            product_version,
        })
    }

    /// A `.treeinfo` value: one line that Python's ConfigParser reads back unchanged.
    fn treeinfo_text(&self, s: &Str, what: &'static str) -> Result<Located<String>, Error> {
        let v = s.get_ref();
        let problem = if v.is_empty() {
            Some("is empty")
        } else if v.chars().any(char::is_control) {
            Some("has a control character")
        } else if v.contains('%') {
            Some("contains `%`, which breaks the installer's ConfigParser")
        } else if v.trim() != v {
            Some("has leading or trailing whitespace, which ConfigParser drops")
        } else {
            None
        };
        match problem {
            None => Ok(self.loc(s)),
            Some(p) => Err(self.bad_name(s, what, p)),
        }
    }
}
