//! The claim with quota checks against the claim as it was before quotas, paired in one
//! sitting against the test bed's Redis (see BENCHMARKS.md); run with `scripts/bench.sh claims`.
//!
//! Each round times one claim and its release through today's store (quota limits set for the
//! owner, so every check runs), then the same with the pre-quota scripts, kept here verbatim as
//! the baseline; rounds alternate, and the figure is the median of the paired differences with
//! a bootstrap interval.

#[path = "support/paired.rs"]
#[allow(dead_code)]
mod paired;

use std::time::Instant;

use clementine::config::{Secret, StoreSettings};
use clementine::store::{Claim, Store};
use paired::{median, quantile};

/// The claim script before quotas (commit cce28c6), for the baseline.
const CLAIM_BEFORE: &str = r"
local function int(v) return v ~= nil and v ~= false and string.match(v, '^%d+$') ~= nil end
for _, i in ipairs({1, 2, 3, 4, 10}) do
  if not int(ARGV[i]) then return 'bad ' .. i end
end
local stored_c = redis.call('HGET', KEYS[1], 'cpus_milli') or '0'
local stored_m = redis.call('HGET', KEYS[1], 'memory') or '0'
local stored_i = redis.call('HGET', KEYS[3], ARGV[5]) or '0'
if not (int(stored_c) and int(stored_m) and int(stored_i)) then return 'bad stored' end
if redis.call('EXISTS', KEYS[5]) == 1 then return 'exists' end
if ARGV[11] ~= '1' then
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

/// The release script before quotas.
const RELEASE_BEFORE: &str = r"
local c = redis.call('HGETALL', KEYS[5])
if #c == 0 then return 0 end
local claim = {}
for i = 1, #c, 2 do claim[c[i]] = c[i + 1] end
local cpus, memory = tonumber(claim['cpus_milli']), tonumber(claim['memory'])
if not (cpus and memory) or cpus % 1 ~= 0 or memory % 1 ~= 0 then return -1 end
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

fn claim(op: &str) -> Claim {
    Claim {
        op: op.into(),
        engine: "e1".into(),
        owner: "ann".into(),
        image: "busybox:latest".into(),
        cpus_milli: 100,
        memory: 16,
        ports: vec!["8080/tcp".into()],
        unique: false,
    }
}

/// One claim and release with the pre-quota scripts, in milliseconds.
async fn before(redis: &mut redis::aio::MultiplexedConnection, p: &str, op: &str) -> f64 {
    let (claim_s, release_s) = (
        redis::Script::new(CLAIM_BEFORE),
        redis::Script::new(RELEASE_BEFORE),
    );
    let keys = [
        format!("{p}engine:e1:reserved"),
        format!("{p}engine:e1:ports"),
        format!("{p}engine:e1:images"),
        format!("{p}engine:e1:claims"),
        format!("{p}claim:{op}"),
    ];
    let started = Instant::now();
    let mut c = claim_s.prepare_invoke();
    for k in &keys {
        c.key(k);
    }
    let args: [&str; 12] = [
        "2000000",
        "2000000",
        "100",
        "16",
        "busybox:latest",
        "0",
        op,
        "e1",
        "ann",
        "1",
        "0",
        "8080/tcp",
    ];
    for a in args {
        c.arg(a);
    }
    let ok: String = c.invoke_async(redis).await.unwrap();
    assert_eq!(ok, "ok");
    let mut r = release_s.prepare_invoke();
    for k in &keys {
        r.key(k);
    }
    let _: i64 = r.arg(op).invoke_async(redis).await.unwrap();
    started.elapsed().as_secs_f64() * 1000.0
}

/// One claim and release through today's store, with the owner's quota checked.
async fn now(store: &Store, op: &str) -> f64 {
    let started = Instant::now();
    let c = claim(op);
    store
        .claim(&c, 2_000_000, 2_000_000, 1)
        .await
        .unwrap()
        .unwrap();
    store.release("e1", op).await.unwrap();
    started.elapsed().as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` and `cargo bench -- --list` should not run this.
    }
    let url = std::env::var("CLEMENTINE_REDIS_URL").unwrap_or("redis://127.0.0.1:6390/".into());
    let prefix = format!("bench:claims:{}:", uuid::Uuid::new_v4().simple());
    let settings = StoreSettings {
        redis_url: Secret::new(url.clone()),
        redis_sentinels: Vec::new(),
        redis_master: String::new(),
        key_prefix: prefix.clone(),
        redis_access: Default::default(),
    };
    let store = Store::connect(&settings).await.unwrap();
    let mut redis = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let limits = [
        ("cpus_milli", 1_000_000),
        ("memory", 1_000_000),
        ("containers", 1000),
    ];
    store.set_quota("ann", &limits).await.unwrap();
    let rounds = 2000;
    let (mut a, mut b, mut diffs) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..rounds + 100 {
        let (x, y) = if i % 2 == 0 {
            let x = before(&mut redis, &prefix, &format!("b{i}")).await;
            (x, now(&store, &format!("n{i}")).await)
        } else {
            let y = now(&store, &format!("n{i}")).await;
            (before(&mut redis, &prefix, &format!("b{i}")).await, y)
        };
        if i >= 100 {
            a.push(x);
            b.push(y);
            diffs.push(y - x);
        }
    }
    let (lo, hi) = (quantile(&diffs, 0.025), quantile(&diffs, 0.975));
    println!(
        "claim + release, {rounds} paired rounds: before quotas median {:.3} ms, with quotas {:.3} ms; \
         paired difference median {:+.3} ms (2.5-97.5 % of differences: {lo:+.3} .. {hi:+.3})",
        median(&a),
        median(&b),
        median(&diffs)
    );
}
