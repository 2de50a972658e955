//! Tenants on shared engines: denied attempts are audited; names, volumes and networks of one
//! tenant are out of another's reach.

use serde_json::{Value, json};

use crate::common::{TestApp, assert_error, sleeper};

/// The `auth.denied` entries of the stream, oldest first (read as the admin).
async fn denied(app: &TestApp) -> Vec<Value> {
    let (_, page) = app
        .get(
            "/apiv1/events?action=auth.denied&order=asc",
            Some(&app.admin_token),
        )
        .await;
    page["data"]["events"].as_array().unwrap().clone()
}

#[tokio::test]
async fn every_403_is_one_auth_denied_entry() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, token) = app.user("ann").await;
    app.grant(&ann, &["e1"]).await;

    // The tenant guard.
    let resp = app.run(&token, sleeper(json!({"privileged": true}))).await;
    assert_error(&resp, 403, "option_not_allowed");
    // A role check.
    let resp = app
        .post(
            "/apiv1/engine",
            Some(&token),
            json!({"id": "x", "addr": "https://127.0.0.1:1"}),
        )
        .await;
    assert_error(&resp, 403, "forbidden");

    let entries = denied(&app).await;
    assert_eq!(entries.len(), 2, "{entries:#?}");
    let guard = &entries[0];
    assert_eq!(guard["actor"], json!(ann));
    assert_eq!(guard["role"], json!("user"));
    assert_eq!(guard["target"], json!("/apiv1/container"));
    assert!(
        guard["error"].as_str().unwrap().contains("privileged"),
        "{guard}"
    );
    assert!(
        guard.get("phase").is_none(),
        "a single entry, not a pair: {guard}"
    );
    assert!(guard["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    let detail: Value = serde_json::from_str(guard["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["route"], json!("POST /apiv1/container"));
    assert_eq!(entries[1]["target"], json!("/apiv1/engine"));
    // Nothing was created for the refused run.
    let (_, list) = app.get("/apiv1/containers", Some(&token)).await;
    assert_eq!(list["data"]["containers"], json!([]));
    // Ann sees her own denied attempts too.
    let (_, mine) = app
        .get("/apiv1/events?action=auth.denied", Some(&token))
        .await;
    assert_eq!(mine["data"]["events"].as_array().unwrap().len(), 2);
}

/// A container that prints what its volume holds, writes `text` into it, says `wrote`, and
/// keeps running.
fn writer(volume: &str, text: &str) -> Value {
    sleeper(json!({
        "labels": ["host:e1"], "type": "host",
        "volumes": [format!("{volume}:/data")],
        "args": ["sh", "-c", format!("echo found:; cat /data/s 2>/dev/null; echo {text} > /data/s; echo wrote; sync; sleep 600")],
    }))
}

