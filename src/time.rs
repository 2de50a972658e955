//! Wall-clock helpers: clementine stores instants as unix milliseconds and shows them as RFC 3339.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Seconds since the unix epoch, now.
pub fn now_secs() -> u64 {
    now_ms() / 1000
}

/// Formats unix milliseconds as RFC 3339 in UTC with millisecond precision.
pub fn rfc3339_ms(ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// Formats unix seconds as RFC 3339 in UTC.
pub fn rfc3339_secs(secs: i64) -> String {
    let secs = secs.max(0) as u64;
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}
