//! The tamper-evident audit log on the real stream: checkpoints and proofs check out, each way
//! of rewriting the stream behind clementine's back is named by `audit verify`, retention's
//! trimming is not, two replicas sequence one tree, and a tenant proves only their own entries.

use std::time::Duration;

use redis::AsyncCommands;
use serde_json::{Value, json};
use tlog_tiles::{Hash, check_record, check_tree};

use crate::common::{TestApp, short_id, test_env};

/// An app whose sequencer signs a checkpoint every second.
async fn app() -> TestApp {
    TestApp::spawn_with(|env| {
        env.insert("CLEMENTINE_AUDIT_CHECKPOINT_SECS".into(), "1".into());
    })
    .await
}

/// Makes `n` audited entries (user creations: an intent and an outcome each).
async fn some_entries(app: &TestApp, n: usize) -> Vec<String> {
    let (mut names, batch) = (Vec::new(), short_id());
    for i in 0..n {
        let name = app.unique(&format!("u{i}-{}", &batch[..4]));
        let body = json!({"username": name, "password": "user-password-1"});
        let (status, answer) = app.post("/apiv1/user", Some(&app.admin_token), body).await;
        assert_eq!(status, 200, "{answer}");
        names.push(name);
    }
    app.cluster.audit().flush().await;
    names
}

