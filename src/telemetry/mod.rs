//! What the process tells operators: structured logs through `tracing` (text for people, JSON
//! for machines; `RUST_LOG` filters, default `info`), the Prometheus metrics ([`metrics`]), and
//! the per-request split between time spent waiting on engines and everything else
//! ([`clock`]).

pub mod clock;
pub mod metrics;

pub use clock::RequestClock;
pub use metrics::Metrics;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber once; later calls (tests) do nothing.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
