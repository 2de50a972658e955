//! The audit stream in Redis: appends (each in one transaction with its bookkeeping), range
//! reads, and a blocking reader on a connection of its own.
//!
//! An intent is appended together with `events:open[op] = id`; its outcome together with the
//! removal of that mark and, for containers, the container index change, each as one Lua script.
//! So the open set always names exactly the intents without outcome, and the index always
//! matches the outcomes.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use redis::AsyncCommands;
use redis::streams::{StreamRangeReply, StreamReadOptions, StreamReadReply};

use super::{Store, StoreResult};

/// Fields of one stream entry, in order.
pub type Fields = Vec<(&'static str, String)>;

/// An entry read back: its id and fields.
pub type StoredEntry = (String, HashMap<String, String>);

/// One container index entry: where the container of an op is, and whose.
pub fn index_entry(container: &str, engine: &str, owner: &str, name: &str) -> String {
    serde_json::json!({"container": container, "engine": engine, "owner": owner, "name": name})
        .to_string()
}

impl IndexChange {
    /// The container of `op` now exists.
    pub fn added(op: &str, container: &str, engine: &str, owner: &str, name: &str) -> Self {
        IndexChange::Add {
            op: op.to_string(),
            json: index_entry(container, engine, owner, name),
        }
    }
}

/// How an outcome changes the container index.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum IndexChange {
    #[default]
    None,
    /// A container now exists for this op (JSON `{container, engine, owner, name}`).
    Add { op: String, json: String },
    /// The container of this op is gone.
    Remove { op: String },
}

fn entries(reply: StreamRangeReply) -> Vec<StoredEntry> {
    reply
        .ids
        .into_iter()
        .map(|e| {
            let fields = e
                .map
                .into_iter()
                .filter_map(|(k, v)| redis::from_redis_value::<String>(v).ok().map(|v| (k, v)))
                .collect();
            (e.id, fields)
        })
        .collect()
}

/// XADD (trimmed when a retention is set) and mark the op open, atomically.
const APPEND_INTENT: &str = r"
local id
if ARGV[2] ~= '' then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
else
  id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
end
redis.call('HSET', KEYS[2], ARGV[1], id)
return id
";

/// XADD, close the op and apply the index change, atomically.
const APPEND_OUTCOME: &str = r"
local id
if ARGV[2] ~= '' then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 6))
else
  id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 6))
end
redis.call('HDEL', KEYS[2], ARGV[1])
if ARGV[3] == 'add' then redis.call('HSET', KEYS[3], ARGV[4], ARGV[5]) end
if ARGV[3] == 'remove' then redis.call('HDEL', KEYS[3], ARGV[4]) end
return id
";

static INTENT_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(APPEND_INTENT));
static OUTCOME_SCRIPT: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(APPEND_OUTCOME));

fn push_fields(invocation: &mut redis::ScriptInvocation<'_>, fields: &Fields) {
    for (k, v) in fields {
        invocation.arg(*k).arg(v);
    }
}

impl Store {
    /// Appends an intent and marks its op open, in one step; the entry's id.
    pub async fn append_intent(
        &self,
        op: &str,
        fields: &Fields,
        max_len: Option<u64>,
    ) -> StoreResult<String> {
        let mut invocation = INTENT_SCRIPT.prepare_invoke();
        invocation
            .key(self.keys.events())
            .key(self.keys.events_open())
            .arg(op)
            .arg(max_len.map(|n| n.to_string()).unwrap_or_default());
        push_fields(&mut invocation, fields);
        Ok(invocation.invoke_async(&mut self.conn()).await?)
    }

