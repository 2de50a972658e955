//! Login, tokens and their failure modes, on the real Redis.

use crate::common::{ADMIN_PASSWORD, TestApp, assert_error, base64url};
use clementine::auth::{Claims, Tokens};
use clementine::config::{JwtSettings, Secret};
use clementine::domain::Role;
use serde_json::{Value, json};

#[tokio::test]
async fn login_right_and_wrong() {
    let app = TestApp::spawn().await;
    let (status, body) = app
        .post(
            "/apiv1/login",
            None,
            json!({"username": app.admin, "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["ok"], json!(true));
    assert_eq!(body["data"]["token_type"], json!("Bearer"));
    assert_eq!(body["data"]["user"]["role"], json!("admin"));
    assert!(body["data"]["expires_at"].as_u64().unwrap() > 0);

    let wrong = app
        .post(
            "/apiv1/login",
            None,
            json!({"username": app.admin, "password": "nope-nope"}),
        )
        .await;
    let msg = assert_error(&wrong, 401, "invalid_credentials");
    assert!(!msg.contains("nope-nope"));
    let unknown = app
        .post(
            "/apiv1/login",
            None,
            json!({"username": "nobody", "password": "nope-nope"}),
        )
        .await;
    // Unknown user and wrong password look the same.
    assert_eq!(unknown, wrong);
}

#[tokio::test]
async fn me_and_password_change() {
    let app = TestApp::spawn().await;
    let (user, token) = app.user("ann").await;
    let (status, me) = app.get("/apiv1/me", Some(&token)).await;
    assert_eq!(status, 200);
    assert_eq!(me["data"]["username"], json!(user));
    assert_eq!(me["data"]["role"], json!("user"));
    assert!(me["data"].get("password_hash").is_none());

    let wrong = app
        .post(
            "/apiv1/me/password",
            Some(&token),
            json!({"current_password": "not-it-at-all", "new_password": "brand-new-pass"}),
        )
        .await;
    assert_error(&wrong, 403, "forbidden");
    let short = app
        .post(
            "/apiv1/me/password",
            Some(&token),
            json!({"current_password": "user-password-1", "new_password": "short"}),
        )
        .await;
    assert!(assert_error(&short, 400, "invalid_request").contains("new_password"));

    let (status, body) = app
        .post(
            "/apiv1/me/password",
            Some(&token),
            json!({"current_password": "user-password-1", "new_password": "brand-new-pass"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let fresh = body["data"]["token"].as_str().unwrap().to_string();
    // The old token died with the old password; the new one works.
    assert_error(
        &app.get("/apiv1/me", Some(&token)).await,
        401,
        "invalid_token",
    );
    assert_eq!(app.get("/apiv1/me", Some(&fresh)).await.0, 200);
    assert!(!app.login(&user, "brand-new-pass").await.is_empty());
    let old = app
        .post(
            "/apiv1/login",
            None,
            json!({"username": user, "password": "user-password-1"}),
        )
        .await;
    assert_error(&old, 401, "invalid_credentials");
}

/// Every protected route answers 401 with the JSON error shape when no token is sent, and when
/// a garbage one is: every operation of the committed spec that declares a security scheme.
#[tokio::test]
async fn every_protected_route_needs_a_token() {
    use reqwest::Method as M;
    let app = TestApp::spawn().await;
    let spec: Value = serde_json::from_str(include_str!("../../openapi/clementine.json")).unwrap();
    let mut protected = 0;
    for (template, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op.get("security").is_none() {
                assert_eq!(template, "/login", "{method} {template} is open");
                continue;
            }
            // Path parameters filled with a plausible value.
            let path = template
                .split('/')
                .map(|seg| if seg.starts_with('{') { "x" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            let path = format!("/apiv1{path}");
            let method = M::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (method != M::GET && method != M::DELETE).then(|| json!({}));
            let resp = app.request(method.clone(), &path, None, body.clone()).await;
            assert_error(&resp, 401, "unauthorized");
            let resp = app
                .request(method.clone(), &path, Some("garbage"), body)
                .await;
            assert_eq!(
                resp.0, 401,
                "{method} {path} with a garbage token: {}",
                resp.1
            );
            protected += 1;
        }
    }
    assert!(
        protected >= 44,
        "only {protected} protected operations in the spec"
    );
    // The open ones.
    assert_eq!(app.get("/healthz", None).await.0, 200);
    let (status, metrics) = app.get("/metrics", None).await;
    assert_eq!(status, 200);
    for gauge in [
        "clementine_redis_up 1",
        "clementine_event_stream_clients",
        "clementine_audit_queued_outcomes 0",
        "clementine_http_requests_total",
    ] {
        assert!(
            metrics.as_str().unwrap().contains(gauge),
            "{gauge} missing from /metrics"
        );
    }
    assert_eq!(app.get("/openapi.json", None).await.0, 200);
    let docs = app
        .http
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
}

fn tokens_with(secret: &str, app: &TestApp) -> Tokens {
    Tokens::new(&JwtSettings {
        secret: Secret::new(secret),
        previous_secret: None,
        ttl: std::time::Duration::from_secs(60),
        issuer: app.settings.jwt.issuer.clone(),
        audience: app.settings.jwt.audience.clone(),
    })
}

#[tokio::test]
async fn forged_expired_and_unsigned_tokens_fail() {
    let app = TestApp::spawn().await;
    let (user, token) = app.user("bob").await;
    let ours = tokens_with(app.settings.jwt.secret.expose(), &app);
    let now = clementine::time::now_secs();
    let claims = Claims {
        sub: user.clone(),
        uid: ours.verify(&token).unwrap().uid,
        role: Role::User,
        ver: 1,
        iat: now,
        exp: now + 60,
        iss: app.settings.jwt.issuer.clone(),
        aud: app.settings.jwt.audience.clone(),
        jti: "t".into(),
    };
    // Control: our key, valid claims.
    let good = ours.sign(&claims).unwrap();
    assert_eq!(app.get("/apiv1/me", Some(&good)).await.0, 200);

    // Expired (beyond the 5 s leeway).
    let expired = ours
        .sign(&Claims {
            iat: now - 600,
            exp: now - 60,
            ..claims.clone()
        })
        .unwrap();
    let msg = assert_error(
        &app.get("/apiv1/me", Some(&expired)).await,
        401,
        "invalid_token",
    );
    assert!(msg.contains("expired"), "{msg}");

    // Signed with another secret.
    let other = tokens_with("another-secret-another-secret-42", &app)
        .sign(&claims)
        .unwrap();
    assert_error(
        &app.get("/apiv1/me", Some(&other)).await,
        401,
        "invalid_token",
    );

    // Wrong audience, wrong issuer.
    let aud = ours
        .sign(&Claims {
            aud: "elsewhere".into(),
            ..claims.clone()
        })
        .unwrap();
    assert_error(
        &app.get("/apiv1/me", Some(&aud)).await,
        401,
        "invalid_token",
    );
    let iss = ours
        .sign(&Claims {
            iss: "elsewhere".into(),
            ..claims.clone()
        })
        .unwrap();
    assert_error(
        &app.get("/apiv1/me", Some(&iss)).await,
        401,
        "invalid_token",
    );

    // alg: none, and a role escalation attempt without a signature.
    let b64 = |b: &[u8]| base64url(b);
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let body = b64(serde_json::to_string(&Claims {
        role: Role::Admin,
        ..claims.clone()
    })
    .unwrap()
    .as_bytes());
    let none = format!("{header}.{body}.");
    assert_error(
        &app.get("/apiv1/me", Some(&none)).await,
        401,
        "invalid_token",
    );
    // HS256 header but the signature of another token.
    let sig = good.rsplit('.').next().unwrap();
    let spliced = format!("{}.{body}.{sig}", good.split('.').next().unwrap());
    assert_error(
        &app.get("/apiv1/me", Some(&spliced)).await,
        401,
        "invalid_token",
    );
}

#[tokio::test]
async fn revoked_and_deleted_users_tokens_fail() {
    let app = TestApp::spawn().await;
    let (user, token) = app.user("cat").await;
    assert_eq!(app.get("/apiv1/me", Some(&token)).await.0, 200);
    let (status, body) = app
        .post(
            &format!("/apiv1/user/{user}/revoke"),
            Some(&app.admin_token),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["token_version"], json!(2));
    let msg = assert_error(
        &app.get("/apiv1/me", Some(&token)).await,
        401,
        "invalid_token",
    );
    assert!(msg.contains("revoked"), "{msg}");
    // A new login works again.
    let fresh = app.login(&user, "user-password-1").await;
    assert_eq!(app.get("/apiv1/me", Some(&fresh)).await.0, 200);
    // Users cannot revoke others.
    let (other, other_token) = app.user("dog").await;
    let resp = app
        .post(
            &format!("/apiv1/user/{other}/revoke"),
            Some(&fresh),
            json!({}),
        )
        .await;
    assert_error(&resp, 403, "forbidden");
    // Deleting a user kills their tokens.
    assert_eq!(
        app.delete(&format!("/apiv1/user/{other}"), Some(&app.admin_token))
            .await
            .0,
        200
    );
    assert_error(
        &app.get("/apiv1/me", Some(&other_token)).await,
        401,
        "invalid_token",
    );
}

#[tokio::test]
async fn user_management() {
    let app = TestApp::spawn().await;
    let name = app.unique("eve");
    let admin = Some(app.admin_token.as_str());
    let (status, body) = app
        .post(
            "/apiv1/user",
            admin,
            json!({"username": name, "password": "password-eve", "role": "admin"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["role"], json!("admin"));
    let dup = app
        .post(
            "/apiv1/user",
            admin,
            json!({"username": name, "password": "password-eve"}),
        )
        .await;
    assert_error(&dup, 409, "user_exists");
    let (status, list) = app.get("/apiv1/users", admin).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(names.contains(&name.as_str()) && names.contains(&app.admin.as_str()));
    assert_eq!(
        app.get(&format!("/apiv1/user/{name}"), admin).await.1["data"]["username"],
        json!(name)
    );
    assert_error(
        &app.get("/apiv1/user/nobody", admin).await,
        404,
        "user_not_found",
    );
    // An admin cannot delete themselves.
    assert_error(
        &app.delete(&format!("/apiv1/user/{}", app.admin), admin)
            .await,
        409,
        "cannot_delete_self",
    );
    assert_eq!(
        app.delete(&format!("/apiv1/user/{name}"), admin).await.0,
        200
    );
    assert_error(
        &app.delete(&format!("/apiv1/user/{name}"), admin).await,
        404,
        "user_not_found",
    );
    // Passwords are stored only as argon2id hashes.
    let mut redis = app.redis().await;
    let hash: String = redis::cmd("HGET")
        .arg(format!("{}user:{}", app.prefix, app.admin))
        .arg("password_hash")
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_per_user_and_client() {
    let app = TestApp::spawn().await;
    let (ann, _) = app.user("ann").await;
    let (bob, _) = app.user("bob").await;
    let attempt = |user: &str, password: &str| {
        app.post(
            "/apiv1/login",
            None,
            json!({"username": user, "password": password}),
        )
    };
    // A success clears the count.
    for _ in 0..9 {
        assert_error(
            &attempt(&ann, "not-the-password").await,
            401,
            "invalid_credentials",
        );
    }
    assert_eq!(attempt(&ann, "user-password-1").await.0, 200);
    for _ in 0..10 {
        assert_error(
            &attempt(&ann, "not-the-password").await,
            401,
            "invalid_credentials",
        );
    }
    // The eleventh try from this client is refused even with the right password; other users
    // are not affected (other clients: `lockout.rs`).
    let msg = assert_error(
        &attempt(&ann, "user-password-1").await,
        429,
        "too_many_attempts",
    );
    assert!(msg.contains("try again in"), "{msg}");
    assert_eq!(attempt(&bob, "user-password-1").await.0, 200);
}

/// A rotation: the server restarts with a new secret and the old one as `previous`. Tokens
/// signed before stay good until they expire; new ones use the new key; a token signed with a
/// secret the server does not hold is refused.
#[tokio::test]
async fn tokens_signed_before_a_rotation_work_until_they_expire() {
    let id = crate::common::short_id();
    let env = crate::common::test_env(&id);
    let before = TestApp::spawn_env(id.clone(), env.clone()).await;
    let old_token = before.admin_token.clone();
    let old_secret = env["CLEMENTINE_JWT_SECRET"].clone();
    drop(before);
    let mut rotated = env.clone();
    rotated.insert(
        "CLEMENTINE_JWT_SECRET".into(),
        format!("rotated-secret-{id}-0123456789abcdef"),
    );
    rotated.insert("CLEMENTINE_JWT_PREVIOUS_SECRET".into(), old_secret.clone());
    let after = TestApp::spawn_env(id.clone(), rotated).await;
    let (status, me) = after.get("/apiv1/me", Some(&old_token)).await;
    assert_eq!(status, 200, "a token from before the rotation: {me}");
    let (status, _) = after.get("/apiv1/me", Some(&after.admin_token)).await;
    assert_eq!(status, 200, "a token from after it");
    let kid = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid.unwrap();
    assert_ne!(kid(&old_token), kid(&after.admin_token));
    let stranger = tokens_with(&format!("unknown-secret-{id}-0123456789abcdef"), &after);
    let claims = after.cluster.tokens().verify(&old_token).unwrap();
    let forged = stranger.sign(&claims).unwrap();
    let (status, _) = after.get("/apiv1/me", Some(&forged)).await;
    assert_eq!(
        status, 401,
        "a token signed with a secret the server does not hold"
    );
    // Once the previous secret is dropped, the old token is refused.
    drop(after);
    let again = TestApp::spawn_env(id.clone(), {
        let mut e = env.clone();
        e.insert(
            "CLEMENTINE_JWT_SECRET".into(),
            format!("rotated-secret-{id}-0123456789abcdef"),
        );
        e
    })
    .await;
    let (status, _) = again.get("/apiv1/me", Some(&old_token)).await;
    assert_eq!(status, 401);
}
