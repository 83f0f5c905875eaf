//! OpenPGP signing as `rpmsign` 4.11 does it: rpm v4 header signatures and header+payload
//! signatures, detached armored signatures (for `repomd.xml.asc`) and export of the public key.
//!
//! rpm 4.11 (XCP-ng 8.3's installer and dom0) checks a signature against the primary key of each
//! imported certificate only, and verifies only RSA and DSA (160-bit q) signatures. So a key is
//! refused when it is loaded unless its primary key is a v4 RSA or DSA key allowed to sign, and
//! every signature is made by that primary key: v4, binary, with the creation time and the issuer
//! key id in the hashed area.
//!
//! A signed package gets, in its signature header: SIZE (header+payload length), MD5 (of header
//! and payload, binary), SHA1 (of the header), SHA256 (of the header; unknown to 4.11, which skips
//! it), the header-only signature (RSA or DSA tag) and the header+payload signature (PGP or GPG
//! tag), the payload size entries of the input kept. With the header+payload signature and MD5,
//! rpm 4.11 notices a damaged payload at `rpm -K` (it does not know the SHA-256 payload digest).
//!
//! Signatures are deterministic: the creation time is the caller's, RSA PKCS#1 v1.5 signatures
//! depend only on the key and the data, and DSA nonces follow RFC 6979.

use std::io::{self, Read, Seek, SeekFrom, Write};

use pgp::composed::{ArmorOptions, Deserializable, DetachedSignature, SignedSecretKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::packet::PacketTrait as _;
use pgp::packet::{Signature, SignatureConfig, SignatureType, Subpacket, SubpacketData};
use pgp::types::{KeyDetails as _, KeyVersion, Password, PublicParams, Timestamp};

use super::Error;
use super::container::{
    BodyHashes, PackageStart, check_payload, fresh_signature_header, hash_body, sigtag,
    write_package,
};
use super::index::{Entry, Header};
use super::verify::PublicKey;

/// The bits of q of the only DSA keys rpm 4.11 verifies (NSS's DSA1: 1024-bit keys).
const DSA_Q_BITS: usize = 160;

/// A secret key ready to sign, loaded from an armored OpenPGP secret key. With a keyring, the
/// first certificate is used, and always its primary key.
#[derive(Debug, Clone)]
pub struct SigningKey {
    secret: SignedSecretKey,
    passphrase: String,
    hash: HashAlgorithm,
}

fn key_err(reason: impl Into<String>) -> Error {
    Error::Key {
        reason: reason.into(),
    }
}

fn sign_err(what: &'static str) -> impl FnOnce(pgp::errors::Error) -> Error {
    move |e| Error::Sign {
        what,
        reason: e.to_string(),
    }
}

impl SigningKey {
    /// Loads an armored secret key (`gpg --export-secret-keys --armor`) and unlocks it with
    /// `passphrase` (empty for an unprotected key). A key rpm 4.11 could not verify (primary key
    /// not v4, not RSA or 1024-bit DSA, or not allowed to sign) and a wrong passphrase are
    /// reported here.
    pub fn from_armored(secret_key: &str, passphrase: &str) -> Result<Self, Error> {
        let (secret, _) =
            SignedSecretKey::from_string(secret_key).map_err(|e| key_err(e.to_string()))?;
        let primary = &secret.primary_key;
        if primary.version() != KeyVersion::V4 {
            return Err(key_err(format!(
                "its primary key is an OpenPGP {:?} key: rpm 4.11 verifies only v4 keys",
                primary.version()
            )));
        }
        let hash = match (primary.algorithm(), primary.public_params()) {
            (PublicKeyAlgorithm::RSA, _) => HashAlgorithm::Sha256,
            (PublicKeyAlgorithm::DSA, PublicParams::DSA(p)) => {
                let q_bits = p.key.components().q().bits();
                if q_bits != DSA_Q_BITS {
                    return Err(key_err(format!(
                        "its primary key is a DSA key with a {q_bits}-bit q: rpm 4.11 verifies \
                         only 1024-bit DSA keys (160-bit q); use an RSA key"
                    )));
                }
                HashAlgorithm::Sha1
            }
            (alg, _) => {
                return Err(key_err(format!(
                    "its primary key is {alg:?}: rpm 4.11 verifies only RSA and DSA signatures \
                     made by the primary key; use an RSA key"
                )));
            }
        };
        if !primary_may_sign(&secret) {
            return Err(key_err(
                "its primary key is not allowed to sign (only a subkey signs): rpm 4.11 checks \
                 signatures against the primary key only; use a key whose primary key can sign",
            ));
        }
        let key = SigningKey {
            secret,
            passphrase: passphrase.to_string(),
            hash,
        };
        key.signature(&b"passphrase check"[..], 0)
            .map_err(|e| key_err(format!("cannot sign with it (wrong passphrase?): {e}")))?;
        Ok(key)
    }

    /// The public key, armored, as put on the ISO (`RPM-GPG-KEY-*`) and given to
    /// `rpmkeys --import` or `gpg --import`.
    pub fn public_key_armored(&self) -> Result<String, Error> {
        self.secret
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| key_err(format!("exporting the public key: {e}")))
    }

    /// The public key, to verify what this key signed.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::new(self.secret.to_public_key())
    }

    /// The primary key's fingerprint, lowercase hex.
    pub fn fingerprint(&self) -> String {
        hex::encode(self.secret.primary_key.fingerprint().as_bytes())
    }

    /// The primary key's id (the last 16 hex digits of its fingerprint), lowercase: the issuer
    /// of every signature this key makes.
    pub fn key_id(&self) -> String {
        hex::encode(self.secret.primary_key.legacy_key_id())
    }

    /// Creation time of the primary key, in seconds since the epoch.
    pub fn created_at(&self) -> u32 {
        self.secret.primary_key.created_at().as_secs()
    }

    /// A signature configuration made at `time` (or at the key's creation time if later:
    /// verifiers refuse a signature older than its key).
    fn config(&self, time: u32) -> Result<SignatureConfig, Error> {
        let primary = &self.secret.primary_key;
        let mut config = SignatureConfig::v4(SignatureType::Binary, primary.algorithm(), self.hash);
        let created = Timestamp::from_secs(time.max(self.created_at()));
        for data in [
            SubpacketData::SignatureCreationTime(created),
            SubpacketData::IssuerFingerprint(primary.fingerprint()),
            SubpacketData::IssuerKeyId(primary.legacy_key_id()),
        ] {
            config
                .hashed_subpackets
                .push(Subpacket::regular(data).map_err(sign_err("data"))?);
        }
        Ok(config)
    }

    /// A signature over `data` by the primary key.
    fn signature(&self, mut data: impl Read, time: u32) -> Result<Signature, Error> {
        let mut hasher = self.config(time)?.into_hasher().map_err(sign_err("data"))?;
        io::copy(&mut data, &mut hasher).map_err(Error::io("reading the data to sign"))?;
        hasher
            .sign(
                &self.secret.primary_key,
                &Password::from(self.passphrase.as_str()),
            )
            .map_err(sign_err("data"))
    }

    /// A detached armored signature of `data` (what `gpg --detach-sign --armor` makes), for
    /// `repomd.xml.asc`; created at `time` (or the key's creation time if later).
    pub fn detached_signature(&self, data: impl Read, time: u32) -> Result<String, Error> {
        let sig = self.signature(data, time)?;
        DetachedSignature::new(sig)
            .to_armored_string(ArmorOptions::default())
            .map_err(sign_err("detached signature"))
    }

    /// The signature header tags of this key's header-only and header+payload signatures.
    fn tags(&self) -> (u32, u32) {
        match self.secret.primary_key.algorithm() {
            PublicKeyAlgorithm::DSA => (sigtag::DSA, sigtag::GPG),
            _ => (sigtag::RSA, sigtag::PGP),
        }
    }
}

