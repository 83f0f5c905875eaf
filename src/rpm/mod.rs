//! RPM packages: building them deterministically, rewriting a meta-package as a new release,
//! signing, reading headers and rpm's version ordering.
//!
//! - Building: [`build_package`] makes a package from plain data ([`PackageSpec`] with
//!   [`FileSpec`], [`DirSpec`], [`SymlinkSpec`], [`ScriptSpec`] and [`Dep`]s);
//!   [`kernel_module_spec`] describes a kernel-module package; [`build_padding_package`] streams
//!   large filler packages ([`PaddingSpec`], content from [`Filler`]) for size benchmarks.
//! - Rewriting: [`rewrite_package`] reads an existing package as a stream and writes a new
//!   release of it with more `Requires` ([`RewriteSpec`], [`NewRelease`]), keeping the payload
//!   byte for byte.
//! - Signing: [`SigningKey`] with [`sign_package`] signs as `rpmsign` 4.11 does (header and
//!   header+payload signatures by the primary key); [`SigningKey::detached_signature`] and
//!   [`SigningKey::public_key_armored`] make detached armored signatures and export the key.
//! - Verifying: [`check_digests`], [`verify_package`] and [`verify_detached`] judge digests and
//!   signatures as rpm 4.11 does.
//! - Reading: [`read_package`] / [`read_header`] give a package's header ([`PackageHeader`]).
//! - Ordering: [`Evr`] / [`Nevra`] and [`rpmvercmp`] compare versions the way rpm does.
//!
//! The on-disk structures (index entries and data store, the 96-byte lead, the sequence lead /
//! signature header / main header / payload) stay inside the crate.

pub(crate) mod build;
pub(crate) mod container;
pub(crate) mod error;
pub(crate) mod evr;
pub(crate) mod header;
pub(crate) mod index;
pub(crate) mod lead;
pub(crate) mod padding;
pub(crate) mod payload;
pub(crate) mod rewrite;
pub(crate) mod sign;
pub(crate) mod verify;

pub use build::{
    BUILD_HOST, Dep, DepCmp, DirSpec, FileSpec, KernelModules, PackageSpec, ScriptSpec,
    SymlinkSpec, build_package, build_signed_package, kernel_module_spec,
};
pub use error::Error;
pub use evr::{Evr, Nevra, rpmvercmp};
/// Errors of reading a package's header ([`read_package`], [`read_header`]).
pub use header::Error as HeaderError;
pub use header::{
    ChangelogEntry, Dependency, FileInfo, FileKind, PackageFile, PackageHeader, read_header,
    read_package, read_package_file,
};
pub use padding::{PaddingSpec, build_padding_package};
pub use payload::{Compression, CpioEntry, Filler};
pub use rewrite::{NewRelease, RewriteReport, RewriteSpec, rewrite_package};
pub use sign::{
    KeyFileError, SigningKey, is_signed, load_key_file, sign_package, sign_package_reopen,
};
pub use verify::{
    PublicKey, SignatureVerdict, check_digests, public_keys_from_armored, verify_detached,
    verify_package,
};
