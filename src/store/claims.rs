//! Reservations: the cpus, memory, host ports and unique-image slots promised to containers,
//! claimed and released atomically by Lua scripts so that concurrent requests, or several
//! clementine processes on one Redis, never oversubscribe an engine or publish a port twice.
//!
//! A claim is keyed by the operation id that also labels its container (`clementine.op`), so a
//! destroy can release exactly what the create claimed, and a reconcile pass can rebuild claims
//! from the containers the engines hold.

use std::collections::HashMap;
use std::sync::LazyLock;

use redis::AsyncCommands;

use super::{Store, StoreResult, corrupt};
use crate::domain::QuotaResource;

/// What one container is promised on one engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub op: String,
    pub engine: String,
    pub owner: String,
    pub image: String,
    pub cpus_milli: u64,
    pub memory: u64,
    /// Host ports as `port/proto`.
    pub ports: Vec<String>,
    /// Whether the image must be alone on the engine (`unique`, `multi`).
    pub unique: bool,
}

/// Why a claim was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimRefused {
    Cpus,
    Memory,
    Image,
    Port(String),
    /// A claim with this op exists already.
    Exists,
    /// The owner's quota: the resource, what is in use and the limit (as stored).
    Quota {
        resource: QuotaResource,
        used: u64,
        limit: u64,
    },
}

/// `field used limit`, as the claim script answers a quota refusal.
fn quota_refusal(text: &str) -> ClaimRefused {
    let mut parts = text.split(' ');
    let resource = parts.next().and_then(QuotaResource::from_field);
    let mut number = || parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    let (used, limit) = (number(), number());
    ClaimRefused::Quota {
        resource: resource.unwrap_or(QuotaResource::Containers),
        used,
        limit,
    }
}

/// One engine's reservation keys as the pipeline reads them: reserved, ports, images, claims.
type ReservationRow = (HashMap<String, i64>, Vec<String>, HashMap<String, i64>, u64);

fn reservations_of((reserved, ports, images, claims): ReservationRow) -> Reservations {
    Reservations {
        cpus_milli: reserved.get("cpus_milli").copied().unwrap_or(0).max(0) as u64,
        memory: reserved.get("memory").copied().unwrap_or(0).max(0) as u64,
        ports,
        images: (images.into_iter())
            .filter(|(_, n)| *n > 0)
            .map(|(image, _)| image)
            .collect(),
        claims,
    }
}

/// An engine's promises, as read for a scheduling snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reservations {
    pub cpus_milli: u64,
    pub memory: u64,
    pub ports: Vec<String>,
    pub images: Vec<String>,
    pub claims: u64,
}

/// Check every limit, then take everything; or take nothing. The limits are the engine's room
/// (KEYS[1..4]) and the owner's quota (KEYS[6] its limits, KEYS[7] its use): one script, so two
/// claims racing on any number of replicas can never both fit where one does. With ARGV[11] =
/// '1' (reconcile recording a container that exists) no limit is checked, and an existing claim
/// is kept. Every number it will write with, given or stored, is checked to be an integer before
/// the first write, so that no Redis error can leave half a claim behind.
const CLAIM: &str = r"
local function int(v) return v ~= nil and v ~= false and string.match(v, '^%d+$') ~= nil end
for _, i in ipairs({1, 2, 3, 4, 10}) do
  if not int(ARGV[i]) then return 'bad ' .. i end
