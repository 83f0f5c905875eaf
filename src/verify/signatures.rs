//! Signatures as the installer's yum (rpm 4.11) judges them with the first `.treeinfo` key
//! imported: each installed RPM when gpgcheck is on ("Package not signed", "Missing key for"),
//! and repomd.xml against repomd.xml.asc when repo_gpgcheck is on ("No signature on repository
//! metadata", "Repository signature verification failure"). A key file that is not an OpenPGP
//! public key fails the import ("Signature key import failed").

use std::io::Read;

use crate::iso::SourceIso;
use crate::rpm::{self, PublicKey, SignatureVerdict};
use crate::xcpng;

/// The key and repository signature of an image, read once.
pub struct Signatures {
    keys: Vec<PublicKey>,
    key_problem: Option<String>,
    repomd_problem: Option<String>,
}

impl Signatures {
    /// Reads the key file (`.treeinfo`'s first key, `None` when it names none) and judges
    /// repomd.xml.asc against `repomd` (repomd.xml's bytes, `None` when it cannot be read).
    pub fn read(source: &SourceIso, key_file: Option<&str>, repomd: Option<&[u8]>) -> Signatures {
        let (keys, key_problem) = match key_file {
            None => (
                Vec::new(),
                Some(
                    ".treeinfo names no key in [keys]: yum has no key to check signatures with"
                        .into(),
                ),
            ),
            Some(path) => match source
                .read_file(path)
                .map_err(|e| e.to_string())
                .and_then(|text| rpm::public_keys_from_armored(&text).map_err(|e| e.to_string()))
            {
                Ok(keys) => (keys, None),
                Err(why) => (
                    Vec::new(),
                    Some(format!("Signature key import failed: {path}: {why}")),
                ),
            },
        };
        let repomd_problem = repomd_signature(source, repomd, &keys, key_problem.as_deref());
        Signatures {
            keys,
            key_problem,
            repomd_problem,
        }
    }

    /// Why the key cannot be imported, if it cannot.
    pub fn key_problem(&self) -> Option<String> {
        self.key_problem.clone()
    }

    /// Why repomd.xml does not pass repo_gpgcheck, if it does not.
    pub fn repomd_problem(&self) -> Option<String> {
        self.repomd_problem.clone()
    }

    /// Why yum refuses a package's signature (read from `input`), if it does.
    pub fn package(&self, input: &mut dyn Read) -> Option<String> {
        match rpm::verify_package(&mut &mut *input, &self.keys) {
            Ok(SignatureVerdict::Ok { .. }) => None,
            Ok(SignatureVerdict::Unsigned) => Some("Package not signed".into()),
            Ok(SignatureVerdict::NoKey { key_id }) => Some(format!(
                "Missing key for the package (signed by key {key_id}, not by the .treeinfo key)"
            )),
            Ok(SignatureVerdict::Bad { reason }) => {
                Some(format!("Cannot find valid rpm ({reason})"))
            }
            Err(e) => Some(format!("Cannot find valid rpm ({e})")),
        }
    }
}

fn repomd_signature(
    source: &SourceIso,
    data: Option<&[u8]>,
    keys: &[PublicKey],
    key_problem: Option<&str>,
) -> Option<String> {
    let Ok(sig) = source.read_file(xcpng::REPOMD_ASC) else {
        return Some(format!(
            "No signature on repository metadata: repo_gpgcheck is on and {} is missing",
            xcpng::REPOMD_ASC.trim_start_matches('/')
        ));
    };
    if let Some(why) = key_problem {
        return Some(why.to_string());
    }
    let verdict = rpm::verify_detached(
        data.unwrap_or_default(),
        &String::from_utf8_lossy(&sig),
        keys,
    );
    match verdict {
        SignatureVerdict::Ok { .. } => None,
        other => Some(format!(
            "Repository signature verification failure: repomd.xml.asc: {other:?}"
        )),
    }
}