/// A GET whose answer is text (the checkpoint, the key).
async fn text(app: &TestApp, path: &str) -> (u16, String) {
    let resp = (app.http.get(format!("{}{path}", app.base)))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// The stream's length now.
async fn stream_len(app: &TestApp) -> u64 {
    app.redis()
        .await
        .xlen(format!("{}events", app.prefix))
        .await
        .unwrap()
}

/// Waits until a signed checkpoint covers every entry; its text.
async fn checkpoint_covering_all(app: &TestApp) -> String {
    let want = stream_len(app).await;
    for _ in 0..100 {
        let (status, note) = text(app, "/apiv1/audit/checkpoint").await;
        if status == 200 && note.lines().nth(1) == Some(&want.to_string()) {
            return note;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no checkpoint of size {want} within 10 s");
}

fn root_of(checkpoint: &str) -> (u64, Hash) {
    let mut lines = checkpoint.lines().skip(1);
    let size = lines.next().unwrap().parse().unwrap();
    (size, Hash::parse_hash(lines.next().unwrap()).unwrap())
}

fn hashes(v: &Value) -> Vec<Hash> {
    (v.as_array().unwrap().iter())
        .map(|h| Hash::parse_hash(h.as_str().unwrap()).unwrap())
        .collect()
}

/// Every entry: (id, fields in order).
async fn entries(app: &TestApp) -> Vec<(String, Vec<(String, String)>)> {
    let reply: redis::streams::StreamRangeReply = (app.redis().await)
        .xrange_all(format!("{}events", app.prefix))
        .await
        .unwrap();
    (reply.ids.into_iter())
        .map(|e| {
            let mut fields: Vec<(String, String)> = (e.map.into_iter())
                .map(|(k, v)| (k, redis::from_redis_value(v).unwrap()))
                .collect();
            fields.sort();
            (e.id, fields)
        })
        .collect()
}

/// Rebuilds the stream from `entries` (ids kept), as someone with Redis could.
async fn rewrite(app: &TestApp, entries: &[(String, Vec<(String, String)>)]) {
    let key = format!("{}events", app.prefix);
    let mut redis = app.redis().await;
    let _: () = redis.del(&key).await.unwrap();
    for (id, fields) in entries {
        let _: String = redis.xadd(&key, id, fields).await.unwrap();
    }
}

async fn first_problem(app: &TestApp) -> (String, String) {
    let report = app.cluster.audit_verify(None).await.unwrap();
    let first = report
        .problems
        .first()
        .expect("the tampering is found")
        .clone();
    (first.kind.to_string(), first.entry)
}

#[tokio::test]
async fn a_clean_log_verifies_and_its_proofs_check_out() {
    let app = app().await;
    some_entries(&app, 3).await;
    let first = checkpoint_covering_all(&app).await;
    let (size_1, root_1) = root_of(&first);
    let (ann, ann_token) = app.user("ann").await;
    let (_, bob_token) = app.user("bob").await;
    // An entry of ann's own making.
    let token = json!({"name": "ci", "scopes": ["read"]});
    assert_eq!(
        app.post("/apiv1/tokens", Some(&ann_token), token).await.0,
        200
    );
    app.cluster.audit().flush().await;
    let second = checkpoint_covering_all(&app).await;
    let (size_2, root_2) = root_of(&second);
    assert!(size_2 > size_1);

    // Consistency: the first tree is a prefix of the second.
    let path = format!("/apiv1/audit/proof/consistency?from={size_1}&to={size_2}");
    let (status, proof) = app.get(&path, Some(&app.admin_token)).await;
    assert_eq!(status, 200, "{proof}");
    check_tree(
        &hashes(&proof["data"]["hashes"]),
        size_2,
        root_2,
        size_1,
        root_1,
    )
    .unwrap();

    // Inclusion of ann's own entry, by ann; bob gets 404 for it, like a missing entry.
    let (_, mine) = app.get("/apiv1/events?limit=1", Some(&ann_token)).await;
    let id = mine["data"]["events"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(mine.to_string().contains(&ann));
    let path = format!("/apiv1/audit/proof/inclusion?id={id}&size={size_2}");
    let (status, proof) = app.get(&path, Some(&ann_token)).await;
    assert_eq!(status, 200, "{proof}");
    let p = &proof["data"];
    let leaf = Hash::parse_hash(p["leaf_hash"].as_str().unwrap()).unwrap();
    let index = p["leaf_index"].as_u64().unwrap();
    check_record(&hashes(&p["hashes"]), size_2, root_2, index, leaf).unwrap();
    assert_eq!(app.get(&path, Some(&bob_token)).await.0, 404);
    let missing = format!("/apiv1/audit/proof/inclusion?id=1-1&size={size_2}");
    assert_eq!(app.get(&missing, Some(&app.admin_token)).await.0, 404);

    // Bad input names the field.
    let bad = app
        .get(
            "/apiv1/audit/proof/inclusion?id=nope",
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(bad.0, 400, "{}", bad.1);
    assert!(bad.1.to_string().contains("id"));
    let beyond = format!("/apiv1/audit/proof/consistency?from=1&to={}", size_2 + 1000);
    let (status, answer) = app.get(&beyond, Some(&app.admin_token)).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.to_string().contains("to"));

    // The key verifies the checkpoint; verify finds nothing.
    let (status, key) = text(&app, "/apiv1/audit/key").await;
    assert_eq!(status, 200, "{key}");
    let verifier = clementine::events::tree::note::Verifier::new(&key).unwrap();
    assert_eq!(verifier.open(&second).unwrap().size, size_2);
    let report = app.cluster.audit_verify(Some(&first)).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.leaves, size_2);
}

#[tokio::test]
async fn a_deleted_entry_is_named() {
    let app = app().await;
    some_entries(&app, 3).await;
    checkpoint_covering_all(&app).await;
    let victim = entries(&app).await[2].0.clone();
    let _: i64 = (app.redis().await)
        .xdel(format!("{}events", app.prefix), &[&victim])
        .await
        .unwrap();
    assert_eq!(first_problem(&app).await, ("deleted".into(), victim));
}

#[tokio::test]
async fn a_changed_field_is_named() {
    let app = app().await;
    some_entries(&app, 3).await;
    checkpoint_covering_all(&app).await;
    let mut all = entries(&app).await;
    let victim = all[3].0.clone();
    for (name, value) in &mut all[3].1 {
        if name == "actor" {
            *value = "someone-else".into();
        }
    }
    rewrite(&app, &all).await;
    assert_eq!(first_problem(&app).await, ("changed".into(), victim));
}

#[tokio::test]
async fn an_entry_inserted_between_two_others_is_named() {
    let app = app().await;
    some_entries(&app, 3).await;
    checkpoint_covering_all(&app).await;
    let mut all = entries(&app).await;
    let (ms, seq) = all[2].0.split_once('-').unwrap();
    let forged = format!("{ms}-{}", seq.parse::<u64>().unwrap() + 1);
    assert!(forged < all[3].0 || all[3].0.split('-').next() != Some(ms));
    let fields = all[2].1.clone();
    all.insert(3, (forged.clone(), fields));
    rewrite(&app, &all).await;
    assert_eq!(first_problem(&app).await, ("inserted".into(), forged));
}

#[tokio::test]
async fn old_entries_replayed_at_the_end_are_named() {
    let app = app().await;
    some_entries(&app, 2).await;
    checkpoint_covering_all(&app).await;
    let all = entries(&app).await;
    let key = format!("{}events", app.prefix);
    let replayed: String = (app.redis().await)
        .xadd(&key, "*", &all[1].1)
        .await
        .unwrap();
    let report = app.cluster.audit_verify(None).await.unwrap();
    let found: Vec<_> = report
        .problems
        .iter()
        .map(|p| (p.kind, p.entry.clone()))
        .collect();
    assert_eq!(found, [("replayed", replayed)]);
}

#[tokio::test]
async fn a_stream_truncated_before_the_last_checkpoint_is_named() {
    let app = app().await;
    some_entries(&app, 3).await;
    checkpoint_covering_all(&app).await;
    let all = entries(&app).await;
    let cut: Vec<&str> = all[4..].iter().map(|(id, _)| id.as_str()).collect();
    let _: i64 = (app.redis().await)
        .xdel(format!("{}events", app.prefix), &cut)
        .await
        .unwrap();
    assert_eq!(
        first_problem(&app).await,
        ("truncated".into(), all[4].0.clone())
    );
}

#[tokio::test]
async fn trimming_by_retention_is_not_tampering() {
    let app = app().await;
    some_entries(&app, 4).await;
    let checkpoint = checkpoint_covering_all(&app).await;
    let _: i64 = (app.redis().await)
        .xtrim(
            format!("{}events", app.prefix),
            redis::streams::StreamMaxlen::Equals(3),
        )
        .await
        .unwrap();
    let report = app.cluster.audit_verify(Some(&checkpoint)).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.trimmed, report.leaves - 3);
    // The entries left still prove against the old checkpoint.
    let (size, root) = root_of(&checkpoint);
    let last = entries(&app).await.pop().unwrap().0;
    let path = format!("/apiv1/audit/proof/inclusion?id={last}&size={size}");
    let (status, proof) = app.get(&path, Some(&app.admin_token)).await;
    assert_eq!(status, 200, "{proof}");
    let p = &proof["data"];
    let leaf = Hash::parse_hash(p["leaf_hash"].as_str().unwrap()).unwrap();
    check_record(
        &hashes(&p["hashes"]),
        size,
        root,
        p["leaf_index"].as_u64().unwrap(),
        leaf,
    )
    .unwrap();
}

#[tokio::test]
async fn two_replicas_sequence_one_tree_during_a_burst() {
    let id = short_id();
    let mut env = test_env(&id);
    env.insert("CLEMENTINE_AUDIT_CHECKPOINT_SECS".into(), "1".into());
    let a = TestApp::spawn_env(id.clone(), env.clone()).await;
    let b = TestApp::spawn_env(id, env).await;
    let burst = (0..40).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        let body =
            json!({"username": app.unique(&format!("burst{i}")), "password": "user-password-1"});
        async move {
            app.post("/apiv1/user", Some(&app.admin_token), body)
                .await
                .0
        }
    });
    let statuses = futures::future::join_all(burst).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    a.cluster.audit().flush().await;
    b.cluster.audit().flush().await;
    checkpoint_covering_all(&a).await;
    let notes = a.cluster.store().tlog_checkpoints().await.unwrap();
    assert!(notes.len() >= 2, "{notes:?}");
    let key = a.cluster.audit_key().unwrap();
    let verifier = clementine::events::tree::note::Verifier::new(&key).unwrap();
    let opened: Vec<_> = notes.iter().map(|n| verifier.open(n).unwrap()).collect();
    for pair in opened.windows(2) {
        let (old, new) = (&pair[0], &pair[1]);
        assert!(new.size > old.size, "{opened:?}");
        let path = format!(
            "/apiv1/audit/proof/consistency?from={}&to={}",
            old.size, new.size
        );
        let (status, proof) = b.get(&path, Some(&b.admin_token)).await;
        assert_eq!(status, 200, "{proof}");
        check_tree(
            &hashes(&proof["data"]["hashes"]),
            new.size,
            new.root,
            old.size,
            old.root,
        )
        .unwrap();
    }
    let report = b.cluster.audit_verify(None).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // Both signed with the one key the deployment keeps.
    assert_eq!(b.cluster.audit_key().unwrap(), key);
}

