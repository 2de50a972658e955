//! One schedule's two audit appends (intent + outcome), as the audit and tree benchmarks time
//! them.

use std::time::Instant;

use clementine::auth::Principal;
use clementine::domain::Role;
use clementine::events::{Draft, actions};
use clementine::store::IndexChange;

use super::common::TestApp;

pub fn operator() -> Principal {
    Principal {
        username: "bench".into(),
        account: String::new(),
        role: Role::Admin,
        request_id: Some("bench".into()),
        token: None,
        session: None,
        teams: Vec::new(),
        via: Default::default(),
    }
}

/// Appends a schedule's intent and outcome; milliseconds for both.
pub async fn append_pair(app: &TestApp) -> f64 {
    let audit = app.cluster.audit();
    let mut draft = Draft::by(&operator(), actions::CONTAINER_SCHEDULE)
        .owner("bench")
        .engine("e1");
    draft.image =
        Some(r#"{"name":"busybox:latest","args":["sleep","600"],"cpus":0.1,"memory":16}"#.into());
    let op = draft.op.clone();
    let started = Instant::now();
    let pending = audit.intent(draft).await.unwrap();
    let json = format!(r#"{{"container":"c","engine":"e1","owner":"bench","name":"/x-{op}"}}"#);
    audit
        .outcome(pending, None, IndexChange::Add { op, json })
        .await;
    started.elapsed().as_secs_f64() * 1000.0
}