/// Whether the primary key may sign: its newest self-signature carrying key flags allows it
/// (no key flags at all: an old key, which may).
fn primary_may_sign(secret: &SignedSecretKey) -> bool {
    let flags = |sig: &Signature| {
        sig.config().and_then(|c| {
            c.hashed_subpackets().find_map(|p| match &p.data {
                SubpacketData::KeyFlags(f) => Some(f.sign()),
                _ => None,
            })
        })
    };
    let newest = secret
        .details
        .direct_signatures
        .iter()
        .chain(secret.details.users.iter().flat_map(|u| &u.signatures))
        .filter_map(|sig| flags(sig).map(|may| (sig.created().map(|t| t.as_secs()), may)))
        .max_by_key(|(t, _)| *t);
    newest.is_none_or(|(_, may)| may)
}

/// A signature packet, serialized with its header, as rpm stores it.
fn packet_bytes(sig: &Signature, what: &'static str) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(600);
    sig.to_writer_with_header(&mut out)
        .map_err(sign_err(what))?;
    Ok(out)
}

/// Sets the signature entries of `signature` for a package whose main header is `main_header`
/// and whose header+payload hashes are `body`: MD5, the header-only signature and the
/// header+payload signature; any older signature is dropped.
fn put_signatures(
    signature: &mut Header,
    main_header: &[u8],
    body: BodyHashes,
    body_sig: Signature,
    key: &SigningKey,
    time: u32,
) -> Result<(), Error> {
    for tag in sigtag::SIGNATURES {
        signature.remove(tag);
    }
    let (header_tag, body_tag) = key.tags();
    let header_sig = key.signature(main_header, time)?;
    signature.set(Entry::bin(sigtag::MD5, &body.md5));
    signature.set(Entry::bin(
        header_tag,
        &packet_bytes(&header_sig, "header")?,
    ));
    signature.set(Entry::bin(
        body_tag,
        &packet_bytes(&body_sig, "header and payload")?,
    ));
    Ok(())
}

