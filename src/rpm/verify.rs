//! Checking packages as rpm 4.11 (XCP-ng 8.3's installer and dom0) does: their digests
//! ([`check_digests`]) and their signatures ([`verify_package`], as `rpm -K` judges them), and
//! detached signatures such as `repomd.xml.asc` ([`verify_detached`]) against public keys read
//! from an armored key file ([`public_keys_from_armored`]).
//!
//! rpm 4.11 matches a signature's issuer key id against the primary key of each imported
//! certificate only, and reads only RSA and DSA signatures: so does [`verify_package`]. It also
//! checks the digests rpm 4.11 does not know (the header SHA-256 and the payload digest), which
//! only makes it stricter on damaged packages.

use std::io::{self, Read, Write};

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::packet::Signature;
use pgp::types::{KeyDetails as _, KeyId, VerifyingKey as _};
use sha2::digest::DynDigest;

use super::Error;
use super::container::{PackageStart, hash_body, sigtag};

/// An OpenPGP certificate (public key with its user ids and subkeys) to verify signatures with.
#[derive(Debug, Clone)]
pub struct PublicKey {
    cert: SignedPublicKey,
}

impl PublicKey {
    /// Wraps a parsed certificate.
    pub fn new(cert: SignedPublicKey) -> Self {
        PublicKey { cert }
    }

    /// The primary key's id (the last 16 hex digits of its fingerprint), lowercase.
    pub fn key_id(&self) -> String {
        hex::encode(self.cert.primary_key.legacy_key_id())
    }

    /// The primary key's fingerprint, lowercase hex.
    pub fn fingerprint(&self) -> String {
        hex::encode(self.cert.primary_key.fingerprint().as_bytes())
    }

    /// The certificate.
    pub fn certificate(&self) -> &SignedPublicKey {
        &self.cert
    }

    /// Whether rpm 4.11 would import this key: a v4 RSA or DSA primary key.
    fn rpm411_usable(&self) -> bool {
        matches!(
            self.cert.primary_key.algorithm(),
            PublicKeyAlgorithm::RSA | PublicKeyAlgorithm::DSA
        )
    }
}

/// How a package's or a file's signature fares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureVerdict {
    /// Signed by one of the keys, and intact.
    Ok {
        /// The signing key's id (16 lowercase hex digits).
        key_id: String,
    },
    /// Intact as far as can be told, but signed by a key not in the list.
    NoKey {
        /// The issuer key id the signature names (16 lowercase hex digits).
        key_id: String,
    },
    /// Intact, but not signed at all.
    Unsigned,
    /// Damaged, tampered with, or signed in a way rpm 4.11 cannot check.
    Bad {
        /// What does not verify.
        reason: String,
    },
}

/// Reads every public key of an armored key file: one or more `PUBLIC KEY BLOCK`s, each with one
/// or more certificates (the order is kept).
pub fn public_keys_from_armored(text: &[u8]) -> Result<Vec<PublicKey>, Error> {
    const BEGIN: &[u8] = b"-----BEGIN PGP PUBLIC KEY BLOCK-----";
    let starts: Vec<usize> = (0..text.len())
        .filter(|&i| text[i..].starts_with(BEGIN))
        .collect();
    if starts.is_empty() {
        return Err(Error::Key {
            reason: "no armored OpenPGP public key block".into(),
        });
    }
    let mut keys = Vec::new();
    for (n, &at) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(text.len());
        let (certs, _) =
            SignedPublicKey::from_armor_many(&text[at..end]).map_err(|e| Error::Key {
                reason: format!("public key block {}: {e}", n + 1),
            })?;
        for cert in certs {
            let cert = cert.map_err(|e| Error::Key {
                reason: format!("public key block {}: {e}", n + 1),
            })?;
            keys.push(PublicKey::new(cert));
        }
    }
    Ok(keys)
}

/// Checks a package's digests: the signature header's SHA-256 and SHA-1 of the main header and
/// MD5 of header and payload, the main header's payload digest, and the size entry. The error
/// names the part and the digest that do not match.
pub fn check_digests(input: &mut impl Read) -> Result<(), Error> {
    let start = PackageStart::read(input)?;
    start.verify_header_digest()?;
    hash_body(&start, input, &mut [])?.check(&start, true)
}

/// Feeds written bytes to a digest.
struct DigestWriter(Box<dyn DynDigest + Send>);

