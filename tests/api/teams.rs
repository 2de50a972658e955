//! Teams own objects: members see and act on them, non-members (and members of other teams) get
//! 404 exactly as for what does not exist; the engine-side names are the team's and never meet a
//! user's of the same name; leaving takes access away at once; quotas and deletion per team.

use reqwest::Method as M;
use serde_json::{Value, json};

use crate::common::{TestApp, assert_error, sleeper};

async fn team(app: &TestApp, name: &str, members: Value, engines: &[&str]) -> String {
    let team = app.unique(name);
    let admin = Some(app.admin_token.as_str());
    let (status, made) = app.post("/apiv1/teams", admin, json!({"name": team})).await;
    assert_eq!(status, 200, "{made}");
    let path = format!("/apiv1/team/{team}/members");
    let (status, body) = app.put(&path, admin, json!({"members": members})).await;
    assert_eq!(status, 200, "{body}");
    let path = format!("/apiv1/team/{team}/engines");
    let (status, body) = app.put(&path, admin, json!({"engines": engines})).await;
    assert_eq!(status, 200, "{body}");
    team
}

#[tokio::test]
async fn members_act_on_team_objects_and_nobody_else_sees_them() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, ann_t) = app.user("ann").await;
    let (bob, bob_t) = app.user("bob").await;
    let (_dave, dave_t) = app.user("dave").await;
    let (eve, eve_t) = app.user("eve").await;
    let ops = team(
        &app,
        "ops",
        json!([{"user": ann, "role": "maintainer"}, {"user": bob}]),
        &["e1"],
    )
    .await;
    let _dev = team(&app, "dev", json!([{"user": eve}]), &["e1"]).await;
    // Teams are read with the account at every request: the tokens made before work as they are.

    // Ann has no grant of her own: the team's engine serves the team's run.
    let run = format!("/apiv1/container?team={ops}");
    let (status, ran) = app
        .post(
            &run,
            Some(&ann_t),
            sleeper(json!({"container_name": "web"})),
        )
        .await;
    assert_eq!(status, 200, "{ran}");
    let c = &ran["data"];
    assert_eq!(c["owner"], format!("team:{ops}"));
    let id = c["id"].as_str().unwrap().to_string();
    let inspect = crate::common::docker(1).inspect(&id).await.unwrap();
    let engine_name = inspect.name.unwrap();
    assert!(
        engine_name.contains(&format!(".t{}.{ops}.web", ops.len())),
        "{engine_name}"
    );
    // A user named like the team runs a container of the same name: no collision.
    let twin = app.unique("ops");
    let body = json!({"username": twin, "password": "user-password-1"});
    assert_eq!(
        app.post("/apiv1/user", Some(&app.admin_token), body)
            .await
            .0,
        200
    );
    app.grant(&twin, &["e1"]).await;
    let twin_t = app.login(&twin, "user-password-1").await;
    let (status, other) = app
        .run(&twin_t, sleeper(json!({"container_name": "web"})))
        .await;
    assert_eq!(status, 200, "{other}");
    assert_ne!(other["data"]["id"], c["id"]);

    // Bob, a member, sees it, reads it by its name, and acts on it.
    let path = format!("/apiv1/engine/e1/container/{id}");
    let (_, list) = app.get("/apiv1/containers", Some(&bob_t)).await;
    assert!(list.to_string().contains(&id), "{list}");
    assert_eq!(
        app.get("/apiv1/engine/e1/container/web", Some(&bob_t))
            .await
            .0,
        200
    );
    assert_eq!(
        app.post(&format!("{path}/restart?t=0"), Some(&bob_t), json!({}))
            .await
            .0,
        200
    );
    // ... and destroys another of the team's containers that ann made.
    let (status, second) = app.post(&run, Some(&ann_t), sleeper(json!({}))).await;
    assert_eq!(status, 200, "{second}");
    let second = format!(
        "/apiv1/engine/e1/container/{}",
        second["data"]["id"].as_str().unwrap()
    );
    assert_eq!(app.delete(&second, Some(&bob_t)).await.0, 200);
    // Dave (no team) and Eve (another team): 404 everywhere, and nothing listed.
    for token in [&dave_t, &eve_t] {
        for (method, p) in [
            (M::GET, path.clone()),
            (M::GET, format!("{path}/logs")),
            (M::DELETE, path.clone()),
        ] {
            let (status, body) = app.request(method.clone(), &p, Some(token), None).await;
            assert_eq!(status, 404, "{method} {p}: {body}");
        }
        let (_, list) = app.get("/apiv1/containers", Some(token)).await;
        assert!(!list.to_string().contains(&id), "{list}");
        assert_error(
            &app.get(&format!("/apiv1/team/{ops}"), Some(token)).await,
            404,
            "team_not_found",
        );
        let refused = app.post(&run, Some(token), sleeper(json!({}))).await;
        assert_error(&refused, 404, "team_not_found");
    }
    // The audit entry names the acting user and the owning team; members see it.
    let events = app.all_events().await;
    let schedule = (events.iter())
        .find(|e| e["action"] == "container.schedule" && e["container"] == id.as_str())
        .expect("audited");
    assert_eq!(
        (schedule["actor"].as_str(), schedule["team"].as_str()),
        (Some(ann.as_str()), Some(ops.as_str()))
    );
    let (_, seen) = app
        .get("/apiv1/events?action=container.schedule", Some(&bob_t))
        .await;
    assert!(
        seen.to_string().contains(&id),
        "a member sees the team's entries"
    );
    let (_, unseen) = app
        .get("/apiv1/events?action=container.schedule", Some(&eve_t))
        .await;
    assert!(!unseen.to_string().contains(&id), "{unseen}");

    // Only maintainers and admins manage members: bob cannot; ann removes him; he loses access.
    let members = format!("/apiv1/team/{ops}/members");
    let refused = app
        .put(&members, Some(&bob_t), json!({"members": []}))
        .await;
    assert_error(&refused, 403, "forbidden");
    let kept = json!({"members": [{"user": ann, "role": "maintainer"}]});
    assert_eq!(app.put(&members, Some(&ann_t), kept).await.0, 200);
    assert_eq!(
        app.get(&path, Some(&bob_t)).await.0,
        404,
        "access outlived leaving"
    );
    app.cleanup_containers().await;
}

