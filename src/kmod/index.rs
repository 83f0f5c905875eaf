//! The binary index format kmod's modprobe reads (`modules.*.bin`).
//!
//! A file is a 12-byte header (magic `0xB007F457`, version 2.1, offset of the
//! root node), then the nodes of a radix trie, children before parents. All
//! integers are big-endian `u32`. A node reference is the node's file offset
//! with flags in the top nibble: `0x8000_0000` the node has a prefix (a
//! NUL-terminated string), `0x2000_0000` it has children (a `first` and a
//! `last` character, then `last - first + 1` child references, 0 for none),
//! `0x4000_0000` it has values (a count, then per value a priority and a
//! NUL-terminated string). Each node but the root carries the longest common
//! prefix of the keys below it; the root's prefix is always empty.
//!
//! Values of one key are kept sorted by priority; a value added with a
//! priority equal to existing ones goes before them (depmod's order).

use std::collections::BTreeMap;

use super::Error;

const MAGIC: u32 = 0xB007_F457;
const VERSION: u32 = 0x0002_0001;
const FLAG_PREFIX: u32 = 0x8000_0000;
const FLAG_VALUES: u32 = 0x4000_0000;
const FLAG_CHILDREN: u32 = 0x2000_0000;
const OFFSET_MASK: u32 = 0x0FFF_FFFF;
/// Longest alias depmod keeps (`PATH_MAX - 1`); longer ones are truncated.
const ALIAS_MAX: usize = 4095;

/// The values of one key: (priority, value), in file order.
type Values = Vec<(u32, Box<[u8]>)>;
/// The values of one key, borrowed.
type ValueSlice<'a> = &'a [(u32, Box<[u8]>)];
/// A key and its values, as the trie writer walks them.
type Entry<'a> = (&'a [u8], ValueSlice<'a>);

/// Builds one binary index: add (key, value, priority) triples, then write.
#[derive(Debug)]
pub struct IndexBuilder {
    name: &'static str,
    entries: BTreeMap<Box<[u8]>, Values>,
}

impl IndexBuilder {
    /// A new, empty index; `name` is the file name used in errors.
    pub fn new(name: &'static str) -> Self {
        IndexBuilder {
            name,
            entries: BTreeMap::new(),
        }
    }

    /// Adds a value under a key. Keys must be 7-bit ASCII.
    pub fn insert(&mut self, key: &[u8], value: &[u8], priority: u32) -> Result<(), Error> {
        if !key.is_ascii() {
            return Err(Error::NonAsciiKey {
                index: self.name,
                key: String::from_utf8_lossy(key).into_owned(),
            });
        }
        let values = self.entries.entry(key.into()).or_default();
        let at = values
            .iter()
            .position(|(p, _)| *p >= priority)
            .unwrap_or(values.len());
        values.insert(at, (priority, value.into()));
        Ok(())
    }

    /// Serializes the trie.
    pub fn write(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC.to_be_bytes());
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        let keys: Vec<Entry> = self
            .entries
            .iter()
            .map(|(k, v)| (&**k, v.as_slice()))
            .collect();
        let root = self.write_trie(&mut out, &keys)?;
        out[8..12].copy_from_slice(&root.to_be_bytes());
        Ok(out)
    }

    /// Writes the trie of `keys` (sorted, unique) children first, and
    /// returns the root's flagged offset. Iterative, so deep tries (long
    /// keys that extend one another) need no deep call stack.
    fn write_trie(&self, out: &mut Vec<u8>, keys: &[Entry]) -> Result<u32, Error> {
        let mut stack = vec![Node::open(keys, 0, 0, true)];
        loop {
            let Some(top) = stack.last_mut() else {
                return Err(Error::IndexTooLarge { index: self.name });
            };
            if top.next < top.keys.len() {
                // Open the next child: the keys sharing the byte at `depth`.
                let (depth, rest) = (top.depth, &top.keys[top.next..]);
                let ch = rest[0].0[depth];
                let len = rest.iter().take_while(|(k, _)| k[depth] == ch).count();
                let child_keys = &rest[..len];
                top.next += len;
                stack.push(Node::open(child_keys, depth + 1, ch, false));
                continue;
            }
            let Some(done) = stack.pop() else {
                return Err(Error::IndexTooLarge { index: self.name });
            };
            let offset = self.emit(out, &done)?;
            match stack.last_mut() {
                Some(parent) => parent.children.push((done.ch, offset)),
                None => return Ok(offset),
            }
        }
    }

    /// Writes one node whose children are already written; returns its
    /// flagged offset.
    fn emit(&self, out: &mut Vec<u8>, node: &Node) -> Result<u32, Error> {
        let offset = u32::try_from(out.len())
            .ok()
            .filter(|o| *o <= OFFSET_MASK)
            .ok_or(Error::IndexTooLarge { index: self.name })?;
        let mut flagged = offset;
        if !node.prefix.is_empty() {
            out.extend_from_slice(node.prefix);
            out.push(0);
            flagged |= FLAG_PREFIX;
        }
        if let (Some(first), Some(last)) = (node.children.first(), node.children.last()) {
            out.push(first.0);
            out.push(last.0);
            let mut next = node.children.iter().peekable();
            for ch in first.0..=last.0 {
                let reference = match next.peek() {
                    Some((c, r)) if *c == ch => {
                        next.next();
                        *r
                    }
                    _ => 0,
                };
                out.extend_from_slice(&reference.to_be_bytes());
            }
            flagged |= FLAG_CHILDREN;
        }
        if let Some(values) = node.values {
            out.extend_from_slice(&(values.len() as u32).to_be_bytes());
            for (priority, value) in values {
                out.extend_from_slice(&priority.to_be_bytes());
                out.extend_from_slice(value);
                out.push(0);
            }
            flagged |= FLAG_VALUES;
        }
        if out.len() > OFFSET_MASK as usize {
            return Err(Error::IndexTooLarge { index: self.name });
        }
        Ok(flagged)
    }
}

