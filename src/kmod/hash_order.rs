//! The iteration order of kmod's string hash table.
//!
//! depmod lists modules and symbols in the order its hash table iterates
//! them: by bucket (Paul Hsieh's SuperFastHash of the key, masked to the
//! power-of-two bucket count), then by key (`strcmp`) within a bucket. The
//! order does not depend on insertion order, so it can be computed directly.

/// Bucket count of depmod's table of modules by name.
pub const MODULE_BUCKETS: u32 = 512;
/// Bucket count of depmod's table of symbols.
pub const SYMBOL_BUCKETS: u32 = 2048;

/// SuperFastHash as kmod computes it on x86 (little-endian 16-bit loads,
/// signed `char`).
pub fn superfast(key: &[u8]) -> u32 {
    let mut hash = key.len() as u32;
    let mut chunks = key.chunks_exact(4);
    for c in &mut chunks {
        hash = hash.wrapping_add(u16::from_le_bytes([c[0], c[1]]) as u32);
        let tmp = ((u16::from_le_bytes([c[2], c[3]]) as u32) << 11) ^ hash;
        hash = (hash << 16) ^ tmp;
        hash = hash.wrapping_add(hash >> 11);
    }
    let signed = |b: u8| b as i8 as i32 as u32;
    match *chunks.remainder() {
        [a, b, c] => {
            hash = hash.wrapping_add(u16::from_le_bytes([a, b]) as u32);
            hash ^= hash << 16;
            hash ^= signed(c) << 18;
            hash = hash.wrapping_add(hash >> 11);
        }
        [a, b] => {
            hash = hash.wrapping_add(u16::from_le_bytes([a, b]) as u32);
            hash ^= hash << 11;
            hash = hash.wrapping_add(hash >> 17);
        }
        [a] => {
            hash = hash.wrapping_add(signed(a));
            hash ^= hash << 10;
            hash = hash.wrapping_add(hash >> 1);
        }
        _ => {}
    }
    hash ^= hash << 3;
    hash = hash.wrapping_add(hash >> 5);
    hash ^= hash << 4;
    hash = hash.wrapping_add(hash >> 17);
    hash ^= hash << 25;
    hash = hash.wrapping_add(hash >> 6);
    hash
}

/// Sorts items into kmod's hash iteration order for a table of `buckets`
/// buckets (a power of two), given each item's key.
pub fn sort_by_hash_order<T>(items: &mut [T], buckets: u32, key: impl Fn(&T) -> &[u8]) {
    items.sort_by_cached_key(|item| {
        let k = key(item);
        (superfast(k) & (buckets - 1), k.to_vec())
    });
}
