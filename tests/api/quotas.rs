//! Quotas: checked and taken inside the claim, so that a burst over two processes never
//! overshoots; refusals name the owner, resource, use and limit; release gives back; volumes
//! count when made; reconcile keeps use true; `/metrics` shows owners with a quota.

use serde_json::{Value, json};

use crate::common::{TestApp, assert_error, short_id, sleeper, test_env};
use clementine::cluster::Source;

fn tiny(name: &str) -> Value {
    sleeper(json!({"cpus": 0.01, "memory": 6, "container_name": name}))
}

async fn quota_of(app: &TestApp, token: &str) -> Value {
    let (status, quotas) = app.get("/apiv1/quota", Some(token)).await;
    assert_eq!(status, 200, "{quotas}");
    quotas["data"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_over_two_processes_never_overshoots() {
    let id = short_id();
    let a = TestApp::spawn_env(id.clone(), test_env(&id)).await;
    let b = TestApp::spawn_env(id.clone(), test_env(&id)).await;
    for (e, i) in [("e1", 1), ("e2", 2), ("e3", 3)] {
        a.add_engine(e, i, &[]).await;
    }
    let (ann, token) = a.user("ann").await;
    a.grant(&ann, &["e1", "e2", "e3"]).await;
    let path = format!("/apiv1/user/{ann}/quota");
    let (status, set) = a
        .put(&path, Some(&a.admin_token), json!({"containers": 10}))
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["data"]["limits"], json!({"containers": 10}));

    let runs = (0..40).map(|n| {
        let app = if n % 2 == 0 { &a } else { &b };
        let token = token.clone();
        async move { app.run(&token, tiny(&format!("q{n}"))).await }
    });
    let answers = futures::future::join_all(runs).await;
    let ok = answers.iter().filter(|(s, _)| *s == 200).count();
    let refused: Vec<&Value> = (answers.iter())
        .filter(|(s, _)| *s == 409)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(ok, 10, "{answers:?}");
    assert_eq!(refused.len(), 30, "{answers:?}");
    for body in refused {
        assert_eq!(body["error"]["code"], "quota_exceeded", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("user {ann}"))
                && message.contains("containers 10 in use of 10"),
            "{message}"
        );
    }
    let mine = quota_of(&b, &token).await;
    assert_eq!(
        (mine["kind"].as_str(), mine["name"].as_str()),
        (Some("user"), Some(ann.as_str()))
    );
    assert_eq!(mine["used"]["containers"], 10, "{mine}");
    assert_eq!(mine["limits"]["containers"], 10);

    // Destroy one and one more runs; then the limit holds again.
    let first = answers.iter().find(|(s, _)| *s == 200).unwrap();
    let c = &first.1["data"];
    let path = format!(
        "/apiv1/engine/{}/container/{}",
        c["engine"]["id"].as_str().unwrap(),
        c["id"].as_str().unwrap()
    );
    assert_eq!(a.delete(&path, Some(&token)).await.0, 200);
    assert_eq!(quota_of(&a, &token).await["used"]["containers"], 9);
    assert_eq!(b.run(&token, tiny("again")).await.0, 200);
    assert_error(&a.run(&token, tiny("over")).await, 409, "quota_exceeded");
    a.cleanup_containers().await;
}

#[tokio::test]
async fn every_resource_is_limited_and_volumes_count_when_made() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, token) = app.user("ann").await;
    app.grant(&ann, &["e1"]).await;
    let path = format!("/apiv1/user/{ann}/quota");
    let limits = json!({"cpus": 0.05, "memory": 20, "volumes": 1, "published_ports": 1});
    assert_eq!(app.put(&path, Some(&app.admin_token), limits).await.0, 200);
    for (config, resource) in [
        (
            sleeper(json!({"cpus": 0.06, "memory": 6})),
            "cpus 0 in use of 0.05",
        ),
        (
            sleeper(json!({"cpus": 0.01, "memory": 21})),
            "memory 0 MB in use of 20 MB",
        ),
        (
            sleeper(json!({"cpus": 0.01, "memory": 6, "bind_ports": [
                {"port": 20001, "container_port": 80}, {"port": 20002, "container_port": 81}]})),
            "published_ports 0 in use of 1",
        ),
    ] {
        let refused = app.run(&token, config).await;
        let message = assert_error(&refused, 409, "quota_exceeded");
        assert!(message.ends_with(resource), "{message}");
    }
    // One volume may be made; a second is refused before the engine makes it.
    let with =
        |v: &str| sleeper(json!({"cpus": 0.01, "memory": 6, "volumes": [format!("{v}:/data")]}));
    assert_eq!(app.run(&token, with("one")).await.0, 200);
    let refused = app.run(&token, with("two")).await;
    assert!(assert_error(&refused, 409, "quota_exceeded").contains("volumes 1 in use of 1"));
    let (_, volumes) = app.get("/apiv1/volumes", Some(&token)).await;
    assert_eq!(
        volumes["data"]["volumes"].as_array().unwrap().len(),
        1,
        "{volumes}"
    );
    // The same volume again is no new volume.
    assert_eq!(app.run(&token, with("one")).await.0, 200);
    let mine = quota_of(&app, &token).await;
    assert_eq!(mine["used"]["volumes"], 1, "{mine}");
    assert_eq!(mine["used"]["containers"], 2, "{mine}");
    // /metrics shows owners with a quota, and only them.
    let (_, metrics) = app.get("/metrics", None).await;
    let text = metrics.as_str().unwrap_or_default().to_string();
    let line = format!("clementine_quota_limit{{owner=\"{ann}\",resource=\"volumes\"}} 1");
    assert!(text.contains(&line), "{line} not in /metrics");
    assert!(
        !text.contains(&format!("owner=\"{}\"", app.admin)),
        "an unlimited owner is exported"
    );
    // Lifting the limits: `{}`.
    assert_eq!(
        app.put(&path, Some(&app.admin_token), json!({})).await.0,
        200
    );
    assert_eq!(quota_of(&app, &token).await["limits"], json!({}));
    app.cleanup_containers().await;
}