#[tokio::test]
async fn team_quotas_and_deletion() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, _) = app.user("ann").await;
    let ops = team(&app, "ops", json!([{"user": ann}]), &["e1"]).await;
    let ann_t = app.login(&ann, "user-password-1").await;
    let quota = format!("/apiv1/team/{ops}/quota");
    assert_eq!(
        app.put(&quota, Some(&app.admin_token), json!({"containers": 1}))
            .await
            .0,
        200
    );
    let run = format!("/apiv1/container?team={ops}");
    assert_eq!(
        app.post(&run, Some(&ann_t), sleeper(json!({}))).await.0,
        200
    );
    let refused = app.post(&run, Some(&ann_t), sleeper(json!({}))).await;
    let message = assert_error(&refused, 409, "quota_exceeded");
    assert!(message.contains(&format!("team {ops}")), "{message}");
    // Her own quota is apart from the team's.
    let (_, quotas) = app.get("/apiv1/quota", Some(&ann_t)).await;
    let teams: Vec<&Value> = (quotas["data"].as_array().unwrap().iter())
        .filter(|q| q["kind"] == "team")
        .collect();
    assert_eq!(teams[0]["used"]["containers"], 1, "{quotas}");
    // A team's volume: a member removes it by the name the team gave it; others get 404.
    let (dave, dave_t) = app.user("dave").await;
    app.grant(&dave, &["e1"]).await;
    let with = sleeper(json!({"volumes": ["shared:/data"], "args": ["true"]}));
    let quota_off = json!({"containers": 5});
    assert_eq!(
        app.put(&quota, Some(&app.admin_token), quota_off).await.0,
        200
    );
    let (status, ran) = app.post(&run, Some(&ann_t), with).await;
    assert_eq!(status, 200, "{ran}");
    let c = format!(
        "/apiv1/engine/e1/container/{}",
        ran["data"]["id"].as_str().unwrap()
    );
    assert_eq!(app.delete(&c, Some(&ann_t)).await.0, 200);
    let volume = "/apiv1/engine/e1/volume/shared";
    assert_error(
        &app.delete(volume, Some(&dave_t)).await,
        404,
        "volume_not_found",
    );
    assert_eq!(app.delete(volume, Some(&ann_t)).await.0, 200);
    // Deleting a team that owns a container: 409 naming it; purge destroys it, audited.
    let path = format!("/apiv1/team/{ops}");
    let refused = app.delete(&path, Some(&app.admin_token)).await;
    assert_error(&refused, 409, "team_owns_objects");
    assert_eq!(
        app.delete(&format!("{path}?purge=true"), Some(&app.admin_token))
            .await
            .0,
        200
    );
    let (_, list) = app
        .get("/apiv1/containers?fresh=true", Some(&app.admin_token))
        .await;
    assert!(!list.to_string().contains(&format!("team:{ops}")), "{list}");
    assert_error(
        &app.get(&path, Some(&app.admin_token)).await,
        404,
        "team_not_found",
    );
    // Users may not make or delete teams.
    let refused = app
        .post("/apiv1/teams", Some(&ann_t), json!({"name": "mine"}))
        .await;
    assert_error(&refused, 403, "forbidden");
}

