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
//! | `P user:{name}`          | hash   | `role`, `password_hash` (argon2id PHC), `token_version`, `created_ms` |
//! | `P user:{name}:engines`  | set    | engine ids granted to the user                             |
//! | `P engines`              | set    | every engine id                                            |
//! | `P engine:{id}`          | string | the engine as JSON (id, addr, cpus, memory, labels, status) |
//! | `P engine:{id}:health`   | string | the monitor's last view of the engine, JSON                |
//!
//! Engine ids and usernames cannot contain `:` (see `domain::check_engine_id`), so no key of one
//! kind can be mistaken for another.

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

    pub fn users(&self) -> String {
        format!("{}users", self.prefix)
    }

    pub fn user(&self, name: &str) -> String {
        format!("{}user:{name}", self.prefix)
    }

    pub fn user_engines(&self, name: &str) -> String {
        format!("{}user:{name}:engines", self.prefix)
    }

    pub fn engines(&self) -> String {
        format!("{}engines", self.prefix)
    }

    pub fn engine(&self, id: &str) -> String {
        format!("{}engine:{id}", self.prefix)
    }

    pub fn engine_health(&self, id: &str) -> String {
        format!("{}engine:{id}:health", self.prefix)
    }
}