end
local stored_c = redis.call('HGET', KEYS[1], 'cpus_milli') or '0'
local stored_m = redis.call('HGET', KEYS[1], 'memory') or '0'
local stored_i = redis.call('HGET', KEYS[3], ARGV[5]) or '0'
if not (int(stored_c) and int(stored_m) and int(stored_i)) then return 'bad stored' end
local need = {cpus_milli = ARGV[3], memory = ARGV[4], containers = '1',
  published_ports = tostring(#ARGV - 11)}
local used, limit = {}, {}
for field, _ in pairs(need) do
  used[field] = redis.call('HGET', KEYS[7], field) or '0'
  limit[field] = redis.call('HGET', KEYS[6], field)
  if not int(used[field]) or (limit[field] and not int(limit[field])) then
    return 'bad quota'
  end
end
if redis.call('EXISTS', KEYS[5]) == 1 then return 'exists' end
if ARGV[11] ~= '1' then
  for _, field in ipairs({'containers', 'cpus_milli', 'memory', 'published_ports'}) do
    if limit[field] and tonumber(used[field]) + tonumber(need[field]) > tonumber(limit[field]) then
      return 'quota ' .. field .. ' ' .. used[field] .. ' ' .. limit[field]
    end
  end
  local rc = tonumber(stored_c)
  local rm = tonumber(stored_m)
  if rc + tonumber(ARGV[3]) > tonumber(ARGV[1]) then return 'cpus' end
  if rm + tonumber(ARGV[4]) > tonumber(ARGV[2]) then return 'memory' end
  if ARGV[6] == '1' and tonumber(redis.call('HGET', KEYS[3], ARGV[5]) or '0') > 0 then return 'image' end
  for i = 12, #ARGV do
    if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 1 then return 'port ' .. ARGV[i] end
  end
end
redis.call('HINCRBY', KEYS[1], 'cpus_milli', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'memory', ARGV[4])
redis.call('HINCRBY', KEYS[3], ARGV[5], 1)
for field, n in pairs(need) do redis.call('HINCRBY', KEYS[7], field, n) end
local ports = {}
for i = 12, #ARGV do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[7])
  table.insert(ports, ARGV[i])
end
redis.call('SADD', KEYS[4], ARGV[7])
redis.call('HSET', KEYS[5], 'engine', ARGV[8], 'owner', ARGV[9], 'image', ARGV[5],
  'cpus_milli', ARGV[3], 'memory', ARGV[4], 'ports', table.concat(ports, ' '),
  'unique', ARGV[6], 'created_ms', ARGV[10])
return 'ok'
";

/// Give back what a claim took, to the engine and to its owner's quota use (ARGV[2] is the
/// quota-use key without the owner: `user:<name>` or `team:<name>` completes it); nothing when
/// it is gone already (release is idempotent). The amounts are checked before the first write,
/// and given back as `0 - n` (Lua's `-n` of zero is `-0`, which HINCRBY refuses as not an
/// integer).
const RELEASE: &str = r"
local c = redis.call('HGETALL', KEYS[5])
if #c == 0 then return 0 end
local claim = {}
for i = 1, #c, 2 do claim[c[i]] = c[i + 1] end
local cpus, memory = tonumber(claim['cpus_milli']), tonumber(claim['memory'])
if not (cpus and memory) or cpus % 1 ~= 0 or memory % 1 ~= 0 then return -1 end
local owner = claim['owner'] or ''
if string.sub(owner, 1, 5) ~= 'team:' then owner = 'user:' .. owner end
local used = ARGV[2] .. owner
local nports = 0
for _ in string.gmatch(claim['ports'] or '', '%S+') do nports = nports + 1 end
redis.call('HINCRBY', used, 'cpus_milli', string.format('%d', 0 - cpus))
redis.call('HINCRBY', used, 'memory', string.format('%d', 0 - memory))
redis.call('HINCRBY', used, 'containers', -1)
redis.call('HINCRBY', used, 'published_ports', string.format('%d', 0 - nports))
redis.call('HINCRBY', KEYS[1], 'cpus_milli', string.format('%d', 0 - cpus))
redis.call('HINCRBY', KEYS[1], 'memory', string.format('%d', 0 - memory))
if redis.call('HINCRBY', KEYS[3], claim['image'], -1) <= 0 then redis.call('HDEL', KEYS[3], claim['image']) end
for port in string.gmatch(claim['ports'] or '', '%S+') do
  if redis.call('HGET', KEYS[2], port) == ARGV[1] then redis.call('HDEL', KEYS[2], port) end
end
redis.call('SREM', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[5])
return 1
";

static CLAIM_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(CLAIM));
static RELEASE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(RELEASE));

impl Store {
    fn claim_keys(&self, engine: &str, op: &str) -> [String; 5] {
        [
            self.keys.engine_reserved(engine),
            self.keys.engine_ports(engine),
            self.keys.engine_images(engine),
            self.keys.engine_claims(engine),
            self.keys.claim(op),
        ]
    }

    /// Takes a claim if the engine still has room (`capacity_*` are the engine's current
    /// capacity). Everything or nothing.
    pub async fn claim(
        &self,
        claim: &Claim,
        capacity_cpus_milli: u64,
        capacity_memory: u64,
        now_ms: u64,
    ) -> StoreResult<Result<(), ClaimRefused>> {
        let claimed =
            (self.run_claim(claim, capacity_cpus_milli, capacity_memory, now_ms, false)).await?;
        if claimed.is_ok() {
            self.reservation_cache.claimed(claim);
            // The last write before the engine work: once a replica has it (and the intent
            // before it), a failover cannot lose what a container that is about to exist needs.
            self.link.wait_for_replica().await;
        }
        Ok(claimed)
    }

    /// Records the claim of a container that exists (reconcile), whatever the limits say;
    /// `false` when the claim was there already.
    pub async fn record_claim(&self, claim: &Claim, created_ms: u64) -> StoreResult<bool> {
        Ok(self.run_claim(claim, 0, 0, created_ms, true).await?.is_ok())
    }

