//! `clementine audit verify`: recompute the tree from the stream and hold it against what the
//! sequencer stored and signed.
//!
//! The stream and the leaves (their stream ids, stored beside the tree) are walked together in
//! id order. An entry of the stream that no leaf names was put there behind the sequencer's
//! back; a leaf whose entry is gone was deleted (or, past the stream's end, truncated); a leaf
//! whose entry hashes differently was changed; two entries with the same op and phase are a
//! replay. Leaves older than the stream's first entry were trimmed by retention, which is
//! allowed: their stored hashes stand in. Then every checkpoint's signature is checked, and its
//! root against the tree recomputed from the stream.

use std::collections::HashMap;

use tlog_tiles::{
    Hash, stored_hash_count, stored_hash_index, stored_hashes_for_record_hash, tree_hash,
};

use super::leaf::{id_bytes, id_text, leaf_hash};
use super::note::{Checkpoint, Verifier};
use super::{Known, TreeError};
use crate::store::{Store, StoredEntry};

/// Entries read per round trip.
const PAGE: usize = 10_000;

/// One thing that does not match.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// `deleted`, `changed`, `inserted`, `replayed`, `truncated` or `checkpoint`.
    pub kind: &'static str,
    /// The stream id of the entry it is about (for `checkpoint`, the checkpoint's size).
    pub entry: String,
    pub detail: String,
}

/// What verification found.
#[derive(Debug, Default)]
pub struct Report {
    /// Entries in the stream now, leaves in the tree, leaves whose entries retention trimmed.
    pub entries: u64,
    pub leaves: u64,
    pub trimmed: u64,
    /// Checkpoints whose signature and root were checked.
    pub checkpoints: usize,
    /// In stream order; the first is the first entry that does not match.
    pub problems: Vec<Finding>,
}

async fn whole_stream(store: &Store) -> Result<Vec<StoredEntry>, TreeError> {
    let mut all: Vec<StoredEntry> = Vec::new();
    loop {
        let after = all
            .last()
            .map_or("-".to_string(), |(id, _)| format!("({id}"));
        let page = store.events_range(&after, "+", PAGE, false).await?;
        let done = page.len() < PAGE;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// Recomputes the tree from the stream and checks it, and every checkpoint (and `outside`, a
/// checkpoint kept elsewhere), against it.
pub async fn verify(
    store: &Store,
    verifier: &Verifier,
    outside: Option<&str>,
) -> Result<Report, TreeError> {
    let (size, _) = store.tlog_state().await?;
    let ids = store.tlog_ids(0, size).await?;
    let stored = store.tlog_hash_range(0, stored_hash_count(size)).await?;
    let stored_leaf = |i: u64| {
        let at = stored_hash_index(0, i) as usize * 32;
        Hash(stored[at..at + 32].try_into().unwrap_or([0; 32]))
    };
    let stream = whole_stream(store).await?;
    let mut report = Report {
        entries: stream.len() as u64,
        leaves: size,
        ..Report::default()
    };
    let leaves = walk(&ids, &stream, stored_leaf, &mut report);
    replays(&stream, &mut report.problems);
    let mut notes = store.tlog_checkpoints().await?;
    notes.extend(outside.map(str::to_string));
    report.checkpoints = notes.len();
    check_checkpoints(&notes, &leaves, verifier, &mut report.problems)?;
    Ok(report)
}

/// Walks leaves and stream entries in id order; the leaf hashes as the stream has them (stored
/// ones where the entry was trimmed or is missing).
fn walk(
    ids: &[u8],
    stream: &[StoredEntry],
    stored_leaf: impl Fn(u64) -> Hash,
    report: &mut Report,
) -> Vec<Hash> {
    let stream_ids: Vec<[u8; 16]> = (stream.iter())
        .map(|(id, _)| id_bytes(id).unwrap_or([0xff; 16]))
        .collect();
    let first_in_stream = stream_ids.first().copied().unwrap_or([0xff; 16]);
    let (mut leaves, mut j) = (Vec::new(), 0);
    let finding = |kind, entry: String, detail: String| Finding {
        kind,
        entry,
        detail,
    };
    for (i, leaf_id) in (0u64..).zip(ids.chunks_exact(16)) {
        while j < stream.len() && stream_ids[j][..] < *leaf_id {
            let why = format!(
                "is not in the tree: it was added behind the sequencer's back, before leaf {i}"
            );
            report
                .problems
                .push(finding("inserted", stream[j].0.clone(), why));
            j += 1;
        }
        let entry = id_text(leaf_id);
        if j < stream.len() && stream_ids[j][..] == *leaf_id {
            let (id, fields) = &stream[j];
            let hash = leaf_hash(id, fields);
            if hash != stored_leaf(i) {
                let why = format!("leaf {i} was sequenced with other contents");
                report.problems.push(finding("changed", entry, why));
            }
            leaves.push(hash);
            j += 1;
            continue;
        }
        if *leaf_id < first_in_stream[..] && j == 0 {
            report.trimmed += 1;
        } else if j == stream.len() {
            let why = format!("leaf {i} and every later leaf are gone from the end of the stream");
            if !report.problems.iter().any(|p| p.kind == "truncated") {
                report.problems.push(finding("truncated", entry, why));
            }
        } else {
            report.problems.push(finding(
                "deleted",
                entry,
                format!("leaf {i} is gone from the stream"),
            ));
        }
        leaves.push(stored_leaf(i));
    }
    leaves
}

/// An op's intent or outcome written twice is a replay of an old entry.
fn replays(stream: &[StoredEntry], problems: &mut Vec<Finding>) {
    let mut seen: HashMap<(&str, &str), &str> = HashMap::new();
    for (id, fields) in stream {
        let (Some(op), Some(phase)) = (fields.get("op"), fields.get("phase")) else {
            continue;
        };
        if let Some(first) = seen.insert((op, phase), id) {
            problems.push(Finding {
                kind: "replayed",
                entry: id.clone(),
                detail: format!("repeats the {phase} of op {op} first written as entry {first}"),
            });
        }
    }
}

/// Every checkpoint's signature, and its root against the tree of `leaves`.
fn check_checkpoints(
    notes: &[String],
    leaves: &[Hash],
    verifier: &Verifier,
    problems: &mut Vec<Finding>,
) -> Result<(), TreeError> {
    let mut known = Known::default();
    for (n, leaf) in (0u64..).zip(leaves) {
        let stored = stored_hashes_for_record_hash(n, *leaf, &known)?;
        known.insert_from(stored_hash_index(0, n), &stored);
    }
    for note in notes {
        let bad = |detail: String, entry: String| Finding {
            kind: "checkpoint",
            entry,
            detail,
        };
        let checkpoint = match verifier.open(note) {
            Ok(c) => c,
            Err(why) => {
                problems.push(bad(
                    format!("a checkpoint does not verify: {why}"),
                    String::new(),
                ));
                continue;
            }
        };
        let Checkpoint { size, root } = checkpoint;
        if size > leaves.len() as u64 {
            let why = format!(
                "the checkpoint of size {size} covers more leaves than the tree holds ({})",
                leaves.len()
            );
            problems.push(bad(why, size.to_string()));
        } else if tree_hash(size, &known)? != root {
            let why = format!("the checkpoint of size {size} does not match the entries it covers");
            problems.push(bad(why, size.to_string()));
        }
    }
    Ok(())
}
