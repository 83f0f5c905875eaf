//! Errors of the driver layer.

/// Everything that can go wrong while reading, checking or wrapping drivers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A module file could not be read as a kernel module.
    #[error("module {file}: {source}")]
    Module {
        /// The module file (as the caller named it).
        file: String,
        /// Why it is not a usable module.
        #[source]
        source: Box<crate::kmod::Error>,
    },
    /// A module was built for another kernel.
    #[error(
        "module {file} was built for kernel {found:?} (vermagic {vermagic:?}), not {expected}; set force = true to use it anyway"
    )]
    WrongKernel {
        /// The module file.
        file: String,
        /// The kernel release the vermagic names.
        found: String,
        /// The whole vermagic string.
        vermagic: String,
        /// The kernel release expected.
        expected: String,
    },
    /// A module has no vermagic at all.
    #[error(
        "module {file} has no vermagic: cannot tell which kernel it is for; set force = true to use it anyway"
    )]
    NoVermagic {
        /// The module file.
        file: String,
    },
    /// A module file name is unusable (not `NAME.ko`, `.ko.xz`, `.ko.zst`; or a path).
    #[error("module file name {name:?}: {reason}")]
    BadModuleName {
        /// The file name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two module files give the same module name.
    #[error("modules {first} and {second} are both module {name}")]
    DuplicateModule {
        /// The module name.
        name: String,
        /// The first file.
        first: String,
        /// The second file.
        second: String,
    },
    /// No module file was given.
    #[error("no module files given")]
    NoModules,
    /// No version was given and no module carries one in `.modinfo`.
    #[error("no version given and no module has a usable modinfo version (tried: {tried})")]
    NoVersion {
        /// What was found instead.
        tried: String,
    },
    /// Building the RPM failed.
    #[error("cannot build the driver package {name}: {source}")]
    Build {
        /// The package name.
        name: String,
        /// The RPM layer's error.
        #[source]
        source: Box<crate::rpm::Error>,
    },
    /// The driver RPM's header is unreadable.
    #[error("{file}: {source}")]
    RpmHeader {
        /// The RPM file.
        file: String,
        /// The header reader's error.
        #[source]
        source: Box<crate::rpm::header::Error>,
    },
    /// The driver RPM's payload is unreadable.
    #[error("{file}: payload: {source}")]
    Payload {
        /// The RPM file.
        file: String,
        /// The archive reader's error.
        #[source]
        source: Box<crate::initrd::Error>,
    },
    /// A payload entry is larger than a driver file may be.
    #[error("{file}: payload entry {entry} is {size} bytes, more than the {limit} bytes allowed")]
    TooLarge {
        /// The RPM file.
        file: String,
        /// The entry.
        entry: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The driver RPM has no kernel module.
    #[error("{file}: the package holds no kernel module under /lib/modules/<kernel>/")]
    NoModulesInRpm {
        /// The RPM file.
        file: String,
    },
    /// The driver RPM's modules are for kernels the image lacks.
    #[error("{file}: its modules are for kernel(s) {found}, but install.img has {available}")]
    RpmKernelMismatch {
        /// The RPM file.
        file: String,
        /// Kernels the payload has modules for.
        found: String,
        /// Kernels install.img has.
        available: String,
    },
    /// install.img has no `/lib/modules/<kver>/`.
    #[error("install.img has no kernel module tree (/lib/modules/<kernel>/)")]
    NoKernel,
    /// install.img has several kernels and none was chosen.
    #[error("install.img has several kernels ({found}): choose one with kernel = \"...\"")]
    SeveralKernels {
        /// The kernels found.
        found: String,
    },
    /// The chosen kernel is not in install.img.
    #[error("kernel {kver} is not in install.img (it has: {available})")]
    UnknownKernel {
        /// The kernel asked for.
        kver: String,
        /// The kernels install.img has.
        available: String,
    },
    /// Reading install.img failed.
    #[error("install.img: {0}")]
    Image(#[source] Box<crate::initrd::Error>),
    /// Reading a module inside install.img failed.
    #[error("install.img: {path}: {source}")]
    ImageFile {
        /// The entry.
        path: String,
        /// The read error.
        #[source]
        source: std::io::Error,
    },
    /// Regenerating the module indexes failed.
    #[error("module indexes for {kver}: {source}")]
    Depmod {
        /// The kernel.
        kver: String,
        /// The depmod layer's error.
        #[source]
        source: Box<crate::kmod::Error>,
    },
}