#[tokio::test]
async fn quotas_are_for_admins_and_bounded() {
    let app = TestApp::spawn().await;
    let (ann, token) = app.user("ann").await;
    let path = format!("/apiv1/user/{ann}/quota");
    assert_error(
        &app.put(&path, Some(&token), json!({"containers": 99}))
            .await,
        403,
        "forbidden",
    );
    for (body, field) in [
        (json!({"containers": -1}), "containers"),
        (json!({"cpus": 1e12}), "cpus"),
        (json!({"volumes": 1u64 << 60}), "volumes"),
        (json!({"gpus": 1}), "gpus"),
    ] {
        let refused = app.put(&path, Some(&app.admin_token), body).await;
        assert!(assert_error(&refused, 400, "invalid_request").contains(field));
    }
    let missing = app
        .put(
            "/apiv1/user/nobody-x/quota",
            Some(&app.admin_token),
            json!({}),
        )
        .await;
    assert_error(&missing, 404, "user_not_found");
    let events = app.all_events().await;
    assert!(
        !events
            .iter()
            .any(|e| e["action"] == "quota.set" && e["outcome"] == "ok")
    );
    assert_eq!(
        app.put(&path, Some(&app.admin_token), json!({"containers": 3}))
            .await
            .0,
        200
    );
    let events = app.all_events().await;
    let set = events
        .iter()
        .find(|e| e["action"] == "quota.set" && e["outcome"] == "ok");
    assert_eq!(set.unwrap()["target"], ann.as_str());
}

#[tokio::test]
async fn reconcile_gives_back_what_vanished_with_an_engine() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, token) = app.user("ann").await;
    let team = app.unique("ops");
    let admin = Some(app.admin_token.as_str());
    assert_eq!(
        app.post("/apiv1/teams", admin, json!({"name": team}))
            .await
            .0,
        200
    );
    let members = json!({"members": [{"user": ann}]});
    let path = format!("/apiv1/team/{team}/members");
    assert_eq!(app.put(&path, admin, members).await.0, 200);
    let path = format!("/apiv1/team/{team}/engines");
    assert_eq!(
        app.put(&path, admin, json!({"engines": ["e1"]})).await.0,
        200
    );
    let run = format!("/apiv1/container?team={team}");
    let (_, kept) = app.post(&run, Some(&token), tiny("kept")).await;
    let (_, lost) = app.post(&run, Some(&token), tiny("lost")).await;
    let team_use = |quotas: Value| {
        let all = quotas["data"].as_array().cloned().unwrap_or_default();
        all.into_iter().find(|q| q["kind"] == "team").unwrap()["used"].clone()
    };
    let (_, quotas) = app.get("/apiv1/quota", Some(&token)).await;
    assert_eq!(team_use(quotas)["containers"], 2);
    // The engine loses a team container behind clementine's back (a wiped host); its claim
    // is past the grace a create in flight gets.
    let id = lost["data"]["id"].as_str().unwrap();
    let d = crate::common::docker(1);
    let op = d.inspect(id).await.unwrap().config.unwrap().labels.unwrap()["clementine.op"].clone();
    d.remove(id).await.unwrap();
    let mut redis = app.redis().await;
    let _: () = redis::cmd("HSET")
        .arg(format!("{}claim:{op}", app.prefix))
        .arg("created_ms")
        .arg(1)
        .query_async(&mut redis)
        .await
        .unwrap();
    let report = (app.cluster.reconcile_claims(Source::Live).await).unwrap();
    assert_eq!(report.released, 1, "{report:?}");
    let (_, quotas) = app.get("/apiv1/quota", Some(&token)).await;
    let used = team_use(quotas);
    assert_eq!(
        (used["containers"].clone(), used["cpus"].clone()),
        (json!(1), json!(0.01))
    );
    assert!(kept["data"]["id"].is_string());
    app.cleanup_containers().await;
}

#[tokio::test]
async fn reconcile_counts_volumes_removed_behind_our_back() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, token) = app.user("ann").await;
    app.grant(&ann, &["e1"]).await;
    let with = sleeper(json!({"cpus": 0.01, "memory": 6, "volumes": ["gone:/data"]}));
    let (status, ran) = app.run(&token, with).await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(quota_of(&app, &token).await["used"]["volumes"], 1);
    // The container and its volume vanish from the engine.
    let d = crate::common::docker(1);
    d.remove(ran["data"]["id"].as_str().unwrap()).await.unwrap();
    d.remove_volume(&app.cluster.engine_name(&ann, "gone"))
        .await
        .unwrap();
    app.cluster.reconcile(Source::Live).await.unwrap();
    assert_eq!(quota_of(&app, &token).await["used"]["volumes"], 0);
}
