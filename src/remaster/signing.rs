//! `[signing]`: loading the profile's key, and telling signed packages from unsigned ones.

use std::io::Read;

use crate::profile::Signing;
use crate::rpm::container::{PackageStart, sigtag};
use crate::rpm::sign::{KeyFileError, SigningKey, load_key_file};

/// Why the signing key could not be used.
pub type Error = KeyFileError;

/// Reads and unlocks the `[signing]` key; the passphrase comes from the environment variable
/// the profile names (no variable named: the key is unprotected). A key rpm 4.11 could not
/// verify is refused here. Used by the build and by `driver-disk`.
pub fn load(signing: &Signing) -> Result<SigningKey, Error> {
    load_key_file(
        &signing.key.value,
        signing.passphrase_env.as_ref().map(|v| v.value.as_str()),
    )
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
    Ok(sigtag::SIGNATURES
        .into_iter()
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
