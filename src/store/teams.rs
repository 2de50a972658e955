//! Teams: `team:{name}` (a hash), its members (`team:{name}:members`, user -> role) mirrored in
//! each member's `user:{name}:teams`, and its engine grants (`team:{name}:engines`).

use std::collections::HashMap;

use redis::AsyncCommands;

use super::{Store, StoreResult};

/// A team as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRecord {
    pub name: String,
    pub created_ms: u64,
    /// (user, role), sorted by user.
    pub members: Vec<(String, String)>,
    /// Engine ids granted to the team, sorted.
    pub engines: Vec<String>,
}

const CREATE_TEAM: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'created_ms', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
";

/// Replaces the members (ARGV: team, user-key prefix, then user, role pairs), keeping each
/// user's set of teams in step; only when the team exists.
const SET_MEMBERS: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, user in ipairs(redis.call('HKEYS', KEYS[2])) do
  redis.call('SREM', ARGV[2] .. user .. ':teams', ARGV[1])
end
redis.call('DEL', KEYS[2])
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('SADD', ARGV[2] .. ARGV[i] .. ':teams', ARGV[1])
end
return 1
";

/// Deletes a team, its grants and its members' memberships.
const DELETE_TEAM: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, user in ipairs(redis.call('HKEYS', KEYS[2])) do
  redis.call('SREM', ARGV[2] .. user .. ':teams', ARGV[1])
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('SREM', KEYS[4], ARGV[1])
return 1
";

/// Replaces a team's engine grants, only when the team exists.
const SET_ENGINES: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
if #ARGV > 0 then redis.call('SADD', KEYS[2], unpack(ARGV)) end
return 1
";

impl Store {
    fn team_keys(&self, name: &str) -> [String; 4] {
        [
            self.keys.team(name),
            self.keys.team_members(name),
            self.keys.team_engines(name),
            self.keys.teams(),
        ]
    }

    /// Makes a team; `false` when the name is taken.
    pub async fn create_team(&self, name: &str, created_ms: u64) -> StoreResult<bool> {
        let [team, _, _, teams] = self.team_keys(name);
        let made: i64 = redis::Script::new(CREATE_TEAM)
            .key(team)
            .key(teams)
            .arg(name)
            .arg(created_ms)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(made == 1)
    }

    pub async fn get_team(&self, name: &str) -> StoreResult<Option<TeamRecord>> {
        let [team, members, engines, _] = self.team_keys(name);
        let (created, members, mut engines): (Option<u64>, HashMap<String, String>, Vec<String>) =
            redis::pipe()
                .hget(team, "created_ms")
                .hgetall(members)
                .smembers(engines)
                .query_async(&mut self.conn())
                .await?;
        let Some(created_ms) = created else {
            return Ok(None);
        };
        let mut members: Vec<(String, String)> = members.into_iter().collect();
        members.sort();
        engines.sort();
        Ok(Some(TeamRecord {
            name: name.to_string(),
            created_ms,
            members,
            engines,
        }))
    }

    /// Every team name, sorted.
    pub async fn team_names(&self) -> StoreResult<Vec<String>> {
        let mut names: Vec<String> = self.conn().smembers(self.keys.teams()).await?;
        names.sort();
        Ok(names)
    }

    /// The teams a user is a member of, sorted.
    pub async fn teams_of(&self, user: &str) -> StoreResult<Vec<String>> {
        let mut names: Vec<String> = self.conn().smembers(self.keys.user_teams(user)).await?;
        names.sort();
        Ok(names)
    }

    /// Replaces the members, `(user, role)`; `false` when the team does not exist.
    pub async fn set_members(&self, name: &str, members: &[(String, String)]) -> StoreResult<bool> {
        let [team, key, _, _] = self.team_keys(name);
        let set = redis::Script::new(SET_MEMBERS);
        let mut script = set.prepare_invoke();
        script.key(team).key(key).arg(name).arg(self.keys.user(""));
        for (user, role) in members {
            script.arg(user).arg(role);
        }
        let done: i64 = script.invoke_async(&mut self.conn()).await?;
        Ok(done == 1)
    }

    /// Replaces the team's engine grants; `false` when the team does not exist.
    pub async fn set_team_engines(&self, name: &str, engines: &[String]) -> StoreResult<bool> {
        let [team, _, key, _] = self.team_keys(name);
        let done: i64 = redis::Script::new(SET_ENGINES)
            .key(team)
            .key(key)
            .arg(engines)
            .invoke_async(&mut self.conn())
            .await?;
        Ok(done == 1)
    }

    /// Engine ids granted to any of these teams, sorted and once each.
    pub async fn team_grants(&self, teams: &[String]) -> StoreResult<Vec<String>> {
        if teams.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = teams.iter().map(|t| self.keys.team_engines(t)).collect();
        let mut ids: Vec<String> = self.conn().sunion(keys).await?;
        ids.sort();
        Ok(ids)
    }

    /// Deletes a team with its grants and memberships; `false` when there was none.
    pub async fn delete_team(&self, name: &str) -> StoreResult<bool> {
        let [team, members, engines, teams] = self.team_keys(name);
        let done: i64 = redis::Script::new(DELETE_TEAM)
            .key(team)
            .key(members)
            .key(engines)
            .key(teams)
            .arg(name)
            .arg(self.keys.user(""))
            .invoke_async(&mut self.conn())
            .await?;
        Ok(done == 1)
    }
}
