//! `[packages]` and `[signing]`: the repository's packages and the key that signs them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::Cx;
use crate::profile::location::{Located, Origin};
use crate::profile::rules::{is_env_name, is_rpm_name};
use crate::profile::schema::{self, Str};
use crate::profile::{Error, PackageEdits, Signing};

impl Cx<'_> {
    pub(super) fn packages(&self, p: &schema::Packages) -> Result<PackageEdits, Error> {
        let mut added: BTreeMap<PathBuf, Origin> = BTreeMap::new();
        for pattern in &p.add {
            for path in self.expand_glob(pattern)? {
                added.entry(path).or_insert_with(|| self.at(pattern.span()));
            }
        }
        let names = |list: &[Str]| -> Result<Vec<Located<String>>, Error> {
            list.iter()
                .map(|n| self.rpm_name(n, "package name"))
                .collect()
        };
        Ok(PackageEdits {
            add: added
                .into_iter()
                .map(|(path, origin)| Located::new(path, origin))
                .collect(),
            remove: names(&p.remove)?,
            install: names(&p.install)?,
            group: p
                .group
                .as_ref()
                .map(|g| self.label(g, "comps group id"))
                .transpose()?,
            meta: p
                .meta
                .as_ref()
                .map(|m| self.rpm_name(m, "meta-package name"))
                .transpose()?,
            allow_downgrade: p.allow_downgrade.unwrap_or(false),
            from: p
                .from
                .iter()
                .map(|d| self.input_dir(d, "package pool folder"))
                .collect::<Result<_, _>>()?,
            update: p.update.unwrap_or(false),
            allow_unresolved: names(&p.allow_unresolved)?,
            build: self.package_builds(&p.build)?,
        })
    }

    pub(super) fn rpm_name(&self, s: &Str, what: &'static str) -> Result<Located<String>, Error> {
        if is_rpm_name(s.get_ref()) {
            Ok(self.loc(s))
        } else {
            Err(self.bad_name(
                s,
                what,
                "is not a valid RPM name (letters, digits and `._+-`, not starting with `.`, \
                 `+` or `-`)",
            ))
        }
    }

    pub(super) fn signing(&self, s: &schema::Signing) -> Result<Signing, Error> {
        let passphrase_env = match &s.passphrase_env {
            None => None,
            Some(v) if is_env_name(v.get_ref()) => Some(self.loc(v)),
            Some(v) => {
                return Err(self.bad_name(
                    v,
                    "environment variable name",
                    "must be letters, digits and `_`, not starting with a digit",
                ));
            }
        };
        Ok(Signing {
            key: self.input_file(&s.key, "signing key")?,
            passphrase_env,
        })
    }
}
