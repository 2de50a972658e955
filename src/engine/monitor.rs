//! The health monitor: on an interval, records each engine's health; each round it also makes
//! the container views follow the engines that exist now (see [`super::views`]). An engine
//! whose event stream spoke within the interval is known to answer and is not pinged; the others
//! are (`version`).
//!
//! Each process runs one; with several processes on one Redis the last writer wins, which is
//! fine because they all record the same observable fact. A failing engine or a Redis outage
//! only produces a log line: the loop never stops.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use tokio::task::JoinHandle;

use super::EnginePool;
use super::views::ContainerViews;
use crate::domain::{Engine, EngineHealth, HealthState, addr_host};
use crate::shutdown::Shutdown;
use crate::store::Store;
use crate::time::{now_ms, rfc3339_ms, rfc3339_secs};

/// Checks one engine and returns its new health, carrying `last_seen` over from before when the
/// check fails.
pub async fn check_engine(pool: &EnginePool, engine: &Engine) -> EngineHealth {
    let client = pool.client(engine);
    let now = rfc3339_ms(now_ms());
    match client.version().await {
        Ok((docker_version, api_version, ms)) => {
            pool.suspects().clear(&engine.id);
            let (certificate_expires_at, certificate_expiring) = certificate_of(pool, &engine.addr);
            EngineHealth {
                state: HealthState::Healthy,
                last_seen: Some(now.clone()),
                checked_at: Some(now),
                last_error: None,
                response_ms: Some((ms * 1000.0).round() / 1000.0),
                docker_version: Some(docker_version),
                api_version: Some(api_version),
                certificate_expires_at,
                certificate_expiring,
            }
        }
        Err(e) => EngineHealth {
            state: HealthState::Unhealthy,
            checked_at: Some(now),
            last_error: Some(e.to_string()),
            response_ms: None,
            ..engine.health.clone()
        },
    }
}

/// When the certificate of the engine at `addr` expires (RFC 3339), and whether it is due for
/// renewal (under 30 days left), once this process made a handshake with it.
pub fn certificate_of(pool: &EnginePool, addr: &str) -> (Option<String>, Option<bool>) {
    let not_after = pool.certificate_not_after(addr_host(addr));
    (
        not_after.map(rfc3339_secs),
        not_after.map(crate::pki::expiring),
    )
}

/// Runs the health checks on an interval.
pub struct HealthMonitor {
    store: Store,
    pool: Arc<EnginePool>,
    views: Arc<ContainerViews>,
    interval: Duration,
}

impl HealthMonitor {
    pub fn new(
        store: Store,
        pool: Arc<EnginePool>,
        views: Arc<ContainerViews>,
        interval: Duration,
    ) -> Self {
        Self {
            store,
            pool,
            views,
            interval,
        }
    }

    /// Checks every engine once, all at the same time, and follows them with the views.
    pub async fn check_all(&self, shutdown: &Shutdown) {
        let engines = match self.store.list_engines().await {
            Ok(engines) => engines,
            Err(e) => {
                tracing::warn!(error = %e, "health monitor cannot list engines");
                return;
            }
        };
        self.views.follow(&engines, shutdown);
        join_all(engines.iter().map(|engine| async move {
            let health = match self.heard_lately(engine) {
                Some(health) => health,
                None => check_engine(&self.pool, engine).await,
            };
            if health.state != engine.health.state {
                tracing::info!(
                    engine = %engine.id,
                    from = ?engine.health.state,
                    to = ?health.state,
                    error = health.last_error.as_deref().unwrap_or(""),
                    "engine health changed"
                );
            }
            if let Err(e) = self.store.set_engine_health(&engine.id, &health).await {
                tracing::warn!(engine = %engine.id, error = %e, "cannot record engine health");
            }
        }))
        .await;
    }

    /// A healthy engine whose event stream spoke within the interval answers: its health with
    /// that as `last_seen`, without a ping (at 1,000 engines, most pings are saved this way).
    fn heard_lately(&self, engine: &Engine) -> Option<EngineHealth> {
        if engine.health.state != HealthState::Healthy || self.pool.suspects().contains(&engine.id)
        {
            return None;
        }
        let heard = self.views.heard_from(&engine.id, self.interval)?;
        Some(EngineHealth {
            last_seen: Some(rfc3339_ms(heard)),
            checked_at: Some(rfc3339_ms(now_ms())),
            ..engine.health.clone()
        })
    }

    /// Starts the loop on the runtime; it ends when shutdown begins.
    pub fn spawn(self, shutdown: Shutdown) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(self.interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = shutdown.begun() => return,
                }
                self.check_all(&shutdown).await;
            }
        })
    }
}