impl Write for DigestWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One signature of the signature header, being checked.
struct Pending {
    tag: u32,
    sig: Signature,
    hasher: DigestWriter,
    /// Over header and payload (else the header only).
    body: bool,
}

/// Judges a package as `rpm -K` of rpm 4.11 with `keys` imported: every digest and signature of
/// its signature header is checked (and the newer digests rpm 4.11 skips). An error is returned
/// only when the package cannot be read as one.
pub fn verify_package(
    input: &mut impl Read,
    keys: &[PublicKey],
) -> Result<SignatureVerdict, Error> {
    let start = PackageStart::read(input)?;
    let mut bad = Vec::new();
    let mut pending = Vec::new();
    for tag in sigtag::SIGNATURES {
        let Some(entry) = start.signature.get(tag) else {
            continue;
        };
        match parse_signature(&entry.data) {
            Ok((sig, hasher)) => {
                let body = ![sigtag::RSA, sigtag::DSA].contains(&tag);
                let mut hasher = DigestWriter(hasher);
                if !body {
                    hasher.0.update(&start.main_raw);
                }
                pending.push(Pending {
                    tag,
                    sig,
                    hasher,
                    body,
                });
            }
            Err(reason) => bad.push(format!("signature tag {tag}: {reason}")),
        }
    }
    if let Err(e) = start.verify_header_digest() {
        bad.push(e.to_string());
    }
    let mut sinks: Vec<&mut dyn Write> = pending
        .iter_mut()
        .filter(|p| p.body)
        .map(|p| &mut p.hasher as &mut dyn Write)
        .collect();
    let body = hash_body(&start, input, &mut sinks)?;
    if let Err(e) = body.check(&start, true) {
        bad.push(e.to_string());
    }
    let mut ok = None;
    let mut nokey = None;
    for p in pending {
        let what = if p.body {
            "header+payload signature"
        } else {
            "header signature"
        };
        match judge(&p.sig, p.hasher.0, keys) {
            Judged::Ok(id) => ok = ok.or(Some(id)),
            Judged::NoKey(id) => nokey = nokey.or(Some(id)),
            Judged::Bad(reason) => bad.push(format!("{what} (tag {}): {reason}", p.tag)),
        }
    }
    Ok(if !bad.is_empty() {
        SignatureVerdict::Bad {
            reason: bad.join("; "),
        }
    } else if let Some(key_id) = nokey {
        SignatureVerdict::NoKey { key_id }
    } else if let Some(key_id) = ok {
        SignatureVerdict::Ok { key_id }
    } else {
        SignatureVerdict::Unsigned
    })
}

/// Judges an armored detached signature (`repomd.xml.asc`) of `data`, as gpg does with `keys`
/// imported: the signing key may be a primary key or a subkey.
pub fn verify_detached(data: &[u8], armored_sig: &str, keys: &[PublicKey]) -> SignatureVerdict {
    let sig = match DetachedSignature::from_string(armored_sig) {
        Ok((s, _)) => s.signature,
        Err(e) => {
            return SignatureVerdict::Bad {
                reason: format!("not an armored OpenPGP signature: {e}"),
            };
        }
    };
    let Some(issuer) = issuer(&sig) else {
        return SignatureVerdict::Bad {
            reason: "the signature names no issuer key".into(),
        };
    };
    let key_id = hex::encode(issuer);
    for key in keys {
        let cert = &key.cert;
        let result = if cert.primary_key.legacy_key_id() == issuer {
            sig.verify(&cert.primary_key, data)
        } else if let Some(sub) = cert
            .public_subkeys
            .iter()
            .find(|s| s.key.legacy_key_id() == issuer)
        {
            sig.verify(&sub.key, data)
        } else {
            continue;
        };
        return match result {
            Ok(()) => SignatureVerdict::Ok { key_id },
            Err(e) => SignatureVerdict::Bad {
                reason: format!("signature by key {key_id} does not verify: {e}"),
            },
        };
    }
    SignatureVerdict::NoKey { key_id }
}