    async fn run_claim(
        &self,
        claim: &Claim,
        capacity_cpus_milli: u64,
        capacity_memory: u64,
        now_ms: u64,
        force: bool,
    ) -> StoreResult<Result<(), ClaimRefused>> {
        let mut script = CLAIM_SCRIPT.prepare_invoke();
        for key in self.claim_keys(&claim.engine, &claim.op) {
            script.key(key);
        }
        script
            .key(self.keys.quota(&claim.owner))
            .key(self.keys.quota_used(&claim.owner));
        script
            .arg(capacity_cpus_milli)
            .arg(capacity_memory)
            .arg(claim.cpus_milli)
            .arg(claim.memory)
            .arg(&claim.image)
            .arg(if claim.unique { "1" } else { "0" })
            .arg(&claim.op)
            .arg(&claim.engine)
            .arg(&claim.owner)
            .arg(now_ms)
            .arg(if force { "1" } else { "0" });
        for port in &claim.ports {
            script.arg(port);
        }
        let answer: String = script.invoke_async(&mut self.conn()).await?;
        if answer.starts_with("bad") {
            let why = format!("the claim script found a number it cannot use ({answer})");
            return Err(corrupt(&self.keys.claim(&claim.op), why));
        }
        if let Some(quota) = answer.strip_prefix("quota ") {
            return Ok(Err(quota_refusal(quota)));
        }
        Ok(match answer.as_str() {
            "ok" => Ok(()),
            "cpus" => Err(ClaimRefused::Cpus),
            "memory" => Err(ClaimRefused::Memory),
            "image" => Err(ClaimRefused::Image),
            "exists" => Err(ClaimRefused::Exists),
            other => Err(ClaimRefused::Port(
                other.trim_start_matches("port ").to_string(),
            )),
        })
    }

    /// Releases a claim; `false` when there was none.
    pub async fn release(&self, engine: &str, op: &str) -> StoreResult<bool> {
        let mut script = RELEASE_SCRIPT.prepare_invoke();
        for key in self.claim_keys(engine, op) {
            script.key(key);
        }
        let released: i64 = (script.arg(op).arg(self.keys.quota_used_prefix()))
            .invoke_async(&mut self.conn())
            .await?;
        if released < 0 {
            return Err(corrupt(
                &self.keys.claim(op),
                "its amounts are not integers",
            ));
        }
        Ok(released == 1)
    }

    /// Every engine's promises, in the order given (one round trip).
    pub async fn reservations(&self, engines: &[String]) -> StoreResult<Vec<Reservations>> {
        if engines.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<ReservationRow> = (self.reservations_pipe(engines))
            .query_async(&mut self.conn())
            .await?;
        Ok(rows.into_iter().map(reservations_of).collect())
    }

    /// The engines' version and these engines' reservations, in one round trip.
    pub(super) async fn reservations_at_version(
        &self,
        engines: &[String],
    ) -> StoreResult<(u64, Vec<Reservations>)> {
        let mut pipe = self.reservations_pipe(engines);
        pipe.get(self.keys.engines_version());
        let mut rows: Vec<redis::Value> = pipe.query_async(&mut self.conn()).await?;
        let version = rows.pop().unwrap_or(redis::Value::Nil);
        let version: Option<u64> =
            redis::from_redis_value(version).map_err(redis::RedisError::from)?;
        let rows: Vec<ReservationRow> =
            redis::from_redis_value(redis::Value::Array(rows)).map_err(redis::RedisError::from)?;
        let reservations = rows.into_iter().map(reservations_of).collect();
        Ok((version.unwrap_or(0), reservations))
    }

    fn reservations_pipe(&self, engines: &[String]) -> redis::Pipeline {
        let mut pipe = redis::pipe();
        for id in engines {
            pipe.cmd("HGETALL")
                .arg(self.keys.engine_reserved(id))
                .cmd("HKEYS")
                .arg(self.keys.engine_ports(id))
                .cmd("HGETALL")
                .arg(self.keys.engine_images(id))
                .cmd("SCARD")
                .arg(self.keys.engine_claims(id));
        }
        pipe
    }

    /// The op ids of an engine's claims with their creation times.
    pub async fn claims_of(&self, engine: &str) -> StoreResult<Vec<(String, u64)>> {
        let ops: Vec<String> = self
            .conn()
            .smembers(self.keys.engine_claims(engine))
            .await?;
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for op in &ops {
            pipe.hget(self.keys.claim(op), "created_ms");
        }
        let created: Vec<Option<u64>> = pipe.query_async(&mut self.conn()).await?;
        Ok(ops
            .into_iter()
            .zip(created)
            .map(|(op, c)| (op, c.unwrap_or(0)))
            .collect())
    }
}
