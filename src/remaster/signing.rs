//! `[signing]`: loading the profile's key, and telling signed packages from unsigned ones.

use std::io::Read;

use crate::profile::Signing;
use crate::rpm::container::{PackageStart, sigtag};
use crate::rpm::sign::SigningKey;

/// Legacy signature header tags rpm still honours: PGP (RSA/v3) and GPG (DSA) over header and
/// payload.
const LEGACY_SIGNATURE_TAGS: [u32; 2] = [1002, 1005];

/// Why the signing key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key file could not be read.
    #[error("signing key {path}: {source}")]
    Read {
        /// The key file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The passphrase variable is not set.
    #[error("signing key {path}: the passphrase variable {var} is not set")]
    NoPassphrase {
        /// The key file.
        path: String,
        /// The environment variable named by `passphrase_env`.
        var: String,
    },
    /// The key is not an armored secret key or the passphrase is wrong.
    #[error("signing key {path}: {source}")]
    Key {
        /// The key file.
        path: String,
        /// The cause.
        source: Box<crate::rpm::Error>,
    },
}

/// Reads and unlocks the `[signing]` key; the passphrase comes from the environment variable
/// the profile names (no variable named: the key is unprotected).
pub fn load(signing: &Signing) -> Result<SigningKey, Error> {
    let path = signing.key.value.display().to_string();
    let text = std::fs::read_to_string(&signing.key.value).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let passphrase = match &signing.passphrase_env {
        Some(var) => std::env::var(&var.value).map_err(|_| Error::NoPassphrase {
            path: path.clone(),
            var: var.value.clone(),
        })?,
        None => String::new(),
    };
    SigningKey::from_armored(&text, &passphrase).map_err(|source| Error::Key {
        path,
        source: Box::new(source),
    })
}

/// The name of the public key file put at the root of the image for `key`: distinct per key,
/// so it never collides with the source's own key file.
pub fn key_file_name(key: &SigningKey) -> String {
    let fp = key.fingerprint();
    let short = fp.get(fp.len().saturating_sub(16)..).unwrap_or(&fp);
    format!("RPM-GPG-KEY-isoremix-{short}")
}

/// Whether the package read from `input` carries any header or legacy signature. Only the
/// headers are read.
pub fn is_signed(input: &mut impl Read) -> Result<bool, crate::rpm::Error> {
    let start = PackageStart::read(input)?;
    Ok([sigtag::RSA, sigtag::DSA]
        .into_iter()
        .chain(LEGACY_SIGNATURE_TAGS)
        .any(|t| start.signature.get(t).is_some()))
}

/// Whether `text` is an armored OpenPGP public key block (so it can follow ours in the key
/// file the installer imports).
pub fn is_armored_public_key(text: &[u8]) -> bool {
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    text.get(start..)
        .is_some_and(|t| t.starts_with(b"-----BEGIN PGP PUBLIC KEY BLOCK-----"))
}