/// A container's log lines once it has said `wrote` (its write is done), within 10 s.
async fn logs_of(app: &TestApp, token: &str, container: &Value) -> Vec<String> {
    let id = container["data"]["id"].as_str().unwrap();
    let path = format!("/apiv1/engine/e1/container/{id}/logs?tail=20");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        let (_, logs) = app.get(&path, Some(token)).await;
        let lines: Vec<String> =
            serde_json::from_value(logs["data"]["lines"].clone()).unwrap_or_default();
        if lines.iter().any(|l| l == "wrote") {
            return lines;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{id} did not write in 10 s")
}

/// The theft from the issue, replayed: bob names ann's volume and reads nothing of hers.
#[tokio::test]
async fn a_volume_belongs_to_its_owner() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    app.add_engine("e2", 2, &[]).await;
    let (ann, ann_token) = app.user("ann").await;
    let (bob, bob_token) = app.user("bob").await;
    app.grant(&ann, &["e1", "e2"]).await;
    app.grant(&bob, &["e1", "e2"]).await;

    let (status, ann_c) = app
        .run(&ann_token, writer("annsecret", "ann-private"))
        .await;
    assert_eq!(status, 200, "{ann_c}");
    // Ann's secret is in her volume before bob looks.
    logs_of(&app, &ann_token, &ann_c).await;
    // Bob's "annsecret" is his own, new and empty.
    let (status, bob_c) = app.run(&bob_token, writer("annsecret", "bob-data")).await;
    assert_eq!(status, 200, "{bob_c}");
    let bob_saw = logs_of(&app, &bob_token, &bob_c).await;
    assert_eq!(bob_saw[0], "found:");
    assert!(
        !bob_saw.iter().any(|l| l.contains("ann-private")),
        "{bob_saw:?}"
    );

    // Naming ann's volume by its engine-side name is refused before anything is made.
    let (_, vols) = app.get("/apiv1/volumes", Some(&ann_token)).await;
    let mine = vols["data"]["volumes"].as_array().unwrap();
    assert_eq!(mine.len(), 1, "{vols}");
    assert_eq!(
        (mine[0]["name"].as_str(), mine[0]["owner"].as_str()),
        (Some("annsecret"), Some(ann.as_str()))
    );
    let engine_name = mine[0]["engine_name"].as_str().unwrap().to_string();
    let resp = app.run(&bob_token, writer(&engine_name, "stolen")).await;
    assert!(assert_error(&resp, 403, "option_not_allowed").contains("volumes"));
    let (_, bobs) = app.get("/apiv1/containers", Some(&bob_token)).await;
    assert_eq!(
        bobs["data"]["containers"].as_array().unwrap().len(),
        1,
        "no container made"
    );
    // Nor can he reach it through the volume routes.
    let path = format!("/apiv1/engine/e1/volume/{engine_name}");
    assert_error(
        &app.delete(&path, Some(&bob_token)).await,
        404,
        "volume_not_found",
    );

    // Each sees their own; the admin sees both, with owners.
    let (_, bob_vols) = app.get("/apiv1/volumes", Some(&bob_token)).await;
    let bob_list = bob_vols["data"]["volumes"].as_array().unwrap();
    assert_eq!(bob_list.len(), 1);
    assert_eq!(bob_list[0]["owner"], json!(bob));
    assert_ne!(bob_list[0]["engine_name"], json!(engine_name));
    let (_, all) = app.get("/apiv1/volumes", Some(&app.admin_token)).await;
    let owners: Vec<&str> = all["data"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["name"] == json!("annsecret"))
        .filter_map(|v| v["owner"].as_str())
        .collect();
    assert!(
        owners.contains(&ann.as_str()) && owners.contains(&bob.as_str()),
        "{all}"
    );

    // Data stays where it was made: without a pin, ann's next run goes to e1.
    let follow = sleeper(json!({"volumes": ["annsecret:/data"]}));
    let (status, second) = app
        .post("/apiv1/container?strategy=spread", Some(&ann_token), follow)
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["data"]["engine"]["id"], json!("e1"));

    // A volume made behind clementine's back, even under ann's engine-side name, is never
    // mounted for her.
    let d = crate::common::docker(1);
    let planted = app.cluster.engine_name(&ann, "planted");
    let create = bollard::models::VolumeCreateRequest {
        name: Some(planted.clone()),
        ..Default::default()
    };
    d.docker().create_volume(create).await.unwrap();
    let resp = app.run(&ann_token, writer("planted", "x")).await;
    assert_error(&resp, 409, "not_owned");
    d.remove_volume(&planted).await.unwrap();
    // An admin mounts any volume by its engine-side name.
    let admin_run = writer(&engine_name, "admin-was-here");
    let (status, admin_c) = app.run(&app.admin_token, admin_run).await;
    assert_eq!(status, 200, "{admin_c}");
    let admin_saw = logs_of(&app, &app.admin_token, &admin_c).await;
    assert!(
        admin_saw.iter().any(|l| l.contains("ann-private")),
        "{admin_saw:?}"
    );
    let admin_id = admin_c["data"]["id"].as_str().unwrap();
    let path = format!("/apiv1/engine/e1/container/{admin_id}");
    assert_eq!(app.delete(&path, Some(&app.admin_token)).await.0, 200);

    // Removal: 409 while in use, then gone, audited.
    let own = "/apiv1/engine/e1/volume/annsecret";
    assert_error(
        &app.delete(own, Some(&ann_token)).await,
        409,
        "volume_in_use",
    );
    for c in [&ann_c, &second] {
        let id = c["data"]["id"].as_str().unwrap();
        let path = format!("/apiv1/engine/e1/container/{id}");
        assert_eq!(app.delete(&path, Some(&ann_token)).await.0, 200);
    }
    let (status, gone) = app.delete(own, Some(&ann_token)).await;
    assert_eq!(status, 200, "{gone}");
    assert_error(
        &app.delete(own, Some(&ann_token)).await,
        404,
        "volume_not_found",
    );
    let (_, events) = app
        .get("/apiv1/events?action=volume.delete", Some(&ann_token))
        .await;
    assert!(!events["data"]["events"].as_array().unwrap().is_empty());
    app.cleanup_containers().await;
}