/// Signs a package read from `input` (read twice: to hash the payload, then to copy it) and
/// writes it to `output` with the signatures of `key` created at `time`. Old signatures are
/// dropped; the lead, main header and payload are copied byte for byte. The input's header
/// digests, payload length and payload digest are checked before anything is written.
pub fn sign_package(
    input: &mut (impl Read + Seek),
    output: &mut impl Write,
    key: &SigningKey,
    time: u32,
) -> Result<(), Error> {
    let start = PackageStart::read(input)?;
    let payload_at = input
        .stream_position()
        .map_err(Error::io("reading the package"))?;
    let signed = prepare(&start, input, key, time)?;
    input
        .seek(SeekFrom::Start(payload_at))
        .map_err(Error::io("reading the package"))?;
    finish(&start, signed, input, output)
}

/// Like [`sign_package`] for an input that cannot seek: `open` gives the package from its
/// start, and is called twice.
pub fn sign_package_reopen<R: Read>(
    mut open: impl FnMut() -> io::Result<R>,
    output: &mut impl Write,
    key: &SigningKey,
    time: u32,
) -> Result<(), Error> {
    let mut first = open().map_err(Error::io("opening the package"))?;
    let start = PackageStart::read(&mut first)?;
    let signed = prepare(&start, &mut first, key, time)?;
    drop(first);
    let mut second = open().map_err(Error::io("opening the package"))?;
    let again = PackageStart::read(&mut second)?;
    if again.main_raw != start.main_raw {
        return Err(Error::MalformedHeader {
            part: "main header",
            reason: "the package changed while it was being signed".into(),
        });
    }
    finish(&start, signed, &mut second, output)
}

/// The new signature header of a package, before its payload is copied.
struct Prepared {
    signature: Header,
    payload_len: u64,
}

/// First pass: checks the header digests, hashes header and payload, checks the payload, and
/// makes the new signature header.
fn prepare(
    start: &PackageStart,
    payload: &mut impl Read,
    key: &SigningKey,
    time: u32,
) -> Result<Prepared, Error> {
    start.verify_header_digest()?;
    let mut hasher = key
        .config(time)?
        .into_hasher()
        .map_err(sign_err("header and payload"))?;
    let body = hash_body(start, payload, &mut [&mut hasher])?;
    body.check(start, true)?;
    let body_sig = hasher
        .sign(
            &key.secret.primary_key,
            &Password::from(key.passphrase.as_str()),
        )
        .map_err(sign_err("header and payload"))?;
    let payload_len = body.payload_len;
    let mut signature =
        fresh_signature_header(&start.signature, &start.main_raw, Some(payload_len));
    put_signatures(&mut signature, &start.main_raw, body, body_sig, key, time)?;
    Ok(Prepared {
        signature,
        payload_len,
    })
}

/// Second pass: writes the package with its new signature header, and checks the payload copied
/// is the one hashed.
fn finish(
    start: &PackageStart,
    signed: Prepared,
    payload: &mut impl Read,
    output: &mut impl Write,
) -> Result<(), Error> {
    let copied = write_package(
        output,
        &start.lead,
        &signed.signature,
        &start.main_raw,
        payload,
    )?;
    if copied.0 != signed.payload_len {
        return Err(Error::MalformedHeader {
            part: "payload",
            reason: format!(
                "{} bytes were hashed but {} copied: the package changed while it was being signed",
                signed.payload_len, copied.0
            ),
        });
    }
    check_payload(start, copied)
}

/// Why a key file could not be loaded; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The key file could not be read.
    #[error("signing key {path}: {source}")]
    Read {
        /// The key file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The passphrase variable is not set.
    #[error("signing key {path}: the passphrase variable {var} is not set (or not UTF-8)")]
    NoPassphrase {
        /// The key file.
        path: String,
        /// The environment variable named.
        var: String,
    },
    /// The key is not an armored secret key, rpm 4.11 could not verify its signatures, or the
    /// passphrase is wrong.
    #[error("signing key {path}: {source}")]
    Key {
        /// The key file.
        path: String,
        /// The cause.
        source: Box<Error>,
    },
}

/// Whether the package read from `input` carries any header or legacy signature. Only the
/// lead and the signature header are read.
pub fn is_signed(input: &mut impl Read) -> Result<bool, Error> {
    let start = PackageStart::read(input)?;
    Ok(sigtag::SIGNATURES
        .into_iter()
        .any(|t| start.signature.get(t).is_some()))
}

/// Reads and unlocks the armored secret key at `path`, with the passphrase from the environment
/// variable `passphrase_var` (none: the key is unprotected). The one loader of signing keys.
pub fn load_key_file(
    path: &std::path::Path,
    passphrase_var: Option<&str>,
) -> Result<SigningKey, KeyFileError> {
    let shown = path.display().to_string();
    let text = crate::input::read_to_string(path).map_err(|source| KeyFileError::Read {
        path: shown.clone(),
        source,
    })?;
    let passphrase = match passphrase_var {
        Some(var) => std::env::var(var).map_err(|_| KeyFileError::NoPassphrase {
            path: shown.clone(),
            var: var.to_string(),
        })?,
        None => String::new(),
    };
    SigningKey::from_armored(&text, &passphrase).map_err(|source| KeyFileError::Key {
        path: shown,
        source: Box::new(source),
    })
}