/// Parses one signature packet as rpm 4.11 would read it, with a hasher for its algorithm.
fn parse_signature(bytes: &[u8]) -> Result<(Signature, Box<dyn DynDigest + Send>), String> {
    let sig = DetachedSignature::from_bytes(bytes)
        .map_err(|e| format!("unreadable OpenPGP signature: {e}"))?
        .signature;
    let config = sig
        .config()
        .ok_or_else(|| format!("OpenPGP signature version {:?}", sig.version()))?;
    if !matches!(
        config.pub_alg,
        PublicKeyAlgorithm::RSA | PublicKeyAlgorithm::DSA
    ) {
        return Err(format!(
            "a {:?} signature, which rpm 4.11 cannot read",
            config.pub_alg
        ));
    }
    let hasher = config
        .hash_alg
        .new_hasher()
        .map_err(|e| format!("hash algorithm {:?}: {e}", config.hash_alg))?;
    Ok((sig, hasher))
}

/// The key id a signature names: its issuer subpacket (or v3 field), else the end of its issuer
/// fingerprint.
fn issuer(sig: &Signature) -> Option<KeyId> {
    let config = sig.config()?;
    if let Some(id) = config.issuer_key_id().first() {
        return Some(**id);
    }
    let fp = config.issuer_fingerprint().first()?.as_bytes().to_vec();
    let tail: [u8; 8] = fp.get(fp.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(KeyId::from(tail))
}

enum Judged {
    Ok(String),
    NoKey(String),
    Bad(String),
}

/// Finishes a signature's hash (the data was fed) and checks it, as rpm 4.11 does: the quick
/// check of the hash's first 16 bits first (failing: damaged, whatever the key), then the
/// signature with the primary key of the certificate that has the issuer's key id.
fn judge(sig: &Signature, mut hasher: Box<dyn DynDigest + Send>, keys: &[PublicKey]) -> Judged {
    let (Some(config), Some(quick), Some(bytes)) =
        (sig.config(), sig.signed_hash_value(), sig.signature())
    else {
        return Judged::Bad("unsupported signature".into());
    };
    let hash = match config
        .hash_signature_data(&mut hasher)
        .and_then(|len| config.trailer(len))
    {
        Ok(trailer) => {
            hasher.update(&trailer);
            hasher.finalize()
        }
        Err(e) => return Judged::Bad(e.to_string()),
    };
    if hash.get(..2) != Some(&quick[..]) {
        return Judged::Bad("the digest does not match: the package was changed".into());
    }
    let Some(issuer) = issuer(sig) else {
        return Judged::Bad("the signature names no issuer key".into());
    };
    let key_id = hex::encode(issuer);
    let Some(key) = keys
        .iter()
        .find(|k| k.rpm411_usable() && k.cert.primary_key.legacy_key_id() == issuer)
    else {
        return Judged::NoKey(key_id);
    };
    match key.cert.primary_key.verify(config.hash_alg, &hash, bytes) {
        Ok(()) => Judged::Ok(key_id),
        Err(e) => Judged::Bad(format!("signature by key {key_id} does not verify: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpm::build::{FileSpec, PackageSpec, build_package};

    fn package() -> Vec<u8> {
        let mut spec = PackageSpec::new("probe", "1.0", "1", "noarch", 1_700_000_000, "t");
        spec.files.push(FileSpec::new(
            "/usr/share/probe/data",
            0o644,
            1_700_000_000,
            (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect(),
        ));
        let mut out = Vec::new();
        build_package(&spec, &mut out).unwrap();
        out
    }

    #[test]
    fn digests_of_an_intact_package_check_out_and_damage_is_named() {
        let pkg = package();
        check_digests(&mut pkg.as_slice()).unwrap();
        assert_eq!(
            verify_package(&mut pkg.as_slice(), &[]).unwrap(),
            SignatureVerdict::Unsigned
        );
        let mut bad = pkg.clone();
        let last = bad.len() - 20;
        bad[last] ^= 1;
        let err = check_digests(&mut bad.as_slice()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::DigestMismatch {
                    part: "payload",
                    digest: "SHA-256",
                    ..
                }
            ),
            "{err}"
        );
        assert!(matches!(
            verify_package(&mut bad.as_slice(), &[]).unwrap(),
            SignatureVerdict::Bad { .. }
        ));
    }

    #[test]
    fn key_files_without_a_public_key_are_refused() {
        for text in [
            &b""[..],
            b"not a key",
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n",
        ] {
            assert!(public_keys_from_armored(text).is_err());
        }
    }

    #[test]
    fn garbage_detached_signatures_are_bad() {
        assert!(matches!(
            verify_detached(b"data", "not a signature", &[]),
            SignatureVerdict::Bad { .. }
        ));
    }
}