/// Ann's and bob's containers on one engine sit on different networks, neither on Docker's
/// default bridge; ann's two containers share hers and answer there by the names she gave.
/// Checked by inspecting the networks, not by sending traffic.
#[tokio::test]
async fn tenants_get_their_own_networks_and_names() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, ann_token) = app.user("ann").await;
    let (bob, bob_token) = app.user("bob").await;
    app.grant(&ann, &["e1"]).await;
    app.grant(&bob, &["e1"]).await;
    let named = |name: &str| sleeper(json!({"container_name": name}));
    let (s1, web) = app.run(&ann_token, named("web")).await;
    let (s2, client) = app.run(&ann_token, named("client")).await;
    // The same name for bob: no clash, and nothing said about ann's.
    let (s3, bobs_web) = app.run(&bob_token, named("web")).await;
    assert_eq!((s1, s2, s3), (200, 200, 200), "{web} {client} {bobs_web}");
    assert_eq!(web["data"]["name"], json!("/web"));
    assert_eq!(bobs_web["data"]["name"], json!("/web"));
    let id = |c: &Value| c["data"]["id"].as_str().unwrap().to_string();
    let (_, found) = app
        .get("/apiv1/engine/e1/container/web", Some(&bob_token))
        .await;
    assert_eq!(found["data"]["id"], json!(id(&bobs_web)));
    let (_, found) = app
        .get("/apiv1/engine/e1/container/web", Some(&ann_token))
        .await;
    assert_eq!(found["data"]["id"], json!(id(&web)));
    let theirs = format!("/apiv1/engine/e1/container/{}", id(&web));
    assert_error(
        &app.delete(&theirs, Some(&bob_token)).await,
        404,
        "container_not_found",
    );

    let d = crate::common::docker(1);
    let network_of = |owner: &str| app.cluster.engine_name(owner, "default");
    let members = |network: String| {
        let d = &d;
        async move {
            let n = d.docker().inspect_network(&network, None).await.unwrap();
            let labels = n.labels.unwrap_or_default();
            let members: Vec<(String, Vec<String>)> = n
                .containers
                .unwrap_or_default()
                .into_keys()
                .map(|c| (c, Vec::new()))
                .collect();
            (labels, members)
        }
    };
    let (ann_labels, ann_members) = members(network_of(&ann)).await;
    let (_, bob_members) = members(network_of(&bob)).await;
    assert_eq!(ann_labels.get("clementine.owner"), Some(&ann));
    let ids = |m: &[(String, Vec<String>)]| m.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>();
    let ann_ids = ids(&ann_members);
    assert!(
        ann_ids.contains(&id(&web)) && ann_ids.contains(&id(&client)),
        "{ann_ids:?}"
    );
    assert_eq!(ids(&bob_members), [id(&bobs_web)]);
    let bridge = d.docker().inspect_network("bridge", None).await.unwrap();
    let on_bridge = bridge.containers.unwrap_or_default();
    for c in [&web, &client, &bobs_web] {
        assert!(
            !on_bridge.contains_key(&id(c)),
            "{} is on the default bridge",
            id(c)
        );
    }
    // Ann's containers answer to the names she gave, on her network.
    let inspect = d.inspect(&id(&web)).await.unwrap();
    let endpoints = inspect.network_settings.unwrap().networks.unwrap();
    let aliases = endpoints[&network_of(&ann)]
        .aliases
        .clone()
        .unwrap_or_default();
    assert!(aliases.contains(&"web".to_string()), "{aliases:?}");
    app.cleanup_containers().await;
}

