//! The migrations runner on the real Redis: in order, recorded, idempotent.

use crate::common::{bare_store, redis_url};
use clementine::store::migrations::{MIGRATIONS, latest_version};
use clementine::store::{Store, StoreError};

async fn store() -> (Store, String) {
    let (store, prefix, _) = bare_store().await;
    (store, prefix)
}

#[tokio::test]
async fn running_twice_changes_nothing() {
    let (store, _) = store().await;
    assert_eq!(store.schema_version().await.unwrap(), 0);
    let first = store.migrate().await.unwrap();
    let all: Vec<&str> = MIGRATIONS.iter().map(|m| m.name).collect();
    assert_eq!(first.applied, all);
    assert_eq!(first.version, latest_version());
    let recorded = store.applied_migrations().await.unwrap();

    let second = store.migrate().await.unwrap();
    assert!(second.applied.is_empty());
    assert_eq!(second.version, latest_version());
    assert_eq!(store.applied_migrations().await.unwrap(), recorded);
}

#[tokio::test]
async fn concurrent_runs_apply_each_step_once() {
    let (store, _) = store().await;
    let runs = futures::future::join_all((0..8).map(|_| store.migrate())).await;
    let applied: usize = runs.into_iter().map(|r| r.unwrap().applied.len()).sum();
    assert_eq!(applied, MIGRATIONS.len());
}

#[tokio::test]
async fn engine_status_migration_upgrades_old_records() {
    let (store, prefix) = store().await;
    let mut redis = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    // A database at schema 1 with an engine written before `status` existed.
    let _: () = redis::pipe()
        .hset(format!("{prefix}schema:applied"), "0001_initial", 1)
        .set(format!("{prefix}schema:version"), 1)
        .sadd(format!("{prefix}engines"), "old")
        .set(
            format!("{prefix}engine:old"),
            r#"{"id":"old","addr":"https://127.0.0.11:2376","cpus":1.0,"memory":100,"labels":[]}"#,
        )
        .query_async(&mut redis)
        .await
        .unwrap();
    let report = store.migrate().await.unwrap();
    assert_eq!(
        report.applied,
        ["0002_engine_status", "0003_account_ids", "0004_quota_use"]
    );
    let engine = store.get_engine("old").await.unwrap().unwrap();
    assert_eq!(engine.status, clementine::domain::EngineStatus::Active);
}

#[tokio::test]
async fn account_ids_migration_gives_old_accounts_and_tokens_an_id() {
    let (store, prefix) = store().await;
    let mut redis = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    // A database at schema 2 with two accounts and a token written before ids existed.
    let _: () = redis::pipe()
        .hset(format!("{prefix}schema:applied"), "0001_initial", 1)
        .hset(format!("{prefix}schema:applied"), "0002_engine_status", 1)
        .set(format!("{prefix}schema:version"), 2)
        .sadd(format!("{prefix}users"), &["ann", "bob"])
        .hset_multiple(
            format!("{prefix}user:ann"),
            &[
                ("role", "user"),
                ("password_hash", "x"),
                ("token_version", "4"),
                ("created_ms", "1"),
            ],
        )
        .hset_multiple(
            format!("{prefix}user:bob"),
            &[
                ("role", "user"),
                ("password_hash", "x"),
                ("token_version", "1"),
                ("created_ms", "1"),
            ],
        )
        .sadd(format!("{prefix}tokens"), "t1")
        .hset_multiple(
            format!("{prefix}token:t1"),
            &[
                ("owner", "ann"),
                ("name", "ci"),
                ("scopes", "read"),
                ("hash", "h"),
                ("created_ms", "1"),
            ],
        )
        .query_async(&mut redis)
        .await
        .unwrap();
    let applied = store.migrate().await.unwrap().applied;
    assert_eq!(applied, ["0003_account_ids", "0004_quota_use"]);
    let ann = store.get_user("ann").await.unwrap().unwrap();
    let bob = store.get_user("bob").await.unwrap().unwrap();
    assert!(!ann.id.is_empty() && !bob.id.is_empty());
    assert_ne!(ann.id, bob.id);
    assert_eq!(ann.token_version, 4, "versions are kept");
    let token = store.get_token("t1").await.unwrap().unwrap();
    assert_eq!(token.owner_id, ann.id);
    // A new account of a deleted name gets a fresh id, and a token version past the old one.
    assert!(store.delete_user("ann").await.unwrap());
    let role = clementine::domain::Role::User;
    assert!(store.create_user("ann", role, "y", 2).await.unwrap());
    let again = store.get_user("ann").await.unwrap().unwrap();
    assert!(
        again.id != ann.id && again.id != bob.id,
        "{} reused",
        again.id
    );
    assert_eq!(again.token_version, 5);
}

#[tokio::test]
async fn quota_use_migration_counts_the_claims_that_exist() {
    let (store, prefix) = store().await;
    let mut redis = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    // Schema 3, with two claims of ann's and one of a team's on engine e1.
    let mut pipe = redis::pipe();
    for (n, name) in ["0001_initial", "0002_engine_status", "0003_account_ids"]
        .iter()
        .enumerate()
    {
        pipe.hset(format!("{prefix}schema:applied"), name, n);
    }
    pipe.set(format!("{prefix}schema:version"), 3)
        .sadd(format!("{prefix}engines"), "e1")
        .sadd(format!("{prefix}engine:e1:claims"), &["a", "b", "c"]);
    for (op, owner, ports) in [
        ("a", "ann", "80/tcp 81/tcp"),
        ("b", "ann", ""),
        ("c", "team:ops", ""),
    ] {
        pipe.hset_multiple(
            format!("{prefix}claim:{op}"),
            &[
                ("owner", owner),
                ("cpus_milli", "100"),
                ("memory", "16"),
                ("ports", ports),
            ],
        );
    }
    let _: () = pipe.query_async(&mut redis).await.unwrap();
    assert_eq!(store.migrate().await.unwrap().applied, ["0004_quota_use"]);
    let used = |key: String| {
        let mut redis = redis.clone();
        async move {
            let h: std::collections::HashMap<String, u64> = redis::cmd("HGETALL")
                .arg(key)
                .query_async(&mut redis)
                .await
                .unwrap();
            h
        }
    };
    let ann = used(format!("{prefix}quota_used:user:ann")).await;
    assert_eq!(
        (
            ann["containers"],
            ann["cpus_milli"],
            ann["memory"],
            ann["published_ports"]
        ),
        (2, 200, 32, 2)
    );
    let ops = used(format!("{prefix}quota_used:team:ops")).await;
    assert_eq!(ops["containers"], 1);
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let (store, prefix) = store().await;
    let mut redis = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}schema:version"))
        .arg(99)
        .query_async(&mut redis)
        .await
        .unwrap();
    let err = store.migrate().await.unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade clementine"));
}
