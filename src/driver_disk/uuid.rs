//! The default uuid of a driver disk: a name-based (version 5, SHA-1) UUID of the disk's name and
//! version, so that the same profile always gives the same uuid and different drivers or
//! versions give different ones.

use sha1::{Digest, Sha1};

/// The namespace of driver-disk uuids (itself a fixed random UUID).
const NAMESPACE: [u8; 16] = [
    0x6f, 0x1c, 0x9a, 0x52, 0x3e, 0x0d, 0x4b, 0x8e, 0x9c, 0x27, 0x51, 0xd4, 0x0a, 0x86, 0xe3, 0x19,
];

/// The version 5 UUID of `name` and `version` in the driver-disk namespace, lower-case
/// 8-4-4-4-12 hex.
pub fn derived_uuid(name: &str, version: &str) -> String {
    let mut h = Sha1::new();
    h.update(NAMESPACE);
    h.update(name.as_bytes());
    // A separator that neither an RPM name nor a version may hold.
    h.update([0u8]);
    h.update(version.as_bytes());
    let digest = h.finalize();
    let mut b = [0u8; 16];
    for (dst, src) in b.iter_mut().zip(digest.iter()) {
        *dst = *src;
    }
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_is_stable_versioned_and_distinct() {
        let a = derived_uuid("intel-igc", "5.10.214-1");
        assert_eq!(a, derived_uuid("intel-igc", "5.10.214-1"));
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'5');
        assert!(matches!(a.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(a, derived_uuid("intel-igc", "5.10.214-2"));
        assert_ne!(a, derived_uuid("intel-ig", "c5.10.214-1"));
    }
}
