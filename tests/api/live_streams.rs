//! A live stream ends with its caller: deleted, demoted, revoked, or their API token deleted or
//! expired. Nothing made after the change reaches them, while an unaffected watcher keeps
//! receiving.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use crate::common::{TestApp, short_id, sleeper};

/// An open `GET /events/stream`, read as text.
struct Live {
    resp: reqwest::Response,
    text: String,
    ended: bool,
}

impl Live {
    async fn open(app: &TestApp, token: &str) -> Live {
        let resp = (app.http.get(format!("{}/apiv1/events/stream", app.base)))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        Live {
            resp,
            text: String::new(),
            ended: false,
        }
    }

    /// Reads until `needle` shows, the stream ends, or `secs` pass; whether the needle showed.
    async fn read_until(&mut self, needle: &str, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.text.contains(needle) && !self.ended {
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Ok(Ok(Some(chunk))) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(_) => self.ended = true,
                Err(_) => break,
            }
        }
        self.text.contains(needle)
    }
}

/// An admin account of this test, logged in.
async fn admin(app: &TestApp, name: &str) -> (String, String) {
    let username = app.unique(name);
    let body = json!({"username": username, "password": "watch-password-1", "role": "admin"});
    let (status, answer) = app.post("/apiv1/user", Some(&app.admin_token), body).await;
    assert_eq!(status, 200, "{answer}");
    let token = app.login(&username, "watch-password-1").await;
    (username, token)
}

/// Both streams see a marker (so both are live), then `cut` happens, then ann runs a container
/// named `after`: the cut stream ends within the grace and never shows it; the other shows it.
async fn cut_off(
    app: &TestApp,
    cut: &mut Live,
    other: &mut Live,
    change: impl Future<Output = ()>,
) {
    let (ann, ann_token) = app.user(&format!("ann{}", short_id())).await;
    assert!(
        cut.read_until(&ann, 10).await,
        "stream not live: {}",
        cut.text
    );
    assert!(other.read_until(&ann, 10).await, "control not live");
    change.await;
    let changed = Instant::now();
    app.grant(&ann, &["e1"]).await;
    let after = app.unique(&format!("after{}", short_id()));
    let (status, ran) = app
        .run(&ann_token, sleeper(json!({"container_name": after})))
        .await;
    assert_eq!(status, 200, "{ran}");
    assert!(
        other.read_until(&after, 10).await,
        "the control stream missed the run"
    );
    // The cut stream ends (the grace is the 1 s re-check, with slack for a busy machine).
    cut.read_until("never-sent", 4).await;
    assert!(
        cut.ended,
        "still open {:?} after the change",
        changed.elapsed()
    );
    assert!(
        !cut.text.contains(&after),
        "delivered after the change: {}",
        cut.text
    );
    app.cleanup_containers().await;
}

#[tokio::test]
async fn a_deleted_admin_stops_receiving_at_once() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (watcher, token) = admin(&app, "watcher").await;
    let (_, control_token) = admin(&app, "control").await;
    let mut cut = Live::open(&app, &token).await;
    let mut other = Live::open(&app, &control_token).await;
    cut_off(&app, &mut cut, &mut other, async {
        let path = format!("/apiv1/user/{watcher}");
        assert_eq!(app.delete(&path, Some(&app.admin_token)).await.0, 200);
    })
    .await;
}

#[tokio::test]
async fn a_demoted_or_revoked_admin_stops_receiving() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (_, control_token) = admin(&app, "control").await;
    let (demoted, token) = admin(&app, "demoted").await;
    let mut cut = Live::open(&app, &token).await;
    let mut other = Live::open(&app, &control_token).await;
    cut_off(&app, &mut cut, &mut other, async {
        let path = format!("/apiv1/user/{demoted}");
        let (status, body) = app
            .patch(&path, Some(&app.admin_token), json!({"role": "user"}))
            .await;
        assert_eq!(status, 200, "{body}");
    })
    .await;

    let (revoked, token) = admin(&app, "revoked").await;
    let mut cut = Live::open(&app, &token).await;
    cut_off(&app, &mut cut, &mut other, async {
        let path = format!("/apiv1/user/{revoked}/revoke");
        assert_eq!(
            app.post(&path, Some(&app.admin_token), json!({})).await.0,
            200
        );
    })
    .await;
}

#[tokio::test]
async fn a_deleted_or_expired_api_token_stops_receiving() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (_, control_token) = admin(&app, "control").await;
    let mut other = Live::open(&app, &control_token).await;
    let mint = json!({"name": "tail", "scopes": ["events"]});
    let (_, minted) = app
        .post("/apiv1/tokens", Some(&app.admin_token), mint.clone())
        .await;
    let (id, text) = (
        minted["data"]["id"].as_str().unwrap(),
        minted["data"]["token"].as_str().unwrap(),
    );
    let mut cut = Live::open(&app, text).await;
    cut_off(&app, &mut cut, &mut other, async {
        let path = format!("/apiv1/token/{id}");
        assert_eq!(app.delete(&path, Some(&app.admin_token)).await.0, 200);
    })
    .await;

    // Expiry writes nothing to the stream: the once-a-second check finds it.
    let (_, minted) = app
        .post("/apiv1/tokens", Some(&app.admin_token), mint)
        .await;
    let (id, text) = (
        minted["data"]["id"].as_str().unwrap(),
        minted["data"]["token"].as_str().unwrap(),
    );
    let mut cut = Live::open(&app, text).await;
    cut_off(&app, &mut cut, &mut other, async {
        let soon = clementine::time::now_ms() + 300;
        let mut redis = app.redis().await;
        let key = format!("{}token:{id}", app.prefix);
        let _: () = redis::cmd("HSET")
            .arg(&key)
            .arg("expires_ms")
            .arg(soon)
            .query_async(&mut redis)
            .await
            .unwrap();
        // Past the next once-a-second check.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    })
    .await;
}

#[tokio::test]
async fn leaving_a_team_ends_the_stream() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (_, control_token) = admin(&app, "control").await;
    let (member, token) = app.user("member").await;
    let team = app.unique("ops");
    let admin_t = Some(app.admin_token.as_str());
    assert_eq!(
        app.post("/apiv1/teams", admin_t, json!({"name": team}))
            .await
            .0,
        200
    );
    let path = format!("/apiv1/team/{team}/members");
    let members = json!({"members": [{"user": member}]});
    assert_eq!(app.put(&path, admin_t, members).await.0, 200);
    let mut cut = Live::open(&app, &token).await;
    let mut other = Live::open(&app, &control_token).await;
    // The member's own entry, to know the stream is live.
    let marker = json!({"name": "marker", "image": {"name": "busybox:latest"}});
    let saved = app.post("/apiv1/image", Some(&token), marker).await;
    assert_eq!(saved.0, 200, "{}", saved.1);
    assert!(
        cut.read_until("marker", 10).await,
        "stream not live: {}",
        cut.text
    );
    let (status, body) = app.put(&path, admin_t, json!({"members": []})).await;
    assert_eq!(status, 200, "{body}");
    // The stream ends within the re-check's grace (slack for a busy machine); the control
    // stream of an unaffected admin goes on.
    cut.read_until("never-sent", 4).await;
    assert!(cut.ended, "still open after leaving the team");
    let after = json!({"name": "after-leaving", "image": {"name": "busybox:latest"}});
    assert_eq!(
        app.post("/apiv1/image", Some(&control_token), after)
            .await
            .0,
        200
    );
    assert!(other.read_until("after-leaving", 10).await);
}
