//! Every Redis key clementine uses, in one place. No other module builds a key string.
//!
//! All keys sit under the configured prefix `P` (default `clementine:`), so several deployments
//! (or test runs) share one Redis without meeting.
//!
//! | key                      | type   | holds                                                      |
//! |--------------------------|--------|------------------------------------------------------------|
//! | `P schema:version`       | string | the highest migration applied                              |
//! | `P schema:applied`       | hash   | migration name -> unix ms when it was applied              |
//! | `P users`                | set    | every username                                             |
//! | `P user:{name}`          | hash   | `id`, `role`, `password_hash` (argon2id PHC), `token_version`, `created_ms` |
//! | `P users:next_id`        | string | the counter account ids come from (never reused)           |
//! | `P users:retired`        | hash   | name -> the token version a deleted account reached        |
//! | `P user:{name}:engines`  | set    | engine ids granted to the user                             |
//! | `P engines`              | set    | every engine id                                            |
//! | `P engine:{id}`          | string | the engine as JSON (id, addr, cpus, memory, labels, status) |
//! | `P engine:{id}:health`   | string | the monitor's last view of the engine, JSON                |
//! | `P engines:version`      | string | bumped by every change of an engine record or of an engine's health state (copies of the records check it) |
//! | `P engine:{id}:reserved` | hash   | `cpus_milli`, `memory` (MB) promised to claims on the engine |
//! | `P engine:{id}:ports`    | hash   | `port/proto` -> op id of the claim publishing it           |
//! | `P engine:{id}:images`   | hash   | image -> number of claims running it (for `unique`)        |
//! | `P engine:{id}:claims`   | set    | op ids of the claims on the engine                         |
//! | `P claim:{op}`           | hash   | one claim: `engine`, `cpus_milli`, `memory`, `image`, `ports`, `owner`, `created_ms` |
//! | `P images:{owner}`       | hash   | saved image config name -> JSON, per owner                 |
//! | `P events`               | stream | the audit log (fields: see `events` module and README)     |
//! | `P events:open`          | hash   | op id -> stream id of its intent, until its outcome is written |
//! | `P lock:{name}`          | string | a short-lived lock (`scale:{owner}:{config}`), value = holder token, with a TTL |
//! | `P login_failures:{name}`| string | failed logins of a username in the current window, with a TTL |
//! | `P login_failures:{name}:{client}` | string | the same, from one client address      |
//! | `P index:containers`     | hash   | op id -> JSON `{container, engine, owner, name}` of containers scheduled and not destroyed |
//! | `P token:{id}`           | hash   | an API token: `owner`, `owner_id`, `name`, `scopes`, `hash` (SHA-256 of its secret), `created_ms`, `expires_ms`, `last_used_ms` |
//! | `P user:{name}:tokens`   | set    | ids of the user's API tokens                               |
//! | `P tokens`               | set    | every API token id                                         |
//! | `P registry:{id}`        | hash   | registry credentials: `owner`, `server`, `username`, `sealed` (the password, sealed), `shared`, `created_ms` |
//! | `P registries`           | set    | every registry credential id                               |
//! | `P quota:{kind}:{name}`  | hash   | an owner's limits (`user` or `team`): `cpus_milli`, `memory`, `containers`, `volumes`, `published_ports`; absent field: no limit |
//! | `P quota_used:{kind}:{name}` | hash | what the owner holds now, the same fields (kept for every owner) |
//! | `P quotas`               | set    | owners (`ann`, `team:ops`) with a limit set                 |
//! | `P teams`                | set    | every team name                                            |
//! | `P team:{name}`          | hash   | `created_ms`                                               |
//! | `P team:{name}:members`  | hash   | user -> `member` or `maintainer`                           |
//! | `P team:{name}:engines`  | set    | engine ids granted to the team                             |
//! | `P user:{name}:teams`    | set    | the teams the user is a member of                          |
//! | `P exec:{id}`            | hash   | an exec made through the Docker API: `engine`, `container`, with a TTL |
//!
//! Engine ids and usernames cannot contain `:` (see `domain::check_engine_id`), so no key of one
//! kind can be mistaken for another.

/// `user:<name>` or `team:<name>`: users and teams may share names, their quotas may not.
fn quota_suffix(owner: &str) -> String {
    match crate::domain::owner_kind(owner) {
        (crate::domain::OwnerKind::Team, team) => format!("team:{team}"),
        (crate::domain::OwnerKind::User, user) => format!("user:{user}"),
    }
}

