//! The reconcile pass rebuilds reservations from the engines' container labels.

use crate::common::{TestApp, sleeper, test_port};
use clementine::cluster::Source;
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

    let report = app.cluster.reconcile_claims(Source::Views).await.unwrap();
    assert_eq!(report.recorded, 2, "{report:?}");
    assert_eq!(reserved(&app).await, before);
    // A second pass changes nothing.
    let again = app.cluster.reconcile_claims(Source::Views).await.unwrap();
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
    let report = app.cluster.reconcile_claims(Source::Views).await.unwrap();
    assert_eq!((report.recorded, report.released), (0, 1), "{report:?}");
    assert_eq!(reserved(&app).await.1, 50 + 7);
    app.cleanup_containers().await;
    assert_eq!(reserved(&app).await.1, 7);

    // Removing the engine drops its reservations with it.
    assert_eq!(app.delete("/apiv1/engine/e1", Some(&t)).await.0, 200);
    let left = store.reservations(&["e1".to_string()]).await.unwrap();
    assert_eq!((left[0].claims, left[0].memory), (0, 0));
}

/// Reads one counter from `/metrics`.
async fn counter(app: &TestApp, name: &str) -> u64 {
    let text = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} not in /metrics:\n{text}"))
        .parse()
        .unwrap()
}

/// The pass the server runs on its interval reads the engines' event-fed views: it lists no
/// engine, and still records a lost claim again (the first pass, at start-up, lists them live).
#[tokio::test]
async fn the_interval_pass_reads_the_views_not_the_engines() {
    let app = TestApp::spawn_with(|env| {
        env.insert("CLEMENTINE_RECONCILE_INTERVAL_MS".into(), "100".into());
    })
    .await;
    app.add_engine("e1", 1, &[]).await;
    app.add_engine("e2", 2, &[]).await;
    let t = app.admin_token.clone();
    let (status, ran) = app.run(&t, sleeper(json!({"memory": 20}))).await;
    assert_eq!(status, 200, "{ran}");
    let engine = ran["data"]["engine"]["id"].as_str().unwrap().to_string();
    let total = || async {
        let (_, cap) = app.get("/apiv1/cluster", Some(&app.admin_token)).await;
        cap["data"]["total"]["reserved_memory"].as_u64().unwrap()
    };
    // An intent without outcome: the pass has intents to settle too.
    let draft = clementine::events::Draft {
        action: clementine::events::actions::CONTAINER_SCHEDULE,
        actor: "someone".into(),
        op: uuid::Uuid::now_v7().to_string(),
        ..Default::default()
    };
    app.cluster.audit().intent(draft).await.unwrap();

    // The views list each engine once when they start: wait for that.
    assert!(
        app.views_listed(2).await,
        "the views did not list both engines"
    );
    let passes = counter(&app, "clementine_reconcile_passes_total").await;
    let listings = counter(&app, "clementine_engine_listings_total").await;
    // Redis loses the container's claim.
    let mut redis = app.redis().await;
    let claims: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}claim:*", app.prefix))
        .query_async(&mut redis)
        .await
        .unwrap();
    assert_eq!(claims.len(), 1, "{claims:?}");
    let op = claims[0].rsplit(':').next().unwrap().to_string();
    // Released (not read back as 0: a pass 100 ms later may already have recorded it again).
    assert!(app.cluster.store().release(&engine, &op).await.unwrap());

    let ten_more = crate::common::eventually(30, || async {
        counter(&app, "clementine_reconcile_passes_total").await >= passes + 10
    });
    assert!(ten_more.await, "ten passes did not run in 30 s");
    let listings = counter(&app, "clementine_engine_listings_total").await - listings;
    assert_eq!(listings, 0, "the interval passes listed engines");
    assert_eq!(total().await, 20, "the lost claim was not recorded again");
    app.cleanup_containers().await;
}
