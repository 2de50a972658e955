//! The audit log's Merkle tree in Redis (`events::tree` computes it; this stores it).
//!
//! - `tlog:state`: a hash, `size` (leaves sequenced) and `last` (stream id of the last leaf);
//! - `tlog:hashes:{c}`: the tree's stored hashes (tlog's post-order numbering), 32 bytes each,
//!   [`HASHES_PER_CHUNK`] to a string, so that a proof is a handful of `GETRANGE`s;
//! - `tlog:ids:{c}`: each leaf's stream id, 16 bytes each, [`IDS_PER_CHUNK`] to a string, and
//!   `tlog:firsts` the first id of every ids chunk, to find a leaf by id in two reads;
//! - `tlog:checkpoints`: every signed checkpoint, oldest first;
//! - `tlog:lease`: which process sequences (a token with an expiry).
//!
//! Hashes of leaves whose entries the stream's retention trimmed stay here: old checkpoints
//! still prove against the entries that remain.

use redis::AsyncCommands;

use super::{Store, StoreResult};

/// Stored hashes per string (256 KiB).
pub const HASHES_PER_CHUNK: u64 = 8192;
/// Leaf ids per string (64 KiB).
pub const IDS_PER_CHUNK: u64 = 4096;

/// Writes bytes that start at byte `offset` of a sequence split into strings of `chunk` bytes.
fn split_writes(
    offset: u64,
    bytes: &[u8],
    chunk: u64,
    key: impl Fn(u64) -> String,
) -> Vec<(String, u64, &[u8])> {
    let mut writes = Vec::new();
    let (mut at, mut rest) = (offset, bytes);
    while !rest.is_empty() {
        let within = at % chunk;
        let take = ((chunk - within) as usize).min(rest.len());
        writes.push((key(at / chunk), within, &rest[..take]));
        at += take as u64;
        rest = &rest[take..];
    }
    writes
}

