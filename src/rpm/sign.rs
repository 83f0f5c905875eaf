//! OpenPGP signing: rpm v4 header signatures, detached armored signatures (for
//! `repomd.xml.asc`) and export of the public key.
//!
//! Signatures are deterministic: the creation time is the caller's, and both RSA PKCS#1 v1.5 and
//! EdDSA signatures depend only on the key and the data.

use std::io::{Read, Write};

use ::rpm::signature::Signing as _;
use ::rpm::signature::pgp::Signer;
use pgp::composed::{ArmorOptions, Deserializable, DetachedSignature, SignedSecretKey};
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::types::{KeyDetails as _, KeyVersion};

use super::Error;
use super::container::{
    PackageStart, check_payload, fresh_signature_header, sigtag, write_package,
};
use super::index::{Entry, Header};

/// A secret key ready to sign, loaded from an armored OpenPGP secret key. With a keyring, the
/// first certificate is used; its signing subkey if it has one, else its primary key.
#[derive(Debug, Clone)]
pub struct SigningKey {
    signer: Signer,
    secret: SignedSecretKey,
}

impl SigningKey {
    /// Loads an armored secret key (`gpg --export-secret-keys --armor`) and unlocks it with
    /// `passphrase` (empty for an unprotected key). A wrong passphrase is reported here.
    pub fn from_armored(secret_key: &str, passphrase: &str) -> Result<Self, Error> {
        let (secret, _) = SignedSecretKey::from_string(secret_key).map_err(|e| Error::Key {
            reason: e.to_string(),
        })?;
        if secret.primary_key.version() != KeyVersion::V4 {
            return Err(Error::Key {
                reason: format!(
                    "only OpenPGP v4 keys are supported (rpm 4.x verifies nothing else), this one is {:?}",
                    secret.primary_key.version()
                ),
            });
        }
        let signer = Signer::from_asc(secret_key)
            .map_err(|e| Error::Key {
                reason: e.to_string(),
            })?
            .with_key_passphrase(passphrase);
        let key = SigningKey { signer, secret };
        key.sign_raw(&b"passphrase check"[..], 0)
            .map_err(|e| Error::Key {
                reason: format!("cannot sign with it (wrong passphrase?): {e}"),
            })?;
        Ok(key)
    }

    /// The public key, armored, as put on the ISO (`RPM-GPG-KEY-*`) and given to
    /// `rpmkeys --import` or `gpg --import`.
    pub fn public_key_armored(&self) -> Result<String, Error> {
        self.secret
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| Error::Key {
                reason: format!("exporting the public key: {e}"),
            })
    }

    /// The primary key's fingerprint, lowercase hex.
    pub fn fingerprint(&self) -> String {
        hex::encode(self.secret.primary_key.fingerprint().as_bytes())
    }

    /// Creation time of the newest key (primary or subkey) of this certificate, in seconds
    /// since the epoch.
    pub fn created_at(&self) -> u32 {
        std::iter::once(self.secret.primary_key.created_at())
            .chain(
                self.secret
                    .secret_subkeys
                    .iter()
                    .map(|s| s.key.created_at()),
            )
            .map(|t| t.as_secs())
            .max()
            .unwrap_or(0)
    }

    /// A binary OpenPGP signature packet over `data`, created at `time` (seconds since the
    /// epoch) or at the key's creation time if that is later: verifiers (gpg) refuse a
    /// signature older than its key.
    fn sign_raw(&self, data: impl Read, time: u32) -> Result<Vec<u8>, Error> {
        self.signer
            .sign(data, ::rpm::Timestamp(time.max(self.created_at())))
            .map_err(|e| Error::Sign {
                what: "data",
                reason: e.to_string(),
            })
    }

    /// A detached armored signature of `data` (what `gpg --detach-sign --armor` makes), for
    /// `repomd.xml.asc`; created at `time` (or the key's creation time if later).
    pub fn detached_signature(&self, data: impl Read, time: u32) -> Result<String, Error> {
        let packet = self.sign_raw(data, time)?;
        let sig = DetachedSignature::from_bytes(&packet[..]).map_err(|e| Error::Sign {
            what: "detached signature",
            reason: e.to_string(),
        })?;
        sig.to_armored_string(ArmorOptions::default())
            .map_err(|e| Error::Sign {
                what: "detached signature",
                reason: e.to_string(),
            })
    }

    /// The rpm header signature entry for `main_header`: RSA signatures go in the RSA tag,
    /// every other algorithm in the DSA tag (where rpm 4.16+ looks for EdDSA and ECDSA).
    pub(crate) fn header_signature(&self, main_header: &[u8], time: u32) -> Result<Entry, Error> {
        let packet = self.sign_raw(main_header, time)?;
        let sig = DetachedSignature::from_bytes(&packet[..]).map_err(|e| Error::Sign {
            what: "header",
            reason: e.to_string(),
        })?;
        let alg = sig.signature.config().map(|c| c.pub_alg);
        let tag = match alg {
            Some(PublicKeyAlgorithm::RSA) => sigtag::RSA,
            _ => sigtag::DSA,
        };
        Ok(Entry::bin(tag, &packet))
    }
}

/// Adds a header signature to `signature` for `main_header`, replacing any older signatures.
pub(crate) fn add_header_signature(
    signature: &mut Header,
    main_header: &[u8],
    key: &SigningKey,
    time: u32,
) -> Result<(), Error> {
    let entry = key.header_signature(main_header, time)?;
    signature.remove(sigtag::RSA);
    signature.remove(sigtag::DSA);
    signature.set(entry);
    Ok(())
}

/// Signs a package: reads it from `input`, writes it to `output` with a header signature by
/// `key` created at `time`. Old signatures are dropped; the main header and payload are copied
/// byte for byte. The input's header digest is checked before signing and its payload digest
/// while copying: a corrupt package gives an error (after part of the output was written).
pub fn sign_package(
    input: &mut impl Read,
    output: &mut impl Write,
    key: &SigningKey,
    time: u32,
) -> Result<(), Error> {
    let start = PackageStart::read(input)?;
    start.verify_header_digest()?;
    let mut sig = fresh_signature_header(&start.signature, &start.main_raw, start.payload_len());
    add_header_signature(&mut sig, &start.main_raw, key, time)?;
    let copied = write_package(output, &start.lead, &sig, &start.main_raw, input)?;
    check_payload(&start, copied)
}
