//! Kernel versions: the release a module's `vermagic` names, and the check
//! that a module fits the kernel it is put next to.

use super::Error;
use crate::kmod::ModuleInfo;

/// The kernel release a `vermagic` string names: its first word
/// (`"4.19.0+1 SMP mod_unload modversions "` gives `4.19.0+1`).
pub fn vermagic_release(vermagic: &str) -> &str {
    vermagic.split_whitespace().next().unwrap_or("")
}

/// Checks that `info` (read from `file`) was built for kernel `kver`.
/// With `force`, any vermagic (or none) is accepted.
pub fn check_vermagic(file: &str, info: &ModuleInfo, kver: &str, force: bool) -> Result<(), Error> {
    if force {
        return Ok(());
    }
    let Some(vermagic) = info.vermagic() else {
        return Err(Error::NoVermagic {
            file: file.to_string(),
        });
    };
    let found = vermagic_release(vermagic);
    if found != kver {
        return Err(Error::WrongKernel {
            file: file.to_string(),
            found: found.to_string(),
            vermagic: vermagic.to_string(),
            expected: kver.to_string(),
        });
    }
    Ok(())
}

/// Checks that a kernel release is usable as one path component
/// (`/lib/modules/<kver>/`).
pub fn is_plain_kver(kver: &str) -> bool {
    !kver.is_empty()
        && kver != "."
        && kver != ".."
        && !kver
            .bytes()
            .any(|c| c == b'/' || c.is_ascii_whitespace() || c.is_ascii_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_is_the_first_word() {
        assert_eq!(
            vermagic_release("4.19.0+1 SMP mod_unload modversions "),
            "4.19.0+1"
        );
        assert_eq!(
            vermagic_release("6.1.0-18-amd64 SMP preempt mod_unload"),
            "6.1.0-18-amd64"
        );
        assert_eq!(vermagic_release(""), "");
    }

    #[test]
    fn plain_kernel_versions() {
        assert!(is_plain_kver("4.19.0+1"));
        assert!(!is_plain_kver("../etc"));
        assert!(!is_plain_kver(".."));
        assert!(!is_plain_kver(""));
        assert!(!is_plain_kver("a b"));
    }
}
