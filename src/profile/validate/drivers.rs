//! `[[driver]]` and the driver disk's sections: driver RPMs or kernel modules, and their
//! versions.

use std::ops::Range;
use std::path::PathBuf;

use serde_spanned::Spanned;

use super::Cx;
use crate::profile::location::{Located, Origin};
use crate::profile::rules::{is_kernel_version, is_version, normalize_uuid};
use crate::profile::schema::{self, Str};
use crate::profile::{DiskSource, Driver, DriverDisk, DriverSource, Error, ModuleDir, ModuleSet};

/// The input a driver or driver disk takes its modules from.
enum RpmOrKo<'d> {
    /// `rpm`: a driver RPM.
    Rpm(&'d Str),
    /// `ko`: kernel modules.
    Ko(&'d Spanned<schema::StrList>),
}

impl Cx<'_> {
    /// The one of `rpm` and `ko` that `what` (a driver or a driver disk, whose table is at
    /// `origin`) names: both or neither is an error.
    fn rpm_or_ko<'d>(
        &self,
        what: &str,
        origin: &Origin,
        rpm: &'d Option<Str>,
        ko: &'d Option<Spanned<schema::StrList>>,
    ) -> Result<RpmOrKo<'d>, Error> {
        match (rpm, ko) {
            (Some(_), Some(ko)) => Err(Error::DriverSource {
                at: self.at(ko.span()),
                problem: format!("{what} has either `rpm` or `ko`, not both"),
            }),
            (None, None) => Err(Error::DriverSource {
                at: origin.clone(),
                problem: format!("{what} needs `rpm` (a driver RPM) or `ko` (kernel modules)"),
            }),
            (Some(rpm), None) => Ok(RpmOrKo::Rpm(rpm)),
            (None, Some(ko)) => Ok(RpmOrKo::Ko(ko)),
        }
    }

    pub(super) fn driver(&self, d: &Spanned<schema::Driver>) -> Result<Driver, Error> {
        let origin = self.at(d.span());
        let d = d.get_ref();
        let source = match self.rpm_or_ko("a driver", &origin, &d.rpm, &d.ko)? {
            RpmOrKo::Rpm(rpm) => {
                let only_ko = [
                    ("name", d.name.as_ref().map(Spanned::span)),
                    ("version", d.version.as_ref().map(Spanned::span)),
                    ("dir", d.dir.as_ref().map(Spanned::span)),
                    ("kernel", d.kernel.as_ref().map(Spanned::span)),
                ];
                self.reject_with_rpm(&only_ko)?;
                DriverSource::Rpm(self.driver_rpm(rpm)?)
            }
            RpmOrKo::Ko(ko) => {
                let Some(name) = &d.name else {
                    return Err(Error::DriverSource {
                        at: self.at(ko.span()),
                        problem: "`name` is required with `ko`: the RPM to wrap the modules in"
                            .into(),
                    });
                };
                DriverSource::Modules {
                    modules: self.modules(ko, d.dir.as_ref(), d.kernel.as_ref())?,
                    package: self.rpm_name(name, "driver package name")?,
                    version: d.version.as_ref().map(|v| self.version(v)).transpose()?,
                }
            }
        };
        Ok(Driver {
            source,
            installer: d.installer.unwrap_or(true),
            system: d.system.unwrap_or(true),
            force: d.force.unwrap_or(false),
            origin,
        })
    }

    pub(super) fn driver_disk(
        &self,
        dd: &Spanned<schema::DriverDisk>,
    ) -> Result<DriverDisk, Error> {
        let origin = self.at(dd.span());
        let d = dd.get_ref();
        let source = match self.rpm_or_ko("a driver disk", &origin, &d.rpm, &d.ko)? {
            RpmOrKo::Rpm(rpm) => {
                let only_ko = [
                    ("dir", d.dir.as_ref().map(Spanned::span)),
                    ("kernel", d.kernel.as_ref().map(Spanned::span)),
                ];
                self.reject_with_rpm(&only_ko)?;
                DiskSource::Rpm(self.driver_rpm(rpm)?)
            }
            RpmOrKo::Ko(ko) => {
                DiskSource::Modules(self.modules(ko, d.dir.as_ref(), d.kernel.as_ref())?)
            }
        };
        let description = match &d.description {
            None => None,
            Some(s) if s.get_ref().trim().is_empty() => {
                return Err(self.bad_name(s, "description", "is empty"));
            }
            Some(s) if s.get_ref().chars().any(|c| c.is_control() && c != '\n') => {
                return Err(self.bad_name(s, "description", "has a control character"));
            }
            Some(s) => Some(self.loc(s)),
        };
        let uuid = match &d.uuid {
            None => None,
            Some(s) => match normalize_uuid(s.get_ref()) {
                Some(u) => Some(Located::new(u, self.at(s.span()))),
                None => {
                    return Err(self.bad_name(
                        s,
                        "uuid",
                        "is not a UUID (8-4-4-4-12 hexadecimal digits)",
                    ));
                }
            },
        };
        Ok(DriverDisk {
            name: self.rpm_name(&d.name, "driver disk name")?,
            version: d.version.as_ref().map(|v| self.version(v)).transpose()?,
            description,
            source,
            force: d.force.unwrap_or(false),
            uuid,
            origin,
        })
    }

    fn reject_with_rpm(&self, keys: &[(&str, Option<Range<usize>>)]) -> Result<(), Error> {
        if let Some((key, span)) = keys
            .iter()
            .find_map(|(k, s)| s.as_ref().map(|s| (k, s.clone())))
        {
            return Err(Error::DriverSource {
                at: self.at(span),
                problem: format!(
                    "`{key}` only goes with `ko` (kernel modules); a driver RPM brings its own"
                ),
            });
        }
        Ok(())
    }

    fn driver_rpm(&self, s: &Str) -> Result<Located<PathBuf>, Error> {
        self.input_with_ending(s, "driver RPM", &[".rpm"], "`.rpm`")
    }

    fn modules(
        &self,
        ko: &Spanned<Vec<Str>>,
        dir: Option<&Spanned<schema::ModuleDir>>,
        kernel: Option<&Str>,
    ) -> Result<ModuleSet, Error> {
        if ko.get_ref().is_empty() {
            return Err(Error::DriverSource {
                at: self.at(ko.span()),
                problem: "`ko` is empty; list at least one kernel module".into(),
            });
        }
        let files = ko
            .get_ref()
            .iter()
            .map(|k| {
                self.input_with_ending(
                    k,
                    "kernel module",
                    &[".ko", ".ko.xz", ".ko.zst"],
                    "`.ko`, `.ko.xz` or `.ko.zst`",
                )
            })
            .collect::<Result<_, _>>()?;
        let kernel = match kernel {
            None => None,
            Some(k) if is_kernel_version(k.get_ref()) => Some(self.loc(k)),
            Some(k) => {
                return Err(self.bad_name(
                    k,
                    "kernel version",
                    "must be letters, digits and `._+-~`, not starting with `.`",
                ));
            }
        };
        Ok(ModuleSet {
            ko: files,
            dir: match dir.map(Spanned::get_ref) {
                None | Some(schema::ModuleDir::Updates) => ModuleDir::Updates,
                Some(schema::ModuleDir::Extra) => ModuleDir::Extra,
                Some(schema::ModuleDir::Override) => ModuleDir::Override,
            },
            kernel,
        })
    }

    fn version(&self, s: &Str) -> Result<Located<String>, Error> {
        if is_version(s.get_ref()) {
            Ok(self.loc(s))
        } else {
            Err(self.bad_name(
                s,
                "version",
                "must be letters, digits and `._+~^`, with at most one `-` between version and \
                 release",
            ))
        }
    }
}