    /// Appends an outcome, closes its op and applies the index change, in one step.
    pub async fn append_outcome(
        &self,
        op: &str,
        fields: &Fields,
        index: &IndexChange,
        max_len: Option<u64>,
    ) -> StoreResult<String> {
        let (action, index_op, json) = match index {
            IndexChange::None => ("", "", ""),
            IndexChange::Add { op, json } => ("add", op.as_str(), json.as_str()),
            IndexChange::Remove { op } => ("remove", op.as_str(), ""),
        };
        let mut invocation = OUTCOME_SCRIPT.prepare_invoke();
        invocation
            .key(self.keys.events())
            .key(self.keys.events_open())
            .key(self.keys.container_index())
            .arg(op)
            .arg(max_len.map(|n| n.to_string()).unwrap_or_default())
            .arg(action)
            .arg(index_op)
            .arg(json);
        push_fields(&mut invocation, fields);
        Ok(invocation.invoke_async(&mut self.conn()).await?)
    }

    /// Entries between two ids (inclusive `-`/`+` or exclusive `(id`), oldest first, or newest
    /// first with `reverse` (then `start` is the high end).
    pub async fn events_range(
        &self,
        start: &str,
        end: &str,
        count: usize,
        reverse: bool,
    ) -> StoreResult<Vec<StoredEntry>> {
        let key = self.keys.events();
        let reply: StreamRangeReply = if reverse {
            self.conn().xrevrange_count(key, start, end, count).await?
        } else {
            self.conn().xrange_count(key, start, end, count).await?
        };
        Ok(entries(reply))
    }

    /// The id of the newest entry, if any.
    pub async fn last_event_id(&self) -> StoreResult<Option<String>> {
        Ok(self
            .events_range("+", "-", 1, true)
            .await?
            .pop()
            .map(|(id, _)| id))
    }

    /// Open intents: op -> stream id.
    pub async fn open_intents(&self) -> StoreResult<HashMap<String, String>> {
        Ok(self.conn().hgetall(self.keys.events_open()).await?)
    }

    /// The container index: op -> JSON.
    pub async fn container_index(&self) -> StoreResult<HashMap<String, String>> {
        Ok(self.conn().hgetall(self.keys.container_index()).await?)
    }

    /// Replaces the container index (replay rebuilds it from the stream).
    pub async fn replace_container_index(
        &self,
        index: &HashMap<String, String>,
    ) -> StoreResult<()> {
        let mut pipe = redis::pipe();
        pipe.atomic().del(self.keys.container_index()).ignore();
        for (op, json) in index {
            pipe.hset(self.keys.container_index(), op, json).ignore();
        }
        let _: () = pipe.query_async(&mut self.conn()).await?;
        Ok(())
    }

    /// Marks an op open again (replay restoring the open set from the stream).
    pub async fn mark_open(&self, op: &str, id: &str) -> StoreResult<()> {
        Ok(self.conn().hset(self.keys.events_open(), op, id).await?)
    }

    /// A reader with a connection of its own, whose blocking reads do not time out.
    pub async fn blocking_reader(&self) -> StoreResult<BlockingReader> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(None);
        let conn = (self.link.client())
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        Ok(BlockingReader {
            conn,
            key: self.keys.events(),
        })
    }
}

/// `XREAD BLOCK` on a dedicated connection: many waiting clients share one of these.
pub struct BlockingReader {
    conn: redis::aio::MultiplexedConnection,
    key: String,
}

impl BlockingReader {
    /// Entries after `last_id`, waiting up to `block` for the first one.
    pub async fn read_after(
        &mut self,
        last_id: &str,
        block: Duration,
        count: usize,
    ) -> StoreResult<Vec<StoredEntry>> {
        let options = StreamReadOptions::default()
            .block(block.as_millis() as usize)
            .count(count);
        let reply: Option<StreamReadReply> = self
            .conn
            .xread_options(&[&self.key], &[last_id], &options)
            .await?;
        Ok(reply
            .map(|r| {
                r.keys
                    .into_iter()
                    .flat_map(|k| entries(StreamRangeReply { ids: k.ids }))
                    .collect()
            })
            .unwrap_or_default())
    }
}
