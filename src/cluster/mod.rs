//! The actions clementine performs, one function each. Every function takes the caller
//! ([`Principal`]) first and checks the access policy for the object it touches before doing
//! anything; handlers stay thin and never decide who may do what.

mod engines;
mod error;
mod session;
mod users;

use std::sync::Arc;

pub use error::ClusterError;

use crate::auth::{Passwords, Principal, Tokens};
use crate::engine::EnginePool;
use crate::store::Store;

/// Result of a cluster action.
pub type ClusterResult<T> = Result<T, ClusterError>;

/// The services behind the API: state, engines and credentials.
pub struct Cluster {
    pub(crate) store: Store,
    pub(crate) engines: Arc<EnginePool>,
    pub(crate) passwords: Passwords,
    pub(crate) tokens: Tokens,
}

impl Cluster {
    pub fn new(
        store: Store,
        engines: Arc<EnginePool>,
        passwords: Passwords,
        tokens: Tokens,
    ) -> Self {
        Self {
            store,
            engines,
            passwords,
            tokens,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    pub fn engine_pool(&self) -> &Arc<EnginePool> {
        &self.engines
    }
}

/// Shorthand used by every action that is admin-only.
fn admin_only(principal: &Principal) -> ClusterResult<()> {
    principal.require_admin().map_err(ClusterError::from)
}
