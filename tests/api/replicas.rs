//! Two replicas of one deployment behind the HAProxy of `example/haproxy.cfg`: a live-tail client
//! whose replica goes away reconnects through the balancer to the other one and, with
//! `Last-Event-ID`, misses nothing and sees nothing twice.

use serde_json::json;

use crate::audit_live::{Sse, Tail};
use crate::cli::{Killed, LoggedServer, free_port};
use crate::common::{root, short_id, test_env};

fn haproxy(listen: &str, a: &str, b: &str) -> Killed {
    let child = std::process::Command::new("haproxy")
        .args(["-f", "example/haproxy.cfg", "-db"])
        .current_dir(root())
        .env("CLEMENTINE_LB_LISTEN", listen)
        .env("CLEMENTINE_REPLICA_A", a)
        .env("CLEMENTINE_REPLICA_B", b)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("haproxy (scripts/testbed.sh installs it)");
    Killed(child)
}

#[tokio::test]
async fn a_live_tail_resumes_on_the_other_replica() {
    let env = test_env(&short_id());
    let a = LoggedServer::start_env("info", env.clone()).await;
    let b = LoggedServer::start_env("info", env).await;
    let lb = format!("127.0.0.1:{}", free_port());
    let _haproxy = haproxy(
        &lb,
        a.base.trim_start_matches("http://"),
        b.base.trim_start_matches("http://"),
    );
    let base = format!("http://{lb}");
    assert!(
        crate::cli::wait_healthy(&base).await,
        "HAProxy did not come up"
    );
    let token = a.admin_token().await;
    let http = reqwest::Client::new();
    let make_user = |name: String| {
        let body = json!({"username": name, "password": "user-password-1", "role": "user"});
        http.post(format!("{base}/apiv1/user"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };

    let mut tail = Tail::open_at(&http, &base, &token, None).await;
    let served_by = tail.headers["x-clementine-replica"]
        .to_str()
        .unwrap()
        .to_string();
    let mut name = String::new();
    for n in 0..3 {
        name = format!("before{n}{}", short_id());
        assert_eq!(make_user(name.clone()).await.unwrap().status(), 200);
    }
    let outcome_for = |name: String| {
        move |e: &Sse| e.data["phase"] == "outcome" && e.data["target"] == name.as_str()
    };
    let seen = tail.until(outcome_for(name)).await;
    assert!(
        seen.len() >= 6,
        "intent and outcome of 3 user.create: {seen:?}"
    );
    let last = seen.last().unwrap().id.clone();
    drop(tail);

    // The replica that served the stream goes away; entries keep coming through the other.
    let (gone, other) = if served_by == "a" { (a, b) } else { (b, a) };
    drop(gone);
    let mut missed = Vec::new();
    let mut name = String::new();
    for n in 0..3 {
        name = format!("after{n}{}", short_id());
        let made = make_user(name.clone()).await.unwrap();
        assert_eq!(
            made.status(),
            200,
            "the balancer sends requests to the live replica"
        );
        missed.push(
            made.headers()["x-clementine-replica"]
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert!(missed.iter().all(|r| *r != served_by), "{missed:?}");

    let mut resumed = Tail::open_at(&http, &base, &token, Some(&last)).await;
    assert_ne!(resumed.headers["x-clementine-replica"], served_by.as_str());
    let got = resumed.until(outcome_for(name)).await;
    // Stream ids are `ms-seq`: compared as numbers (`…-10` is after `…-9`).
    let id_of = |id: &str| -> (u64, u64) {
        let (ms, seq) = id.split_once('-').expect("a stream id");
        (ms.parse().unwrap(), seq.parse().unwrap())
    };
    let ids: Vec<(u64, u64)> = got.iter().map(|e| id_of(&e.id)).collect();
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len(), "an entry came twice: {ids:?}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "out of order: {ids:?}");
    assert!(
        ids.iter().all(|id| *id > id_of(&last)),
        "an entry from before came again"
    );
    let created: Vec<&str> = (got.iter())
        .filter(|e| e.data["action"] == "user.create" && e.data["phase"] == "outcome")
        .filter_map(|e| e.data["target"].as_str())
        .collect();
    assert_eq!(
        created.len(),
        3,
        "every entry made while away arrives: {got:?}"
    );
    assert!(
        created.iter().all(|t| t.starts_with("after")),
        "{created:?}"
    );
    drop(other);
}