/// Options and names that would reach other tenants or the host are refused, each naming the
/// field, before anything reaches Docker.
#[tokio::test]
async fn escapes_are_refused_at_the_edge() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, token) = app.user("ann").await;
    app.grant(&ann, &["e1"]).await;
    let refused = [
        (json!({"volumes": ["/etc:/host"]}), 403, "volumes"),
        (json!({"volumes": ["data:/x:rx"]}), 400, "volumes[0]"),
        (json!({"volumes": ["../up:/x"]}), 403, "volumes"),
        (json!({"volumes": ["a b:/x"]}), 400, "volumes[0]"),
        (json!({"network_mode": "bridge"}), 403, "network_mode"),
        (json!({"network_mode": "host"}), 403, "network_mode"),
        (
            json!({"network_mode": "container:abc"}),
            403,
            "network_mode",
        ),
        (json!({"network_mode": "a b"}), 400, "network_mode"),
        (json!({"container_name": "../x"}), 400, "container_name"),
    ];
    for (extra, status, field) in refused {
        let resp = app.run(&token, sleeper(extra.clone())).await;
        assert_eq!(resp.0, status, "{extra}: {}", resp.1);
        let message = resp.1["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{extra}: {message}");
    }
    let (_, list) = app.get("/apiv1/containers", Some(&token)).await;
    assert_eq!(list["data"]["containers"], json!([]));
}

/// This process remembers the tenant networks it has made; one removed behind its back since
/// is made again, with its owner's labels, by the next run.
#[tokio::test]
async fn a_tenant_network_removed_behind_our_back_is_made_again() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, token) = app.user("ann").await;
    app.grant(&ann, &["e1"]).await;
    let (status, first) = app.run(&token, sleeper(json!({}))).await;
    assert_eq!(status, 200, "{first}");
    let d = crate::common::docker(1);
    d.remove(first["data"]["id"].as_str().unwrap())
        .await
        .unwrap();
    let network = app.cluster.engine_name(&ann, "default");
    d.docker().remove_network(&network).await.unwrap();

    let (status, second) = app.run(&token, sleeper(json!({}))).await;
    assert_eq!(status, 200, "{second}");
    let made = d.docker().inspect_network(&network, None).await.unwrap();
    let labels = made.labels.unwrap_or_default();
    assert_eq!(labels.get("clementine.owner"), Some(&ann), "{labels:?}");
    app.cleanup_containers().await;
}

/// Promises of the tenancy section with tests of their own: another tenant's network by its
/// engine-side name, another container's namespaces, a network planted under a tenant's name.
#[tokio::test]
async fn networks_and_namespaces_of_others_are_out_of_reach() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let (ann, ann_token) = app.user("ann").await;
    let (bob, bob_token) = app.user("bob").await;
    app.grant(&ann, &["e1"]).await;
    app.grant(&bob, &["e1"]).await;
    let (status, ann_c) = app
        .run(&ann_token, sleeper(json!({"network_mode": "backend"})))
        .await;
    assert_eq!(status, 200, "{ann_c}");
    let ann_id = ann_c["data"]["id"].as_str().unwrap();
    // Joining ann's network by its engine-side name, or her container's namespaces.
    let hers = app.cluster.engine_name(&ann, "backend");
    for (extra, field) in [
        (json!({"network_mode": hers}), "network_mode"),
        (
            json!({"network_mode": format!("container:{ann_id}")}),
            "network_mode",
        ),
        (
            json!({"pid_mode": format!("container:{ann_id}")}),
            "pid_mode",
        ),
        (
            json!({"ipc_mode": format!("container:{ann_id}")}),
            "ipc_mode",
        ),
    ] {
        let refused = app.run(&bob_token, sleeper(extra.clone())).await;
        let message = assert_error(&refused, 403, "option_not_allowed");
        assert!(message.starts_with(field), "{extra}: {message}");
    }
    // A network made behind clementine's back under bob's name is not his.
    let d = crate::common::docker(1);
    let planted = app.cluster.engine_name(&bob, "planted");
    let create = bollard::models::NetworkCreateRequest {
        name: planted.clone(),
        ..Default::default()
    };
    d.docker().create_network(create).await.unwrap();
    let refused = app
        .run(&bob_token, sleeper(json!({"network_mode": "planted"})))
        .await;
    assert_error(&refused, 409, "not_owned");
    d.docker().remove_network(&planted).await.unwrap();
    app.cleanup_containers().await;
}