#[tokio::test]
async fn a_teams_configs_and_credentials_serve_its_members_only() {
    let app = TestApp::spawn_with(|env| {
        let server = crate::common::private_registry().0;
        let registries = format!("{},{server}", env["CLEMENTINE_PULL_REGISTRIES"]);
        env.insert("CLEMENTINE_PULL_REGISTRIES".into(), registries);
    })
    .await;
    app.add_engine("e3", 3, &[]).await;
    let (ann, ann_t) = app.user("ann").await;
    let (bob, bob_t) = app.user("bob").await;
    let (dave, dave_t) = app.user("dave").await;
    let ops = team(&app, "ops", json!([{"user": ann}, {"user": bob}]), &["e3"]).await;
    app.grant(&ann, &["e3"]).await;
    app.grant(&dave, &["e3"]).await;
    let (server, user, password) = crate::common::private_registry();
    let image = json!({"name": format!("{server}/clementine/private:1"), "args": ["sleep", "600"],
                       "cpus": 0.05, "memory": 8, "pull": "always"});
    let saved = json!({"name": "cfg", "team": ops, "image": image});
    let (status, body) = app.post("/apiv1/image", Some(&ann_t), saved).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["owner"], format!("team:{ops}"));
    let creds = json!({"server": server, "username": user, "password": password, "team": ops});
    let (status, body) = app.post("/apiv1/registry", Some(&ann_t), creds).await;
    assert_eq!(status, 200, "{body}");

    // Bob, a member, runs the team's config: the team's credentials pull it, the team owns it.
    let run = format!("/apiv1/image/cfg/run?team={ops}");
    let (status, ran) = app.post(&run, Some(&bob_t), json!({})).await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(ran["data"]["owner"], format!("team:{ops}"));
    let (_, listed) = app.get("/apiv1/images", Some(&bob_t)).await;
    assert!(
        listed.to_string().contains(&format!("team:{ops}")),
        "{listed}"
    );
    let (_, registries) = app.get("/apiv1/registries", Some(&bob_t)).await;
    assert_eq!(
        registries["data"].as_array().unwrap().len(),
        1,
        "{registries}"
    );
    // Dave is no member: the team's config and credentials are not there for him.
    let path = format!("/apiv1/image/cfg?team={ops}");
    assert_error(&app.get(&path, Some(&dave_t)).await, 404, "team_not_found");
    assert_error(
        &app.get("/apiv1/image/cfg", Some(&dave_t)).await,
        404,
        "image_not_found",
    );
    let (_, theirs) = app.get("/apiv1/registries", Some(&dave_t)).await;
    assert_eq!(theirs["data"], json!([]), "{theirs}");
    // The team's credentials are not ann's own: her own run of the image cannot pull.
    let mine = app.run(&ann_t, image_of(&server)).await;
    assert_error(&mine, 422, "registry_unauthorized");
    app.cleanup_containers().await;
}

fn image_of(server: &str) -> Value {
    json!({"name": format!("{server}/clementine/private:1"), "args": ["sleep", "600"],
           "cpus": 0.05, "memory": 8, "pull": "always"})
}