/// Grows the tree if `ARGV[1]` still holds the lease: sets the state and writes every range.
const EXTEND: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], 'size', ARGV[2], 'last', ARGV[3])
for i = 3, #KEYS do
  redis.call('SETRANGE', KEYS[i], ARGV[i + 1], ARGV[i + 2 + (#KEYS - 3)])
end
return 1
";

/// Takes the lease, or keeps it when `ARGV[1]` holds it.
const LEASE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// Appends a checkpoint if `ARGV[1]` still holds the lease.
const CHECKPOINT: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
return 1
";

/// What one round of sequencing writes.
pub struct Growth<'a> {
    /// Leaves in the tree afterwards, and the stream id of the last.
    pub size: u64,
    pub last: &'a str,
    /// The new stored hashes (32 bytes each), from stored hash index `first_hash`.
    pub first_hash: u64,
    pub hashes: &'a [u8],
    /// The new leaves' ids (16 bytes each), from leaf `first_leaf`.
    pub first_leaf: u64,
    pub ids: &'a [u8],
}

impl Store {
    /// Leaves sequenced so far and the stream id of the last (`None` before the first).
    pub async fn tlog_state(&self) -> StoreResult<(u64, Option<String>)> {
        let (size, last): (Option<u64>, Option<String>) = redis::cmd("HMGET")
            .arg(self.keys.tlog_state())
            .arg("size")
            .arg("last")
            .query_async(&mut self.conn())
            .await?;
        Ok((size.unwrap_or(0), last))
    }

    /// Takes (or keeps) the sequencer's lease for `ttl_ms`; whether this process holds it.
    pub async fn tlog_lease(&self, token: &str, ttl_ms: u64) -> StoreResult<bool> {
        let held: i64 = redis::Script::new(LEASE)
            .key(self.keys.tlog_lease())
            .arg(token)
            .arg(ttl_ms)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(held == 1)
    }

    /// Writes one round of growth, atomically and only while `token` holds the lease.
    pub async fn tlog_extend(&self, token: &str, growth: &Growth<'_>) -> StoreResult<bool> {
        let keys = &self.keys;
        let mut writes = split_writes(
            growth.first_hash * 32,
            growth.hashes,
            HASHES_PER_CHUNK * 32,
            |c| keys.tlog_hashes(c),
        );
        writes.extend(split_writes(
            growth.first_leaf * 16,
            growth.ids,
            IDS_PER_CHUNK * 16,
            |c| keys.tlog_ids(c),
        ));
        // A leaf that starts an ids chunk adds its id to the firsts.
        let starts = (growth.first_leaf..growth.first_leaf + growth.ids.len() as u64 / 16)
            .filter(|leaf| leaf % IDS_PER_CHUNK == 0);
        let mut firsts = Vec::new();
        for leaf in starts {
            let at = ((leaf - growth.first_leaf) * 16) as usize;
            firsts.push((
                keys.tlog_firsts(),
                leaf / IDS_PER_CHUNK * 16,
                &growth.ids[at..at + 16],
            ));
        }
        writes.extend(firsts);
        let extend = redis::Script::new(EXTEND);
        let mut script = extend.prepare_invoke();
        script.key(keys.tlog_lease()).key(keys.tlog_state());
        for (key, _, _) in &writes {
            script.key(key);
        }
        script.arg(token).arg(growth.size).arg(growth.last);
        for (_, offset, _) in &writes {
            script.arg(*offset);
        }
        for (_, _, bytes) in &writes {
            script.arg(*bytes);
        }
        let done: i64 = script.invoke_async(&mut self.conn()).await?;
        Ok(done == 1)
    }

    /// Stored hashes by index (32 bytes each, in the order asked; zeros where none is stored).
    pub async fn tlog_hashes(&self, indexes: &[u64]) -> StoreResult<Vec<[u8; 32]>> {
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for i in indexes {
            let at = (i % HASHES_PER_CHUNK) * 32;
            pipe.cmd("GETRANGE")
                .arg(self.keys.tlog_hashes(i / HASHES_PER_CHUNK))
                .arg(at)
                .arg(at + 31);
        }
        let found: Vec<Vec<u8>> = pipe.query_async(&mut self.conn()).await?;
        Ok(found
            .into_iter()
            .map(|b| b.try_into().unwrap_or([0u8; 32]))
            .collect())
    }

    /// Every stored hash from index `from` up to (not including) `to`, as bytes.
    pub async fn tlog_hash_range(&self, from: u64, to: u64) -> StoreResult<Vec<u8>> {
        self.chunked_range(from * 32, to * 32, HASHES_PER_CHUNK * 32, |c| {
            self.keys.tlog_hashes(c)
        })
        .await
    }

    /// The stream ids of leaves `from..to`, 16 bytes each.
    pub async fn tlog_ids(&self, from: u64, to: u64) -> StoreResult<Vec<u8>> {
        self.chunked_range(from * 16, to * 16, IDS_PER_CHUNK * 16, |c| {
            self.keys.tlog_ids(c)
        })
        .await
    }

    async fn chunked_range(
        &self,
        from: u64,
        to: u64,
        chunk: u64,
        key: impl Fn(u64) -> String,
    ) -> StoreResult<Vec<u8>> {
        if to <= from {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        let mut at = from;
        while at < to {
            let end = (at / chunk + 1) * chunk;
            let stop = end.min(to);
            pipe.cmd("GETRANGE")
                .arg(key(at / chunk))
                .arg(at % chunk)
                .arg((stop - 1) % chunk);
            at = stop;
        }
        let parts: Vec<Vec<u8>> = pipe.query_async(&mut self.conn()).await?;
        Ok(parts.concat())
    }

    /// The leaf whose stream id is `id` (16 bytes), among the first `size`: two reads.
    pub async fn tlog_leaf_of(&self, id: &[u8; 16], size: u64) -> StoreResult<Option<u64>> {
        let firsts: Vec<u8> = self.conn().get(self.keys.tlog_firsts()).await?;
        let chunks: Vec<&[u8]> = firsts.chunks_exact(16).collect();
        let chunk = chunks.partition_point(|first| *first <= &id[..]);
        let Some(chunk) = chunk.checked_sub(1) else {
            return Ok(None);
        };
        let from = chunk as u64 * IDS_PER_CHUNK;
        let ids = self.tlog_ids(from, size.min(from + IDS_PER_CHUNK)).await?;
        let ids: Vec<&[u8]> = ids.chunks_exact(16).collect();
        Ok(ids.binary_search(&&id[..]).ok().map(|at| from + at as u64))
    }

    /// Appends a signed checkpoint while `token` holds the lease.
    pub async fn tlog_add_checkpoint(&self, token: &str, note: &str) -> StoreResult<bool> {
        let done: i64 = redis::Script::new(CHECKPOINT)
            .key(self.keys.tlog_lease())
            .key(self.keys.tlog_checkpoints())
            .arg(token)
            .arg(note)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(done == 1)
    }

    /// Every checkpoint, oldest first.
    pub async fn tlog_checkpoints(&self) -> StoreResult<Vec<String>> {
        Ok(self
            .conn()
            .lrange(self.keys.tlog_checkpoints(), 0, -1)
            .await?)
    }

    /// The latest checkpoint, if any.
    pub async fn tlog_latest_checkpoint(&self) -> StoreResult<Option<String>> {
        Ok(self.conn().lindex(self.keys.tlog_checkpoints(), -1).await?)
    }

    /// The signing key generated on first start when none is configured (else this stores
    /// `generated` and returns it): every replica signs with the same one.
    pub async fn tlog_generated_key(&self, generated: &str) -> StoreResult<String> {
        let key = self.keys.tlog_signing_key();
        let _: bool = self.conn().set_nx(&key, generated).await?;
        Ok(self.conn().get(&key).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_split_at_chunk_edges() {
        let bytes = [1u8; 10];
        let writes = split_writes(6, &bytes, 8, |c| c.to_string());
        let shape: Vec<(String, u64, usize)> = (writes.into_iter())
            .map(|(k, o, b)| (k, o, b.len()))
            .collect();
        assert_eq!(shape, [("0".into(), 6, 2), ("1".into(), 0, 8)]);
    }
}
