//! `[signing]`: the packages and `repomd.xml` signed with the profile's key, and the public key
//! file written for the installer; without a key, the installer's signature checks turned off.

use std::io::Write;
use std::path::Path;

use super::host::record_of_written;
use super::{From, Outcome, Packages, REPOMD, REPOMD_ASC};
use crate::iso::{NewContent, SourceIso};
use crate::remaster::{At, Context, Error, PackageWriteError, signing};
use crate::rpm;
use crate::rpm::sign::{SigningKey, sign_package, sign_package_reopen};
use crate::xcpng;

/// Signs every added package, and every source package that carries no signature at all (the
/// installer would refuse it with its checks on). Rewritten packages are already signed.
pub(super) fn sign_packages(
    packages: &mut Packages,
    source: &SourceIso,
    key: &SigningKey,
    time: u32,
    cx: &mut Context<'_>,
) -> Result<(), Error> {
    let dir = cx.workdir.join("signed");
    std::fs::create_dir_all(&dir).map_err(Error::Workdir)?;
    let mut signed = 0usize;
    // Every package is read to see whether it is signed; the unsigned ones are signed.
    let bar = cx.progress.items("signing packages", packages.len() as u64);
    for (location, pkg) in packages.iter_mut() {
        bar.inc(1);
        let failed = |source: PackageWriteError| Error::Sign {
            what: location.clone(),
            action: "sign it",
            source: Box::new(source),
        };
        let file_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| failed(PackageWriteError::File { path, source })
        };
        let rpm_err = |e: rpm::Error| failed(e.into());
        // What to sign: added packages (the rewritten meta-package, made in the work folder, is
        // signed already; wrapped driver packages, made there too, are not) and unsigned
        // packages of the source.
        let open = || {
            source
                .open_file(&format!("/{location}"))
                .map(std::io::BufReader::new)
                .map_err(std::io::Error::other)
        };
        let skip = match &pkg.from {
            From::Host(input) => {
                input.starts_with(cx.workdir)
                    && signing::is_signed(&mut std::io::BufReader::new(
                        crate::input::open(input).map_err(file_err(input))?,
                    ))
                    .map_err(rpm_err)?
            }
            From::Source => signing::is_signed(
                &mut source
                    .open_file(&format!("/{location}"))
                    .map(std::io::BufReader::new)
                    .map_err(|e| failed(e.into()))?,
            )
            .map_err(rpm_err)?,
        };
        if skip {
            continue;
        }
        let path = dir.join(pkg.record.file_name());
        let mut out =
            std::io::BufWriter::new(std::fs::File::create(&path).map_err(file_err(&path))?);
        match &pkg.from {
            From::Host(input) => {
                let mut input =
                    std::io::BufReader::new(crate::input::open(input).map_err(file_err(input))?);
                sign_package(&mut input, &mut out, key, time).map_err(rpm_err)?;
            }
            From::Source => {
                sign_package_reopen(open, &mut out, key, time).map_err(rpm_err)?;
            }
        }
        out.flush().map_err(file_err(&path))?;
        drop(out);
        pkg.record = record_of_written(&path, location, cx.time as u64).map_err(failed)?;
        pkg.from = From::Host(path);
        signed += 1;
    }
    bar.finish();
    let noun = if signed == 1 { "package" } else { "packages" };
    cx.report.steps.push(format!(
        "packages: {signed} {noun} signed with key {}",
        key.fingerprint()
    ));
    Ok(())
}

/// Puts the detached signature of `repomd` (repomd.xml's bytes) beside it.
pub(super) fn sign_repomd(
    source: &mut SourceIso,
    key: &SigningKey,
    repomd: &[u8],
    time: u32,
    cx: &Context<'_>,
) -> Result<(), Error> {
    let asc = key
        .detached_signature(repomd, time)
        .map_err(|e| Error::Sign {
            what: REPOMD.trim_start_matches('/').to_string(),
            action: "sign it",
            source: Box::new(e.into()),
        })?;
    source
        .put_file(REPOMD_ASC, NewContent::Bytes(asc.into_bytes()), cx.datetime)
        .map_err(|e| Error::IsoEdit {
            at: At::Section("[signing]"),
            action: "write",
            path: REPOMD_ASC.to_string(),
            source: Box::new(e),
        })
}

/// Writes our public key at the image root, followed by the source's first key when it is an
/// armored public key (the installer imports the first key file only, and packages the source
/// signed must still verify). Returns the file name.
pub(super) fn write_key_file(
    source: &mut SourceIso,
    key: &SigningKey,
    cx: &mut Context<'_>,
) -> Result<String, Error> {
    let name = signing::key_file_name(key);
    let mut text = key
        .public_key_armored()
        .map_err(|e| Error::Sign {
            what: name.clone(),
            action: "write the key file",
            source: Box::new(e.into()),
        })?
        .into_bytes();
    if let Ok(t) = source.read_file("/.treeinfo")
        && let Ok(info) = crate::treeinfo::TreeInfo::parse(&String::from_utf8_lossy(&t))
        && let Some((_, first)) = info.options("keys").into_iter().next()
        && first != name
        && let Ok(old) = source.read_file(&format!("/{}", first.trim_start_matches('/')))
        && signing::is_armored_public_key(&old)
    {
        if !text.ends_with(b"\n") {
            text.push(b'\n');
        }
        text.extend_from_slice(&old);
        cx.report.steps.push(format!(
            "packages: key file {name} also carries the source's key {first}"
        ));
    }
    let path = format!("/{name}");
    source
        .put_file(&path, NewContent::Bytes(text), cx.datetime)
        .map_err(|e| Error::IsoEdit {
            at: At::Section("[signing]"),
            action: "write",
            path,
            source: Box::new(e),
        })?;
    Ok(name)
}

/// Without a key, once the repository changed: each boot entry gets one of the two ways to turn
/// the installer's signature checks off (unattended entries read the answer file's attributes,
/// interactive ones the boot arguments; the installer refuses both), and the user is warned.
pub(super) fn turn_checks_off(
    outcome: &mut Outcome,
    answerfile_embedded: bool,
    cx: &mut Context<'_>,
) {
    outcome.dom0_args = xcpng::SIGNATURE_CHECKS_OFF_ARGS
        .iter()
        .map(|a| a.to_string())
        .collect();
    if answerfile_embedded {
        outcome.answerfile_attributes = xcpng::SIGNATURE_CHECKS_OFF_ATTRIBUTES
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }
    cx.report.warnings.push(format!(
        "packages changed without a [signing] key: the installer's signature checks are turned off \
         ({}no-gpgcheck no-repo-gpgcheck on the dom0 line of the interactive boot entries); \
         add a [signing] key to keep them",
        if answerfile_embedded {
            "gpgcheck=\"false\" repo-gpgcheck=\"false\" in the answer file for the unattended entries, "
        } else {
            ""
        }
    ));
}
