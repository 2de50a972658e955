//! No 500 from big or tiny numbers: every numeric field is bounded at the edge (the spec says
//! the bounds), so the Lua scripts only see integers in range; and a claim or release script
//! that meets a number it cannot use changes nothing.

use serde_json::json;

use crate::common::{TestApp, assert_error, bare_store};
use clementine::store::Claim;

#[tokio::test]
async fn tiny_and_huge_resources_are_400_naming_the_field() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let run = |extra: serde_json::Value| {
        let mut config = json!({"name": "busybox", "type": "service", "args": ["sleep", "5"]});
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        app.run(&app.admin_token, config)
    };
    for (extra, field) in [
        (json!({"cpus": 0.0001}), "cpus"),
        (json!({"cpus": 5e-324}), "cpus"),
        (json!({"cpus": 0.009}), "cpus"),
        (json!({"cpus": 1e300}), "cpus"),
        (json!({"memory": 1u64 << 40}), "memory"),
        (json!({"memory": u64::MAX}), "memory"),
        (json!({"memory": 5}), "memory"),
    ] {
        let refused = run(extra.clone()).await;
        let message = assert_error(&refused, 400, "invalid_request");
        assert!(message.starts_with(field), "{extra}: {message}");
    }
    // Saved and run by name: the same.
    let saved = json!({"name": "tiny", "image": {"name": "busybox", "cpus": 0.0001}});
    let refused = app
        .post("/apiv1/image", Some(&app.admin_token), saved)
        .await;
    assert_error(&refused, 400, "invalid_request");
    // The smallest unit runs, and the reconcile pass reads everything afterwards.
    let (status, body) = run(json!({"cpus": 0.01, "memory": 6})).await;
    assert_eq!(status, 200, "{body}");
    app.cluster
        .reconcile(clementine::cluster::Source::Views)
        .await
        .expect("reconcile reads every engine");
    let path = format!(
        "/apiv1/engine/e1/container/{}",
        body["data"]["id"].as_str().unwrap()
    );
    assert_eq!(app.delete(&path, Some(&app.admin_token)).await.0, 200);
    let (_, cluster) = app.get("/apiv1/cluster", Some(&app.admin_token)).await;
    assert_eq!(
        cluster["data"]["total"]["reserved_cpus"],
        json!(0.0),
        "{cluster}"
    );
    // The spec states the bounds.
    let spec: serde_json::Value =
        serde_json::from_str(include_str!("../../openapi/clementine.json")).unwrap();
    let cpus = &spec["components"]["schemas"]["ImageConfig"]["properties"]["cpus"];
    assert_eq!(cpus["minimum"], json!(0.01), "{cpus}");
    let memory = &spec["components"]["schemas"]["ImageConfig"]["properties"]["memory"];
    assert_eq!(memory["maximum"], json!(1u64 << 30), "{memory}");
}

fn claim(op: &str, cpus_milli: u64) -> Claim {
    Claim {
        op: op.into(),
        engine: "e1".into(),
        owner: "ann".into(),
        image: "busybox:latest".into(),
        cpus_milli,
        memory: 4,
        ports: vec!["8080/tcp".into()],
        unique: false,
    }
}

#[tokio::test]
async fn claims_of_nothing_release_and_bad_numbers_change_nothing() {
    let (store, prefix, mut redis) = bare_store().await;
    // A claim of 0 cpus (a container labelled so, recorded by reconcile) releases cleanly.
    assert!(store.record_claim(&claim("zero", 0), 1).await.unwrap());
    assert!(store.release("e1", "zero").await.unwrap());
    let reserved: std::collections::HashMap<String, i64> = redis::cmd("HGETALL")
        .arg(format!("{prefix}engine:e1:reserved"))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(reserved.get("cpus_milli"), Some(&0), "{reserved:?}");

    // A stored amount that is not an integer: the claim is refused before any write.
    let _: () = redis::cmd("HSET")
        .arg(format!("{prefix}engine:e1:reserved"))
        .arg("memory")
        .arg("1.5")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(
        store
            .claim(&claim("bad", 100), 1000, 1000, 1)
            .await
            .is_err()
    );
    let exists: (bool, bool) = redis::pipe()
        .exists(format!("{prefix}claim:bad"))
        .hexists(format!("{prefix}engine:e1:ports"), "8080/tcp")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(exists, (false, false), "half a claim was written");
    let cpus: i64 = redis::cmd("HGET")
        .arg(format!("{prefix}engine:e1:reserved"))
        .arg("cpus_milli")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(cpus, 0, "cpus were taken before the refusal");
}