/// Builds key names under one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn schema_version(&self) -> String {
        format!("{}schema:version", self.prefix)
    }

    pub fn schema_applied(&self) -> String {
        format!("{}schema:applied", self.prefix)
    }

    /// Written and read once at start-up to check the Redis user's rights; expires at once.
    pub fn access_probe(&self) -> String {
        format!("{}access-probe", self.prefix)
    }

    /// The audit tree (`store::tlog`): its size and last leaf's stream id.
    pub fn tlog_state(&self) -> String {
        format!("{}tlog:state", self.prefix)
    }

    pub fn tlog_lease(&self) -> String {
        format!("{}tlog:lease", self.prefix)
    }

    pub fn tlog_hashes(&self, chunk: u64) -> String {
        format!("{}tlog:hashes:{chunk}", self.prefix)
    }

    pub fn tlog_ids(&self, chunk: u64) -> String {
        format!("{}tlog:ids:{chunk}", self.prefix)
    }

    pub fn tlog_firsts(&self) -> String {
        format!("{}tlog:firsts", self.prefix)
    }

    pub fn tlog_checkpoints(&self) -> String {
        format!("{}tlog:checkpoints", self.prefix)
    }

    /// The signing key generated when none is configured.
    pub fn tlog_signing_key(&self) -> String {
        format!("{}tlog:signing-key", self.prefix)
    }

    pub fn users(&self) -> String {
        format!("{}users", self.prefix)
    }

    pub fn user(&self, name: &str) -> String {
        format!("{}user:{name}", self.prefix)
    }

    pub fn user_ids(&self) -> String {
        format!("{}users:next_id", self.prefix)
    }

    pub fn retired_users(&self) -> String {
        format!("{}users:retired", self.prefix)
    }

    pub fn user_engines(&self, name: &str) -> String {
        format!("{}user:{name}:engines", self.prefix)
    }

    pub fn engines(&self) -> String {
        format!("{}engines", self.prefix)
    }

    pub fn engines_version(&self) -> String {
        format!("{}engines:version", self.prefix)
    }

    pub fn engine(&self, id: &str) -> String {
        format!("{}engine:{id}", self.prefix)
    }

    pub fn engine_health(&self, id: &str) -> String {
        format!("{}engine:{id}:health", self.prefix)
    }

    pub fn engine_reserved(&self, id: &str) -> String {
        format!("{}engine:{id}:reserved", self.prefix)
    }

    pub fn engine_ports(&self, id: &str) -> String {
        format!("{}engine:{id}:ports", self.prefix)
    }

    pub fn engine_images(&self, id: &str) -> String {
        format!("{}engine:{id}:images", self.prefix)
    }

    pub fn engine_claims(&self, id: &str) -> String {
        format!("{}engine:{id}:claims", self.prefix)
    }

    /// Claim keys are `claim_prefix() + op`; scripts that walk an engine's claims need the prefix.
    pub fn claim_prefix(&self) -> String {
        format!("{}claim:", self.prefix)
    }

    pub fn claim(&self, op: &str) -> String {
        format!("{}{op}", self.claim_prefix())
    }

    pub fn events(&self) -> String {
        format!("{}events", self.prefix)
    }

    pub fn events_open(&self) -> String {
        format!("{}events:open", self.prefix)
    }

    pub fn container_index(&self) -> String {
        format!("{}index:containers", self.prefix)
    }

    /// An exec instance made through the Docker API; Docker's exec ids are 64 hex digits.
    pub fn exec(&self, id: &str) -> String {
        format!("{}exec:{id}", self.prefix)
    }

    pub fn lock(&self, name: &str) -> String {
        format!("{}lock:{name}", self.prefix)
    }

    /// What the holders of the lock `name` leave for the next ones.
    pub fn lock_note(&self, name: &str) -> String {
        format!("{}lock_note:{name}", self.prefix)
    }

    pub fn login_failures(&self, username: &str) -> String {
        format!("{}login_failures:{username}", self.prefix)
    }

    pub fn login_failures_from(&self, username: &str, client: &str) -> String {
        format!("{}login_failures:{username}:{client}", self.prefix)
    }

    pub fn token(&self, id: &str) -> String {
        format!("{}token:{id}", self.prefix)
    }

    pub fn user_tokens(&self, name: &str) -> String {
        format!("{}user:{name}:tokens", self.prefix)
    }

    pub fn registry(&self, id: &str) -> String {
        format!("{}registry:{id}", self.prefix)
    }

    pub fn registries(&self) -> String {
        format!("{}registries", self.prefix)
    }

    pub fn tokens(&self) -> String {
        format!("{}tokens", self.prefix)
    }

    /// An owner's limits; `owner` is a username or `team:<name>` (see `domain::owner_kind`).
    pub fn quota(&self, owner: &str) -> String {
        format!("{}quota:{}", self.prefix, quota_suffix(owner))
    }

    pub fn quota_used(&self, owner: &str) -> String {
        format!("{}quota_used:{}", self.prefix, quota_suffix(owner))
    }

    /// What `quota_used` puts before the suffix, for scripts that build the key from a claim's
    /// owner.
    pub fn quota_used_prefix(&self) -> String {
        format!("{}quota_used:", self.prefix)
    }

    pub fn teams(&self) -> String {
        format!("{}teams", self.prefix)
    }

    pub fn team(&self, name: &str) -> String {
        format!("{}team:{name}", self.prefix)
    }

    pub fn team_members(&self, name: &str) -> String {
        format!("{}team:{name}:members", self.prefix)
    }

    pub fn team_engines(&self, name: &str) -> String {
        format!("{}team:{name}:engines", self.prefix)
    }

    pub fn user_teams(&self, name: &str) -> String {
        format!("{}user:{name}:teams", self.prefix)
    }

    pub fn quotas(&self) -> String {
        format!("{}quotas", self.prefix)
    }

    pub fn saved_images(&self, owner: &str) -> String {
        format!("{}images:{owner}", self.prefix)
    }
}