/// `clementine` itself, on this app's deployment.
fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    (crate::cli::clementine())
        .envs(test_env(&app.id))
        .env("CLEMENTINE_LISTEN", "127.0.0.1:0")
        .args(args)
        .output()
        .unwrap()
}

/// Go's reference packages (`golang.org/x/mod/sumdb/note` and `tlog`, from Debian) open the
/// exported checkpoint with the verifier key, recompute its root from the tiles, and check an
/// inclusion proof and a consistency proof the API gave (`tests/go/tlogcheck`).
#[tokio::test]
async fn go_reference_packages_accept_the_export_and_the_proofs() {
    let app = app().await;
    some_entries(&app, 2).await;
    let (old_size, _) = root_of(&checkpoint_covering_all(&app).await);
    some_entries(&app, 300).await; // past one full tile of 256
    let (size, _) = root_of(&checkpoint_covering_all(&app).await);
    let all = entries(&app).await;
    let id = &all[260].0;
    let path = format!("/apiv1/audit/proof/inclusion?id={id}&size={size}");
    let (status, inclusion) = app.get(&path, Some(&app.admin_token)).await;
    assert_eq!(status, 200, "{inclusion}");
    let path = format!("/apiv1/audit/proof/consistency?from={old_size}&to={size}");
    let (status, consistency) = app.get(&path, Some(&app.admin_token)).await;
    assert_eq!(status, 200, "{consistency}");

    let dir = std::env::temp_dir().join(format!("clm-export-{}", short_id()));
    let out = cli(&app, &["audit", "export", dir.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!("a tree of {size} entries")),
        "{said}"
    );
    let out = cli(&app, &["audit", "verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: "));

    let proofs = dir.join("proofs.json");
    let body = json!({"inclusion": inclusion["data"], "consistency": consistency["data"]});
    std::fs::write(&proofs, body.to_string()).unwrap();
    let go = |dir: &std::path::Path| {
        let program = crate::common::root().join("tests/go/tlogcheck/main.go");
        let out = std::process::Command::new("go")
            .args(["run", program.to_str().unwrap(), dir.to_str().unwrap()])
            .arg(&proofs)
            .env("GO111MODULE", "off")
            .env("GOPATH", "/usr/share/gocode")
            .env("GOCACHE", std::env::temp_dir().join("clm-gocache"))
            .env("GOFLAGS", "")
            .output()
            .expect("go (Debian's golang-go; scripts/testbed.sh installs it)");
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        (
            out.status.success(),
            said + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (passed, said) = go(&dir);
    assert!(passed && said.trim() == "ok", "{said}");

    // Not vacuous: a proof with one hash swapped for another, and the Go check refuses it.
    let mut forged = body.clone();
    let proof = forged["inclusion"]["hashes"].as_array_mut().unwrap();
    proof.swap(0, 1);
    std::fs::write(&proofs, forged.to_string()).unwrap();
    let (passed, said) = go(&dir);
    assert!(!passed && said.contains("inclusion proof"), "{said}");
    // And the CLI names a tampered stream with a failing exit.
    let _: i64 = (app.redis().await)
        .xdel(format!("{}events", app.prefix), &[&all[7].0])
        .await
        .unwrap();
    let out = cli(&app, &["audit", "verify"]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("deleted entry {}", all[7].0)),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `clementine audit keygen` makes a key the server signs with, and its verifier key is the one
/// the API gives out.
#[tokio::test]
async fn a_generated_key_file_signs_the_checkpoints() {
    let out = (crate::cli::clementine())
        .args(["audit", "keygen", "clementine.test/keygen"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let skey = String::from_utf8(out.stdout).unwrap();
    assert!(
        skey.starts_with("PRIVATE+KEY+clementine.test/keygen+"),
        "{skey}"
    );
    let said = String::from_utf8(out.stderr).unwrap();
    let vkey = said
        .trim()
        .strip_prefix("verifier key: ")
        .unwrap()
        .to_string();
    let file = std::env::temp_dir().join(format!("clm-key-{}", short_id()));
    std::fs::write(&file, &skey).unwrap();
    let app = TestApp::spawn_with(|env| {
        let path = file.display().to_string();
        env.insert("CLEMENTINE_AUDIT_SIGNING_KEY_FILE".into(), path);
        env.insert("CLEMENTINE_AUDIT_CHECKPOINT_SECS".into(), "1".into());
    })
    .await;
    assert_eq!(text(&app, "/apiv1/audit/key").await.1.trim(), vkey);
    some_entries(&app, 1).await;
    let note = checkpoint_covering_all(&app).await;
    assert!(note.starts_with("clementine.test/keygen\n"), "{note}");
    let verifier = clementine::events::tree::note::Verifier::new(&vkey).unwrap();
    assert!(verifier.open(&note).is_ok());
    let _ = std::fs::remove_file(&file);
}
