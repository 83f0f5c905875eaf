//! Kernel drivers: taking them apart and putting them together, with no
//! knowledge of profiles.
//!
//! - `kver`: which kernels an install.img holds, and checking a module's
//!   `vermagic` against one;
//! - `rpm_payload`: the modules, firmware and `modprobe.d` files of a
//!   driver RPM's payload;
//! - `wrap`: a driver RPM made from bare module files, as XCP-ng's are;
//! - `image`: one streaming pass over an install.img collecting kernels,
//!   module metadata and depmod inputs, and the index files regenerated with
//!   new modules in place.

mod error;
pub(crate) mod image;
pub(crate) mod kver;
pub(crate) mod rpm_payload;
pub(crate) mod wrap;

pub use error::Error;
pub use image::{ImageModules, KernelModules, index_files};
pub use kver::check_vermagic;
pub use rpm_payload::{DriverFile, DriverFileKind, DriverPayload, read_driver_rpm};
pub use wrap::{WrapSpec, Wrapped, wrap_modules};
