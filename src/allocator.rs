//! How the binary sets up glibc's allocator before any thread starts.
//!
//! glibc's malloc gives threads that allocate at the same time arenas of their own (up to eight
//! per core), and a freed block stays in its arena for the next allocation there rather than
//! going back to the system. The block decoder's and the re-pack's threads pass buffers of about
//! a megabyte between them, so each of their arenas ends up holding some: a re-pack on two cores
//! peaked at 77 to 81 MB, and at 123 to 142 MB with 64 threads asked (four compressing). With
//! two arenas the same runs peak at 58 to 60 and 88 to 97 MB, in the same time (the threads
//! allocate a few times per megabyte of data, so sharing arenas costs no measurable time). A
//! limit the user set in the environment (`MALLOC_ARENA_MAX`, `GLIBC_TUNABLES`) is kept.

/// The arenas glibc's malloc may make.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: i32 = 2;

/// Limits glibc's arenas to [`ARENAS`] unless the environment sets its own; call before any
/// thread starts. Elsewhere (another C library, another system) it does nothing.
pub fn share_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none()
        && std::env::var_os("GLIBC_TUNABLES").is_none()
    {
        // SAFETY: mallopt only sets a parameter of the allocator, which glibc documents as safe
        // to change at any time; no thread has started yet, so no arena has been made for one.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        }
    }
}
