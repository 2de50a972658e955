//! Paging through the audit stream with filters, under the visibility rule: admins see every
//! entry; a user sees the entries of their own actions and about their own containers.

use crate::domain::{AuditEvent, EventPage, InvalidInput};
use crate::store::{Store, StoreResult};

use super::decode;

/// Most entries one page returns.
pub const MAX_LIMIT: usize = 1000;
/// Most entries one request looks at, so a rare filter on a long stream cannot pin Redis; the
/// page then ends early with a cursor to go on from.
const MAX_SCAN: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Newest first (the default).
    #[default]
    Desc,
    Asc,
}

/// What to return.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub engine: Option<String>,
    pub container: Option<String>,
    pub outcome: Option<String>,
    /// Lower bound, inclusive: a stream id or incomplete id (`<ms>`).
    pub since: Option<String>,
    /// Upper bound, inclusive.
    pub until: Option<String>,
    /// `Some(owners)`: only entries acted by, or about objects of, one of these (a user and
    /// their teams, `team:<name>`); `None`: everything (admins).
    pub visible_to: Option<Vec<String>>,
}

/// Parses a bound: a stream id (`1700000000000-0`, or `1700000000000`) or an RFC 3339 time.
pub fn parse_bound(field: &str, value: &str) -> Result<String, InvalidInput> {
    let is_id = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    if let Some((ms, seq)) = value.split_once('-')
        && is_id(ms)
        && is_id(seq)
    {
        return Ok(value.to_string());
    }
    if is_id(value) {
        return Ok(value.to_string());
    }
    humantime::parse_rfc3339_weak(value)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis().to_string())
        .ok_or_else(|| {
            InvalidInput::new(
                field,
                "must be a stream id (like 1700000000000-0) or an RFC 3339 time",
            )
        })
}

/// `(ms, seq)` of a stream id, for ordering.
pub fn id_key(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

impl EventFilter {
    pub fn check_outcome(&self) -> Result<(), InvalidInput> {
        match self.outcome.as_deref() {
            None | Some("ok") | Some("error") => Ok(()),
            Some(_) => Err(InvalidInput::new("outcome", "must be ok or error")),
        }
    }

    /// Does an entry pass the filters and the visibility rule?
    pub fn keeps(&self, e: &AuditEvent) -> bool {
        let eq = |want: &Option<String>, have: &Option<String>| {
            want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
        };
        let visible = self.visible_to.as_ref().is_none_or(|owners| {
            (owners.iter()).any(|o| &e.actor == o || e.owner.as_ref() == Some(o))
        });
        visible
            && self.action.as_ref().is_none_or(|a| {
                &e.action == a || (a.ends_with('.') && e.action.starts_with(a.as_str()))
            })
            && self.actor.as_ref().is_none_or(|a| &e.actor == a)
            && eq(&self.engine, &e.engine)
            && eq(&self.container, &e.container)
            && eq(&self.outcome, &e.outcome)
    }
}

/// One page, starting after `cursor` (exclusive) when given.
pub async fn page(
    store: &Store,
    filter: &EventFilter,
    order: Order,
    limit: usize,
    cursor: Option<&str>,
) -> StoreResult<EventPage> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let batch = (limit * 2).clamp(100, 1000);
    let (mut from, to) = match order {
        Order::Asc => (
            cursor
                .map(|c| format!("({c}"))
                .or(filter.since.clone())
                .unwrap_or_else(|| "-".into()),
            filter.until.clone().unwrap_or_else(|| "+".into()),
        ),
        Order::Desc => (
            cursor
                .map(|c| format!("({c}"))
                .or(filter.until.clone())
                .unwrap_or_else(|| "+".into()),
            filter.since.clone().unwrap_or_else(|| "-".into()),
        ),
    };
    let mut events = Vec::new();
    let mut scanned = 0;
    loop {
        let entries = store
            .events_range(&from, &to, batch, order == Order::Desc)
            .await?;
        let exhausted = entries.len() < batch;
        for entry in entries {
            scanned += 1;
            let id = entry.0.clone();
            let event = decode(entry);
            if filter.keeps(&event) {
                events.push(event);
            }
            if events.len() == limit || scanned >= MAX_SCAN {
                // More may follow: go on after this entry.
                let next =
                    (!exhausted || scanned < MAX_SCAN || events.len() == limit).then_some(id);
                return Ok(EventPage { events, next });
            }
            from = format!("({id}");
        }
        if exhausted {
            return Ok(EventPage { events, next: None });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(
            parse_bound("since", "1700000000000-3").unwrap(),
            "1700000000000-3"
        );
        assert_eq!(
            parse_bound("since", "1700000000000").unwrap(),
            "1700000000000"
        );
        assert_eq!(
            parse_bound("since", "2023-11-14T22:13:20Z").unwrap(),
            "1700000000000"
        );
        assert_eq!(
            parse_bound("since", "yesterday").unwrap_err().field,
            "since"
        );
        assert!(parse_bound("since", "1-2-3").is_err());
        assert!(id_key("5-2") > id_key("5-1"));
        assert!(id_key("10-0") > id_key("9-99"));
    }

    #[test]
    fn visibility() {
        let e = AuditEvent {
            actor: "admin".into(),
            owner: Some("ann".into()),
            action: "container.destroy".into(),
            ..Default::default()
        };
        let for_user = |u: &str| EventFilter {
            visible_to: Some(vec![u.into()]),
            ..Default::default()
        };
        assert!(for_user("ann").keeps(&e));
        assert!(!for_user("bob").keeps(&e));
        assert!(EventFilter::default().keeps(&e));
        let prefix = EventFilter {
            action: Some("container.".into()),
            ..Default::default()
        };
        assert!(prefix.keeps(&e));
    }
}
