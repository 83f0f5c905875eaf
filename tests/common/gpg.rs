//! Throwaway GnuPG signing keys.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{require, run};

/// A GnuPG key generated for one test.
pub struct TestKey {
    /// The GnuPG home that holds it: `gnupg/` in the test's folder.
    pub home: PathBuf,
    /// Its armored secret key, written to `signing.asc` in the test's folder.
    pub secret_file: PathBuf,
    /// Its armored public key.
    pub public: String,
}

/// Generates a signing-only key of type `algo` (`rsa2048`, `rsa3072`, …) for `user_id`,
/// protected by `passphrase` (empty: none), in a new GnuPG home `dir/gnupg`; writes the
/// armored secret key to `dir/signing.asc`.
pub fn test_key(dir: &Path, user_id: &str, algo: &str, passphrase: &str) -> TestKey {
    require("gpg");
    let home = dir.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    run(Command::new("chmod").arg("700").arg(&home));
    let gpg = |args: &[&str]| {
        run(Command::new("gpg")
            .env("GNUPGHOME", &home)
            .args(["--batch", "--quiet", "--pinentry-mode", "loopback"])
            .args(["--passphrase", passphrase])
            .args(args))
    };
    gpg(&["--quick-gen-key", user_id, algo, "sign", "never"]);
    let secret_file = dir.join("signing.asc");
    std::fs::write(&secret_file, gpg(&["--armor", "--export-secret-keys"])).unwrap();
    let public = gpg(&["--armor", "--export"]);
    TestKey {
        home,
        secret_file,
        public,
    }
}
