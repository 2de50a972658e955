//! Engines and the health the monitor records for them.

use std::sync::Arc;

use redis::AsyncCommands;

use super::{Reservations, Store, StoreResult, corrupt, reservation_cache};
use crate::domain::{Engine, EngineHealth};

/// Stores an engine only when its id is new.
const ADD_ENGINE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('INCR', KEYS[4])
return 1
";

/// Records an engine's health while the engine exists; a change of its state (not of its
/// times) bumps the engines' version.
const SET_HEALTH: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local old = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[2], ARGV[1])
local ok, was = pcall(cjson.decode, old or '')
if not ok or type(was) ~= 'table' or was['state'] ~= ARGV[2] then redis.call('INCR', KEYS[3]) end
return 1
";

impl Store {
    /// Adds an engine with its first health record; `false` when the id is taken.
    pub async fn add_engine(&self, engine: &Engine) -> StoreResult<bool> {
        let added: i64 = redis::Script::new(ADD_ENGINE)
            .key(self.keys.engine(&engine.id))
            .key(self.keys.engines())
            .key(self.keys.engine_health(&engine.id))
            .key(self.keys.engines_version())
            .arg(&engine.id)
            .arg(to_json(engine))
            .arg(to_json(&engine.health))
            .invoke_async(&mut self.conn())
            .await?;
        self.engine_cache.changed();
        Ok(added == 1)
    }

    /// Replaces an existing engine's record (not its health); `false` when it does not exist.
    pub async fn update_engine(&self, engine: &Engine) -> StoreResult<bool> {
        let (done,): (Option<String>,) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(self.keys.engine(&engine.id))
            .arg(to_json(engine))
            .arg("XX")
            .incr(self.keys.engines_version(), 1)
            .ignore()
            .query_async(&mut self.conn())
            .await?;
        self.engine_cache.changed();
        Ok(done.is_some())
    }

    pub async fn get_engine(&self, id: &str) -> StoreResult<Option<Engine>> {
        let key = self.keys.engine(id);
        let (engine, health): (Option<String>, Option<String>) = self
            .conn()
            .mget(&[key.clone(), self.keys.engine_health(id)])
            .await?;
        engine
            .map(|json| parse_engine(&key, &json, health.as_deref()))
            .transpose()
    }

    /// Every engine, sorted by id, from this process's copy (see [`super::engine_cache`]).
    pub async fn cached_engines(&self) -> StoreResult<Arc<Vec<Engine>>> {
        self.engine_cache.all(self).await
    }

    /// The engines `keep` keeps and their reservations, as placement reads them. Unless
    /// `fresh`, both copies of this process serve while they are young (no round trip; see
    /// `reservation_cache`). One placement at a time reads them again when they are old; the
    /// others meanwhile use the copies a little older (at 1,000 engines a read is 4,000
    /// commands: 64 runs reading at once held Redis, and every run's claim and audit behind
    /// it, for hundreds of milliseconds).
    pub async fn engines_and_reservations(
        &self,
        keep: impl Fn(&Engine) -> bool,
        fresh: bool,
    ) -> StoreResult<Placeable> {
        if fresh {
            return self.read_reservations(&keep).await;
        }
        if let Some(young) = self.copies(&keep, reservation_cache::FRESH_FOR) {
            return Ok(young);
        }
        if let Some(_one_read) = self.reservation_cache.try_one_read() {
            return self.read_reservations(&keep).await;
        }
        if let Some(older) = self.copies(&keep, reservation_cache::WHILE_READING) {
            return Ok(older);
        }
        let _one_read = self.reservation_cache.one_read().await;
        match self.copies(&keep, reservation_cache::FRESH_FOR) {
            Some(young) => Ok(young),
            None => self.read_reservations(&keep).await,
        }
    }

    /// Both copies, when the reservations were read within `age` and hold every engine
    /// `keep` keeps. Within [`reservation_cache::FRESH_FOR`] the engine records must be
    /// young too; a longer `age` is only asked for while another placement reads both again.
    fn copies(
        &self,
        keep: &impl Fn(&Engine) -> bool,
        age: std::time::Duration,
    ) -> Option<Placeable> {
        let held = self.engine_cache.held()?;
        if age <= reservation_cache::FRESH_FOR && !held.is_fresh() {
            return None;
        }
        let engines = kept(held.engines, keep);
        let reservations = self.reservation_cache.get(&engines, age)?;
        Some((engines, reservations))
    }

    /// The reservations from Redis: while this process's copy of the engine records still
    /// matches Redis's engine version, in one round trip that checks the version too.
    async fn read_reservations(&self, keep: &impl Fn(&Engine) -> bool) -> StoreResult<Placeable> {
        if let Some(held) = self.engine_cache.held() {
            let engines = kept(held.engines.clone(), keep);
            let (version, reservations) = self.reservations_at_version(&ids_of(&engines)).await?;
            let reservations = shared(reservations);
            self.reservation_cache.put(&engines, &reservations);
            if self.engine_cache.confirm(&held, version) {
                return Ok((engines, reservations));
            }
        }
        let engines = kept(self.engine_cache.all(self).await?, keep);
        let reservations = shared(self.reservations(&ids_of(&engines)).await?);
        self.reservation_cache.put(&engines, &reservations);
        Ok((engines, reservations))
    }

