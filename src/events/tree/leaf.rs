//! Audit entries as Merkle leaves: one canonical byte form per entry.
//!
//! The rule, the same bytes for the same entry on every replica and in every tool:
//!
//! ```text
//! leaf = ns("clementine-audit/1") ns(stream id) { ns(name) ns(value) } for each field, sorted by
//!        name (bytewise)
//! ns(s) = decimal length of s ":" s ","          (a netstring)
//! ```
//!
//! Netstrings make the form unambiguous whatever a value holds (newlines, `=`, `,`), and the
//! stream id binds the entry to its place in the stream. The leaf hash is RFC 6962's,
//! `SHA-256(0x00 || leaf)`. Stream ids are kept beside the tree as 16 bytes (milliseconds and
//! sequence, big-endian), which sort as the ids do.

use std::collections::HashMap;

use tlog_tiles::Hash;

/// The first netstring of every leaf: names the rule, so that a new rule is a new prefix.
const VERSION: &str = "clementine-audit/1";

fn netstring(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(s.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(s);
    out.push(b',');
}

/// The canonical bytes of the entry `id` with these fields.
pub fn leaf_bytes(id: &str, fields: &HashMap<String, String>) -> Vec<u8> {
    let mut names: Vec<&String> = fields.keys().collect();
    names.sort();
    let mut out = Vec::with_capacity(64 + fields.values().map(|v| v.len() + 16).sum::<usize>());
    netstring(&mut out, VERSION.as_bytes());
    netstring(&mut out, id.as_bytes());
    for name in names {
        netstring(&mut out, name.as_bytes());
        netstring(&mut out, fields[name].as_bytes());
    }
    out
}

/// The RFC 6962 leaf hash of the entry.
pub fn leaf_hash(id: &str, fields: &HashMap<String, String>) -> Hash {
    tlog_tiles::record_hash(&leaf_bytes(id, fields))
}

/// A stream id (`ms-seq`) as 16 bytes that sort as the ids do; `None` for anything else.
pub fn id_bytes(id: &str) -> Option<[u8; 16]> {
    let (ms, seq) = id.split_once('-')?;
    let (ms, seq): (u64, u64) = (ms.parse().ok()?, seq.parse().ok()?);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&ms.to_be_bytes());
    out[8..].copy_from_slice(&seq.to_be_bytes());
    Some(out)
}

/// The stream id of 16 bytes made by [`id_bytes`].
pub fn id_text(bytes: &[u8]) -> String {
    let ms = u64::from_be_bytes(bytes[..8].try_into().unwrap_or_default());
    let seq = u64::from_be_bytes(bytes[8..16].try_into().unwrap_or_default());
    format!("{ms}-{seq}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fields(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_form_is_written_down() {
        let leaf = leaf_bytes("1-2", &fields(&[("phase", "intent"), ("action", "a,b")]));
        assert_eq!(
            String::from_utf8(leaf).unwrap(),
            "18:clementine-audit/1,3:1-2,6:action,3:a,b,5:phase,6:intent,"
        );
    }

    proptest! {
        /// Field order never matters; any change of a name, a value or the id does.
        #[test]
        fn same_entry_same_bytes_and_any_change_shows(
            entry in proptest::collection::hash_map("[a-z_]{1,8}", ".{0,20}", 1..8),
            ms in 0u64..u64::MAX, seq in 0u64..1000,
        ) {
            let id = format!("{ms}-{seq}");
            let mut pairs: Vec<(String, String)> = entry.clone().into_iter().collect();
            pairs.reverse();
            let shuffled: HashMap<String, String> = pairs.into_iter().collect();
            prop_assert_eq!(leaf_hash(&id, &entry), leaf_hash(&id, &shuffled));
            let mut changed = entry.clone();
            let first = changed.keys().next().unwrap().clone();
            changed.insert(first, "\u{1}changed".into());
            prop_assert_ne!(leaf_hash(&id, &entry), leaf_hash(&id, &changed));
            prop_assert_ne!(leaf_hash(&id, &entry), leaf_hash(&format!("{ms}-{}", seq + 1), &entry));
            prop_assert_eq!(id_text(&id_bytes(&id).unwrap()), id);
        }

        #[test]
        fn id_bytes_sort_as_ids(a in (0u64..1 << 50, 0u64..1 << 20), b in (0u64..1 << 50, 0u64..1 << 20)) {
            let (x, y) = (format!("{}-{}", a.0, a.1), format!("{}-{}", b.0, b.1));
            prop_assert_eq!(id_bytes(&x).unwrap().cmp(&id_bytes(&y).unwrap()), a.cmp(&b));
        }
    }
}