/// A trie node being written: the keys below it, its prefix and values, and
/// its children written so far.
struct Node<'k> {
    /// Keys of the subtree not yet handed to a child (values key excluded).
    keys: &'k [Entry<'k>],
    /// Index in `keys` of the next child's first key.
    next: usize,
    /// Key bytes consumed down to this node's children.
    depth: usize,
    /// The byte on the edge from the parent.
    ch: u8,
    prefix: &'k [u8],
    values: Option<ValueSlice<'k>>,
    children: Vec<(u8, u32)>,
}

impl<'k> Node<'k> {
    /// The node for `keys` (sorted, all sharing their first `depth` bytes);
    /// every node but the root takes their common prefix.
    fn open(keys: &'k [Entry<'k>], depth: usize, ch: u8, root: bool) -> Self {
        let prefix_len = if root { 0 } else { common_prefix(keys, depth) };
        let prefix = keys
            .first()
            .and_then(|(k, _)| k.get(depth..depth + prefix_len))
            .unwrap_or(&[]);
        let depth = depth + prefix_len;
        let (values, keys) = match keys.split_first() {
            Some((first, rest)) if first.0.len() == depth => (Some(first.1), rest),
            _ => (None, keys),
        };
        Node {
            keys,
            next: 0,
            depth,
            ch,
            prefix,
            values,
            children: Vec::new(),
        }
    }
}

/// Length of the prefix all `keys` share beyond `depth`.
fn common_prefix(keys: &[Entry], depth: usize) -> usize {
    let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
        return 0;
    };
    // Keys are sorted, so the first and last bound the common prefix.
    let a = first.0.get(depth..).unwrap_or(&[]);
    let b = last.0.get(depth..).unwrap_or(&[]);
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// depmod's alias normalization: `-` becomes `_` outside `[...]` ranges.
/// `None` for an unmatched bracket. Aliases longer than 4095 bytes are
/// truncated, as depmod does.
pub fn normalize_alias(alias: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(alias.len());
    let mut i = 0;
    while i < alias.len() && i < ALIAS_MAX {
        match alias[i] {
            b'-' => out.push(b'_'),
            b']' => return None,
            b'[' => {
                let close = alias[i..].iter().position(|&b| b == b']')? + i;
                out.extend_from_slice(&alias[i..=close]);
                i = close;
            }
            0 => break,
            c => out.push(c),
        }
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_sorted_by_priority_latest_first_on_ties() {
        let mut idx = IndexBuilder::new("t");
        idx.insert(b"k", b"a", 1).unwrap();
        idx.insert(b"k", b"b", 0).unwrap();
        idx.insert(b"k", b"c", 1).unwrap();
        let v: Vec<_> = idx.entries[&b"k"[..]]
            .iter()
            .map(|(p, v)| (*p, v.to_vec()))
            .collect();
        assert_eq!(
            v,
            vec![(0, b"b".to_vec()), (1, b"c".to_vec()), (1, b"a".to_vec())]
        );
    }

    #[test]
    fn empty_index_is_header_and_root() {
        let idx = IndexBuilder::new("t");
        let out = idx.write().unwrap();
        assert_eq!(out, [0xB0, 0x07, 0xF4, 0x57, 0, 2, 0, 1, 0, 0, 0, 12]);
    }

    #[test]
    fn deep_trie_needs_no_deep_stack() {
        let mut idx = IndexBuilder::new("t");
        let mut key = Vec::new();
        for i in 0..3_000u32 {
            key.push(b'a' + (i % 2) as u8);
            idx.insert(&key, b"v", i).unwrap();
        }
        let out = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || idx.write().unwrap())
            .unwrap()
            .join()
            .unwrap();
        assert!(out.len() > 3_000 * 10);
    }

    #[test]
    fn normalize() {
        assert_eq!(normalize_alias(b"pci:v-[0-9]*").unwrap(), b"pci:v_[0-9]*");
        assert!(normalize_alias(b"a]").is_none());
        assert!(normalize_alias(b"a[0-").is_none());
    }
}
