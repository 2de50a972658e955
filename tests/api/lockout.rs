//! Lock-out is not a weapon: failed logins throttle one (username, client) pair and only slow
//! the username elsewhere; `X-Forwarded-For` counts only from trusted proxies; a flood of
//! refusals from one client is written up to an allowance and then counted in one summary.

use std::net::IpAddr;

use serde_json::{Value, json};

use crate::common::{ADMIN_PASSWORD, TestApp, assert_error};

/// Logs in from a loopback address of our choosing (the server sees it as the client).
async fn login_from(
    app: &TestApp,
    from: &str,
    user: &str,
    password: &str,
    forwarded: Option<&str>,
) -> (u16, Value) {
    let http = reqwest::Client::builder()
        .local_address(from.parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let mut req = http
        .post(format!("{}/apiv1/login", app.base))
        .json(&json!({"username": user, "password": password}));
    if let Some(f) = forwarded {
        req = req.header("X-Forwarded-For", f);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn ten_bad_passwords_from_one_client_do_not_lock_the_owner_out() {
    let app = TestApp::spawn().await;
    let admin = app.admin.clone();
    for _ in 0..12 {
        let (status, _) = login_from(&app, "127.0.0.3", &admin, "guess-guess", None).await;
        assert!(status == 401 || status == 429, "{status}");
    }
    // The attacker's address is throttled, even with the right password.
    let from_attacker = login_from(&app, "127.0.0.3", &admin, ADMIN_PASSWORD, None).await;
    assert_error(&from_attacker, 429, "too_many_attempts");
    // The owner, from an address that has not failed, logs in (slowed, not refused).
    let (status, body) = login_from(&app, "127.0.0.4", &admin, ADMIN_PASSWORD, None).await;
    assert_eq!(status, 200, "{body}");
    // A forged X-Forwarded-For from an untrusted peer changes nothing.
    let spoofed = login_from(&app, "127.0.0.3", &admin, ADMIN_PASSWORD, Some("127.0.0.9")).await;
    assert_error(&spoofed, 429, "too_many_attempts");
}

#[tokio::test]
async fn a_trusted_proxy_names_the_client() {
    let app = TestApp::spawn_with(|env| {
        env.insert("CLEMENTINE_TRUSTED_PROXIES".into(), "127.0.0.5".into());
    })
    .await;
    let admin = app.admin.clone();
    for _ in 0..10 {
        login_from(&app, "127.0.0.5", &admin, "guess", Some("192.0.2.7")).await;
    }
    // Through the proxy, the throttled client is the forwarded one ...
    let throttled = login_from(&app, "127.0.0.5", &admin, ADMIN_PASSWORD, Some("192.0.2.7")).await;
    assert_error(&throttled, 429, "too_many_attempts");
    // ... and another client behind the same proxy still logs in.
    let other = login_from(&app, "127.0.0.5", &admin, ADMIN_PASSWORD, Some("192.0.2.8")).await;
    assert_eq!(other.0, 200, "{}", other.1);
}

#[tokio::test]
async fn a_flood_of_refusals_is_counted_not_written_one_by_one() {
    let app = TestApp::spawn().await;
    let (_, token) = app.user("ann").await;
    let floods = 45;
    let logins = futures::future::join_all((0..floods).map(|i| {
        let app = &app;
        async move { login_from(app, "127.0.0.6", &format!("nobody-{i}"), "x", None).await }
    }));
    for (status, _) in logins.await {
        assert_eq!(status, 401);
    }
    for _ in 0..floods {
        assert_eq!(app.get("/apiv1/users", Some(&token)).await.0, 403);
    }
    app.cluster.audit().flush_refusals(true).await;
    let events = app.all_events().await;
    for (action, client) in [
        ("auth.login_failed", "127.0.0.6"),
        ("auth.denied", "127.0.0.1"),
    ] {
        let one_by_one = (events.iter())
            .filter(|e| e["action"] == action && e["actor"] != "clementine")
            .filter(|e| e["phase"] != "outcome")
            .count();
        let summaries: Vec<&Value> = (events.iter())
            .filter(|e| e["action"] == action && e["actor"] == "clementine")
            .collect();
        assert_eq!(
            one_by_one, 20,
            "{action}: the allowance per client and window"
        );
        assert_eq!(summaries.len(), 1, "{action}: {summaries:?}");
        let detail: Value = serde_json::from_str(summaries[0]["detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["count"], json!(floods - 20), "{detail}");
        assert_eq!(detail["client"], client);
    }
}

/// A Redis that has never run the failure counter (fresh, restarted, or failed over) still
/// counts the failure: the wrong password answers 401, never a 500.
#[tokio::test]
async fn a_failed_login_counts_on_a_redis_without_the_script() {
    let app = TestApp::spawn().await;
    let admin = app.admin.clone();
    let mut redis = app.redis().await;
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut redis)
        .await
        .unwrap();
    let wrong = login_from(&app, "127.0.0.7", &admin, "not-the-password", None).await;
    assert_error(&wrong, 401, "invalid_credentials");
    let empty = login_from(&app, "127.0.0.7", "", "x", None).await;
    assert_error(&empty, 401, "invalid_credentials");
}
