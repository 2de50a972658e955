//! The reconcile pass rebuilds reservations from the engines' container labels.

use crate::common::{TestApp, sleeper, test_port};
use clementine::store::Claim;
use serde_json::json;

async fn reserved(app: &TestApp) -> (u64, u64, Vec<String>) {
    let (_, cap) = app.get("/apiv1/cluster", Some(&app.admin_token)).await;
    let e = &cap["data"]["engines"][0];
    let ports = e["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    (
        e["containers"].as_u64().unwrap(),
        e["reserved_memory"].as_u64().unwrap(),
        ports,
    )
}

#[tokio::test]
async fn rebuilds_lost_claims_and_releases_stale_ones() {
    let app = TestApp::spawn().await;
    app.add_engine("e1", 1, &[]).await;
    let t = app.admin_token.clone();
    let port = test_port();
    assert_eq!(
        app.run(
            &t,
            sleeper(json!({"memory": 20, "bind_ports": [{"port": port, "container_port": 80}]}))
        )
        .await
        .0,
        200
    );
    assert_eq!(app.run(&t, sleeper(json!({"memory": 30}))).await.0, 200);
    let before = reserved(&app).await;
    assert_eq!((before.0, before.1), (2, 50));
    assert_eq!(before.2, vec![format!("{port}/tcp")]);

    // Redis loses every claim of the engine.
    let mut redis = app.redis().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", app.prefix))
        .query_async(&mut redis)
        .await
        .unwrap();
    for key in keys
        .iter()
        .filter(|k| k.contains(":claim:") || k.contains("engine:e1:"))
    {
        if !key.ends_with(":health") {
            let _: () = redis::cmd("DEL")
                .arg(key)
                .query_async(&mut redis)
                .await
                .unwrap();
        }
    }
    assert_eq!(reserved(&app).await.0, 0);

    let report = app.cluster.reconcile_claims().await.unwrap();
    assert_eq!(report.recorded, 2, "{report:?}");
    assert_eq!(reserved(&app).await, before);
    // A second pass changes nothing.
    let again = app.cluster.reconcile_claims().await.unwrap();
    assert_eq!((again.recorded, again.released), (0, 0));

    // A claim whose container never came (a crash between claim and create): released once
    // it is older than the grace period; a fresh one is kept.
    let orphan = |op: &str| Claim {
        op: op.into(),
        engine: "e1".into(),
        owner: "ghost".into(),
        image: "busybox:latest".into(),
        cpus_milli: 100,
        memory: 7,
        ports: vec![],
        unique: false,
    };
    let store = app.cluster.store();
    let old =
        clementine::time::now_ms() - clementine::cluster::CLAIM_GRACE.as_millis() as u64 - 1000;
    assert!(store.record_claim(&orphan("old-op"), old).await.unwrap());
    assert!(
        store
            .record_claim(&orphan("new-op"), clementine::time::now_ms())
            .await
            .unwrap()
    );
    let report = app.cluster.reconcile_claims().await.unwrap();
    assert_eq!((report.recorded, report.released), (0, 1), "{report:?}");
    assert_eq!(reserved(&app).await.1, 50 + 7);
    app.cleanup_containers().await;
    assert_eq!(reserved(&app).await.1, 7);

    // Removing the engine drops its reservations with it.
    assert_eq!(app.delete("/apiv1/engine/e1", Some(&t)).await.0, 200);
    let left = store.reservations(&["e1".to_string()]).await.unwrap();
    assert_eq!((left[0].claims, left[0].memory), (0, 0));
}
