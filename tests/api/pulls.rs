//! Pulls on placement from the test bed's registry (distribution 2.8 on 127.0.0.1:5000): pull
//! on missing, once per engine for concurrent runs; `always` follows a moved tag; `never`,
//! unknown images and a registry that does not answer fail clearly and leave no claim.

use std::collections::HashMap;

use bollard::query_parameters::{
    EventsOptions, PushImageOptions, RemoveImageOptions, TagImageOptions,
};
use futures::StreamExt;
use futures::future::join_all;
use serde_json::{Value, json};

use crate::common::{TestApp, assert_error, docker};

fn registry() -> String {
    std::env::var("CLEMENTINE_TESTBED_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".into())
}

/// Pushes engine 1's `source` as `<registry>/clementine/pulltest:<tag>`; the reference.
async fn push(source: &str, tag: &str) -> String {
    let d = docker(1);
    let repo = format!("{}/clementine/pulltest", registry());
    let options = TagImageOptions {
        repo: Some(repo.clone()),
        tag: Some(tag.to_string()),
    };
    d.docker().tag_image(source, Some(options)).await.unwrap();
    let push = PushImageOptions {
        tag: Some(tag.to_string()),
        ..Default::default()
    };
    let mut stream = d.docker().push_image(&repo, Some(push), None);
    while let Some(item) = stream.next().await {
        let info = item.unwrap();
        assert!(info.error_detail.is_none(), "push: {info:?}");
    }
    let reference = format!("{repo}:{tag}");
    let _ = d
        .docker()
        .remove_image(&reference, None::<RemoveImageOptions>, None)
        .await;
    reference
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `pull` events of an image on engine `i` between two instants (unix seconds).
async fn pulls_on(i: u8, image: &str, since: u64, until: u64) -> usize {
    let filters = HashMap::from([
        ("type".to_string(), vec!["image".to_string()]),
        ("event".to_string(), vec!["pull".to_string()]),
    ]);
    let options = EventsOptions {
        since: Some(since.to_string()),
        until: Some(until.to_string()),
        filters: Some(filters),
    };
    let d = docker(i);
    let events: Vec<_> = d.docker().events(Some(options)).collect().await;
    events
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.actor.as_ref().and_then(|a| a.id.as_deref()) == Some(image))
        .count()
}