    /// The engines' version now: bumped by every change of a record or a health state.
    pub async fn engines_version(&self) -> StoreResult<u64> {
        let version: Option<u64> = self.conn().get(self.keys.engines_version()).await?;
        Ok(version.unwrap_or(0))
    }

    /// Every engine, sorted by id, and the engines' version read before them (a change made
    /// after the version was read shows as a newer version next time).
    pub async fn list_engines_versioned(&self) -> StoreResult<(u64, Vec<Engine>)> {
        let (version, mut ids): (Option<u64>, Vec<String>) = redis::pipe()
            .get(self.keys.engines_version())
            .smembers(self.keys.engines())
            .query_async(&mut self.conn())
            .await?;
        ids.sort();
        Ok((version.unwrap_or(0), self.engines_by_id(&ids).await?))
    }

    /// Every engine, sorted by id.
    pub async fn list_engines(&self) -> StoreResult<Vec<Engine>> {
        Ok(self.list_engines_versioned().await?.1)
    }

    /// The engines with these ids that exist, in the given order.
    pub async fn engines_by_id(&self, ids: &[String]) -> StoreResult<Vec<Engine>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids
            .iter()
            .flat_map(|id| [self.keys.engine(id), self.keys.engine_health(id)])
            .collect();
        let values: Vec<Option<String>> = self.conn().mget(&keys).await?;
        let mut engines = Vec::with_capacity(ids.len());
        for (i, pair) in values.chunks(2).enumerate() {
            if let Some(json) = &pair[0] {
                engines.push(parse_engine(&keys[2 * i], json, pair[1].as_deref())?);
            }
        }
        Ok(engines)
    }

    /// Deletes an engine, its health and every grant of it; `false` when it did not exist.
    /// Its reservations go too: clementine no longer accounts for what runs there.
    pub async fn delete_engine(&self, id: &str) -> StoreResult<bool> {
        let users: Vec<String> = self.conn().smembers(self.keys.users()).await?;
        let claims: Vec<String> = self.conn().smembers(self.keys.engine_claims(id)).await?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .del(self.keys.engine(id))
            .del(self.keys.engine_health(id))
            .ignore()
            .srem(self.keys.engines(), id)
            .ignore()
            .incr(self.keys.engines_version(), 1)
            .ignore()
            .del(&[
                self.keys.engine_reserved(id),
                self.keys.engine_ports(id),
                self.keys.engine_images(id),
                self.keys.engine_claims(id),
            ])
            .ignore();
        for op in &claims {
            pipe.del(self.keys.claim(op)).ignore();
        }
        for user in &users {
            pipe.srem(self.keys.user_engines(user), id).ignore();
        }
        let (deleted,): (i64,) = pipe.query_async(&mut self.conn()).await?;
        self.engine_cache.changed();
        Ok(deleted == 1)
    }

    /// Records what the monitor saw, only while the engine exists (a concurrent delete wins).
    pub async fn set_engine_health(&self, id: &str, health: &EngineHealth) -> StoreResult<()> {
        let state = serde_json::to_value(health.state).unwrap_or_default();
        let _: i64 = redis::Script::new(SET_HEALTH)
            .key(self.keys.engine(id))
            .key(self.keys.engine_health(id))
            .key(self.keys.engines_version())
            .arg(to_json(health))
            .arg(state.as_str().unwrap_or_default())
            .invoke_async(&mut self.conn())
            .await?;
        self.engine_cache.changed();
        Ok(())
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serialising plain structs of strings and numbers cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

fn parse_engine(key: &str, json: &str, health: Option<&str>) -> StoreResult<Engine> {
    let mut engine: Engine = serde_json::from_str(json).map_err(|e| corrupt(key, e))?;
    if let Some(h) = health {
        engine.health = serde_json::from_str(h).map_err(|e| corrupt(key, e))?;
    }
    Ok(engine.with_default_publish_ips())
}

/// Engines and each one's reservations, in the same order, as placement reads them.
type Placeable = (Arc<Vec<Engine>>, Vec<Arc<Reservations>>);

/// The engines `keep` keeps. An admin keeps every engine: the shared copy itself, not 1,000
/// records copied.
fn kept(all: Arc<Vec<Engine>>, keep: &impl Fn(&Engine) -> bool) -> Arc<Vec<Engine>> {
    match all.iter().all(keep) {
        true => all,
        false => Arc::new(all.iter().filter(|e| keep(e)).cloned().collect()),
    }
}

fn ids_of(engines: &[Engine]) -> Vec<String> {
    engines.iter().map(|e| e.id.clone()).collect()
}

fn shared(reservations: Vec<Reservations>) -> Vec<Arc<Reservations>> {
    reservations.into_iter().map(Arc::new).collect()
}
