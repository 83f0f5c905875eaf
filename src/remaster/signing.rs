//! `[signing]`: the names the build gives the key it signs with on the image.

use crate::rpm::sign::SigningKey;
// Where the packages step asks it (the check belongs to the RPM layer).
pub use crate::rpm::sign::is_signed;

/// The name of the public key file put at the root of the image for `key`: distinct per key,
/// so it never collides with the source's own key file.
pub fn key_file_name(key: &SigningKey) -> String {
    let fp = key.fingerprint();
    let short = fp.get(fp.len().saturating_sub(16)..).unwrap_or(&fp);
    format!("RPM-GPG-KEY-isoremix-{short}")
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
