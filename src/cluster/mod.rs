//! The actions clementine performs, one function each. Every function takes the caller
//! ([`Principal`]) first and checks the access policy for the object it touches before doing
//! anything; handlers stay thin and never decide who may do what.

mod accounts;
mod audit;
mod containers;
mod engines;
mod error;

// The capability folders' modules, by their names, for every sibling (`super::placement` ...).
use accounts::{quotas, tokens};
use audit::{audit_log, audited, reconcile, settle, vanished};
use containers::{lifecycle, listing, networks, placement, pulls, relay, run};

use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption};

pub use accounts::registries::Rotation;
pub use audit::inventory::Source;
pub use audit_log::EventQuery;
pub use error::{ClusterError, Conflict};
pub use lifecycle::{Action, MAX_GRACE_SECS, MAX_REF, MAX_TAIL};
pub use listing::{ContainerFilter, ListSink, ListSync};
pub use networks::TenantNetwork;
pub use reconcile::{CLAIM_GRACE, ReconcileReport, spawn_reconciler};
pub use relay::{ContainerCall, ExecCall, Hijacked};
pub use run::{MAX_COUNT, RunOptions};
pub use settle::SettleReport;
pub use vanished::spawn_vanished_releaser;

use crate::auth::{Passwords, Principal, SecretBox, Tokens};
use crate::config::PlacementSettings;
use crate::domain::Scope;
use crate::engine::EnginePool;
use crate::events::{Audit, TailHub};
use crate::store::Store;

/// Result of a cluster action.
pub type ClusterResult<T> = Result<T, ClusterError>;

/// The services behind the API: state, engines and credentials.
pub struct Cluster {
    pub(crate) store: Store,
    pub(crate) engines: Arc<EnginePool>,
    pub(crate) passwords: Passwords,
    /// Signs and checks bearer tokens; replaced whole when SIGHUP re-reads the JWT secrets.
    tokens: ArcSwap<Tokens>,
    pub(crate) placement: PlacementSettings,
    pub(crate) audit: Audit,
    pub(crate) tail: TailHub,
    /// The process's metrics (shared with the engine pool, which records engine calls).
    metrics: Arc<crate::telemetry::Metrics>,
    /// Engine-side names of what tenants name.
    pub(crate) scope: Scope,
    /// Owners of the API tokens this process has seen.
    token_owners: tokens::TokenOwners,
    /// Pulls in flight, per engine and image.
    pull_flights: pulls::PullFlights,
    /// Each engine's containers, images, volumes and networks, kept by its event stream: the
    /// one inventory list-all, placement, tenant objects and volume listings read.
    pub(crate) views: Arc<crate::engine::views::ContainerViews>,
    /// Seals registry credentials at rest; `None` when no key is configured. Replaced whole
    /// when SIGHUP re-reads the key.
    secrets: ArcSwapOption<SecretBox>,
    /// Signs the audit tree's checkpoints.
    audit_signer: Option<Arc<crate::events::tree::note::Signer>>,
}

impl Cluster {
    pub fn new(
        store: Store,
        engines: Arc<EnginePool>,
        passwords: Passwords,
        tokens: Tokens,
        placement: PlacementSettings,
        audit: Audit,
        tail: TailHub,
    ) -> Self {
        Self {
            scope: Scope::of_deployment(store.keys().prefix()),
            metrics: engines.metrics().clone(),
            views: Arc::new(crate::engine::views::ContainerViews::new(
                engines.clone(),
                store.keys().prefix(),
            )),
            store,
            engines,
            passwords,
            tokens: ArcSwap::from_pointee(tokens),
            placement,
            audit,
            tail,
            token_owners: tokens::TokenOwners::default(),
            pull_flights: pulls::PullFlights::default(),
            secrets: ArcSwapOption::empty(),
            audit_signer: None,
        }
    }

    /// With the key that signs the audit tree's checkpoints.
    pub fn with_audit_signer(mut self, signer: Arc<crate::events::tree::note::Signer>) -> Self {
        self.audit_signer = Some(signer);
        self
    }

    /// With the key that seals registry credentials.
    pub fn with_secrets(self, secrets: Option<SecretBox>) -> Self {
        self.secrets.store(secrets.map(Arc::new));
        self
    }

    /// Takes new keys (SIGHUP): tokens are signed and checked, and credentials sealed and
    /// opened, with these from the next request on; requests in flight finish with the old.
    pub fn replace_keys(&self, tokens: Tokens, secrets: Option<SecretBox>) {
        self.tokens.store(Arc::new(tokens));
        self.secrets.store(secrets.map(Arc::new));
    }

    /// The key that seals registry credentials, when one is configured.
    pub(crate) fn secrets(&self) -> Option<Arc<SecretBox>> {
        self.secrets.load_full()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The token keys as they are now.
    pub fn tokens(&self) -> Arc<Tokens> {
        self.tokens.load_full()
    }

    pub fn engine_pool(&self) -> &Arc<EnginePool> {
        &self.engines
    }

    /// Each engine's containers as its event stream keeps them.
    pub fn views(&self) -> &Arc<crate::engine::views::ContainerViews> {
        &self.views
    }

    pub fn metrics(&self) -> &Arc<crate::telemetry::Metrics> {
        &self.metrics
    }

    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    /// The engine-side name of `owner`'s container, volume or network `name`.
    /// This deployment's key prefix, as the `clementine.cluster` label carries it: every owner
    /// filter matches it too, so deployments sharing engines stay apart.
    pub fn deployment(&self) -> &str {
        self.store.keys().prefix()
    }

    pub fn engine_name(&self, owner: &str, name: &str) -> String {
        self.scope.name(owner, name)
    }
}

/// Shorthand used by every action that is admin-only.
fn admin_only(principal: &Principal) -> ClusterResult<()> {
    principal.require_admin().map_err(ClusterError::from)
}