fn pinned(image: &str, engine: &str, pull: &str) -> Value {
    json!({"name": image, "args": ["sleep", "600"], "cpus": 0.05, "memory": 8,
           "type": "host", "labels": [format!("host:{engine}")], "pull": pull})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_image_is_pulled_once_per_engine() {
    let app = TestApp::spawn().await;
    app.add_engine("e2", 2, &[]).await;
    let image = push("busybox:latest", &format!("once-{}", app.id)).await;
    let since = now_secs();
    let runs = (0..10).map(|_| app.run(&app.admin_token, pinned(&image, "e2", "missing")));
    let answers = join_all(runs).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    // Every run has answered, so its pull is in the engine's log; the events call returns
    // once `until` (a second from now) has passed.
    assert_eq!(
        pulls_on(2, &image, since, now_secs() + 1).await,
        1,
        "one pull for ten runs"
    );
    let (_, page) = app
        .get(
            "/apiv1/events?action=image.pull&outcome=ok",
            Some(&app.admin_token),
        )
        .await;
    let entries = page["data"]["events"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{page}");
    let detail: Value = serde_json::from_str(entries[0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["registry"], json!(registry()));
    assert!(
        detail["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:")),
        "{detail}"
    );
    app.cleanup_containers().await;
}

#[tokio::test]
async fn always_follows_a_moved_tag() {
    let app = TestApp::spawn().await;
    app.add_engine("e2", 2, &[]).await;
    let tag = format!("moving-{}", app.id);
    let image = push("busybox:latest", &tag).await;
    let image_of = |body: &Value| {
        let id = body["data"]["id"].as_str().unwrap().to_string();
        async move { docker(2).inspect(&id).await.unwrap().image.unwrap() }
    };
    let (status, first) = app
        .run(&app.admin_token, pinned(&image, "e2", "always"))
        .await;
    assert_eq!(status, 200, "{first}");
    push("clementine/web:latest", &tag).await;
    let (status, second) = app
        .run(&app.admin_token, pinned(&image, "e2", "always"))
        .await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(
        image_of(&first).await,
        image_of(&second).await,
        "the newer image runs"
    );
    app.cleanup_containers().await;
}

#[tokio::test]
async fn pull_failures_answer_clearly_and_leave_no_claim() {
    let app = TestApp::spawn().await;
    app.add_engine("e3", 3, &[]).await;
    let t = app.admin_token.clone();
    let absent = push("busybox:latest", &format!("never-{}", app.id)).await;
    let msg = assert_error(
        &app.run(&t, pinned(&absent, "e3", "never")).await,
        409,
        "no_engine_fits",
    );
    assert!(msg.contains("image is not there"), "{msg}");

    let unknown = format!("{}/clementine/nope-{}:1", registry(), app.id);
    let msg = assert_error(
        &app.run(&t, pinned(&unknown, "e3", "missing")).await,
        404,
        "image_not_found",
    );
    assert!(msg.contains(&unknown) && msg.contains(&registry()), "{msg}");

    let down = format!("127.0.0.1:5999/clementine/x-{}:1", app.id);
    let msg = assert_error(
        &app.run(&t, pinned(&down, "e3", "missing")).await,
        503,
        "registry_unavailable",
    );
    assert!(msg.contains("127.0.0.1:5999"), "{msg}");

    let (_, capacity) = app.get("/apiv1/cluster", Some(&t)).await;
    assert_eq!(
        capacity["data"]["total"]["containers"],
        json!(0),
        "{capacity}"
    );
    let (_, pulls) = app
        .get("/apiv1/events?action=image.pull&outcome=error", Some(&t))
        .await;
    assert_eq!(
        pulls["data"]["events"].as_array().unwrap().len(),
        2,
        "{pulls}"
    );
}

#[tokio::test]
async fn pre_pulls_answer_per_engine_and_engines_list_their_images() {
    let app = TestApp::spawn().await;
    app.add_engine("e2", 2, &[]).await;
    app.add_engine("e3", 3, &[]).await;
    let (ann, token) = app.user("ann").await;
    app.grant(&ann, &["e2", "e3"]).await;
    let image = push("busybox:latest", &format!("pre-{}", app.id)).await;
    let body = json!({"image": image, "engines": ["e2", "e3"]});
    let (status, answer) = app.post("/apiv1/images/pull", Some(&token), body).await;
    assert_eq!(status, 200, "{answer}");
    let results = answer["data"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{answer}");
    assert!(results.iter().all(|r| r["ok"] == json!(true)), "{answer}");
    let (status, held) = app.get("/apiv1/engine/e3/images", Some(&token)).await;
    assert_eq!(status, 200, "{held}");
    assert!(held.to_string().contains(&image), "{held}");
    // A missing image answers per engine; an engine not granted is 404; bad input is named.
    let missing =
        json!({"image": format!("{}/clementine/none-{}:1", registry(), app.id), "engines": ["e2"]});
    let (_, failed) = app.post("/apiv1/images/pull", Some(&token), missing).await;
    assert_eq!(failed["data"][0]["ok"], json!(false), "{failed}");
    let (other, other_token) = app.user("other").await;
    app.grant(&other, &["e2"]).await;
    let hidden = json!({"image": image, "engines": ["e3"]});
    assert_error(
        &app.post("/apiv1/images/pull", Some(&other_token), hidden)
            .await,
        404,
        "engine_not_found",
    );
    let bad = json!({"image": "a b", "engines": ["e2"]});
    assert!(
        assert_error(
            &app.post("/apiv1/images/pull", Some(&token), bad).await,
            400,
            "invalid_request"
        )
        .contains("image")
    );
}

/// Among engines that fit, one that holds the image already wins (no pull), whatever the
/// strategy says.
#[tokio::test]
async fn engines_that_hold_the_image_come_first() {
    let app = TestApp::spawn().await;
    for (id, i) in [("e1", 1u8), ("e2", 2), ("e3", 3)] {
        app.add_engine(id, i, &[]).await;
    }
    let image = push("busybox:latest", &format!("local-{}", app.id)).await;
    let body = json!({"image": image, "engines": ["e3"]});
    let (_, pulled) = app
        .post("/apiv1/images/pull", Some(&app.admin_token), body)
        .await;
    assert_eq!(pulled["data"][0]["ok"], json!(true), "{pulled}");
    // e3 is the fullest, so `spread` alone would never pick it.
    let full = json!({"memory": 32});
    app.patch("/apiv1/engine/e3", Some(&app.admin_token), full)
        .await;
    let config = json!({"name": image, "args": ["sleep", "600"], "cpus": 0.05, "memory": 8});
    let path = "/apiv1/container?strategy=spread";
    let (status, ran) = app.post(path, Some(&app.admin_token), config).await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(ran["data"]["engine"]["id"], json!("e3"));
    app.cleanup_containers().await;
}
