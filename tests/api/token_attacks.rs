//! Tokens an attacker makes, against the real binary: every one answers 401, and the server's
//! log (at debug level) never holds a token's text.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::{ADMIN_PASSWORD, base64url};

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn forged_tokens_are_401_and_never_logged() {
    let server = crate::cli::LoggedServer::start("debug", |_| {}).await;
    let (base, env) = (&server.base, &server.env);
    let http = reqwest::Client::new();
    let admin = env["CLEMENTINE_ADMIN_USER"].clone();
    let secret = env["CLEMENTINE_JWT_SECRET"].clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"sub": admin, "role": "admin", "ver": 0, "iat": now, "exp": now + 600,
                        "iss": "clementine", "aud": "clementine-api", "jti": "x"});
    let with = |k: &str, v: Value| {
        let mut c = claims.clone();
        c[k] = v;
        c
    };
    let mut no_exp = claims.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    let ghost = with("sub", json!("nobody-at-all"));
    let unsigned = format!(
        "{}.{}.",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        base64url(claims.to_string().as_bytes())
    );
    let forged = [
        ("wrong iss", sign(&with("iss", json!("elsewhere")), &secret)),
        ("wrong aud", sign(&with("aud", json!("elsewhere")), &secret)),
        ("no exp", sign(&no_exp, &secret)),
        ("expired", sign(&with("exp", json!(now - 120)), &secret)),
        ("alg none", unsigned),
        (
            "another key",
            sign(&claims, "some-other-secret-some-other-secret"),
        ),
        ("a user that does not exist", sign(&ghost, &secret)),
        (
            "oversized",
            format!("{}.{}.x", "a".repeat(9000), "b".repeat(9000)),
        ),
    ];
    // The genuine article works, so the refusals are about the tokens.
    let login = http
        .post(format!("{base}/apiv1/login"))
        .json(&json!({"username": admin, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    for (what, token) in &forged {
        let resp = http
            .get(format!("{base}/apiv1/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{what}");
    }
    let text = server.log_text();
    assert!(text.contains("request"), "the log was written: {text}");
    for (what, token) in &forged {
        let signature = token.rsplit('.').next().unwrap_or(token);
        let telltale = if signature.len() > 8 {
            signature
        } else {
            token.as_str()
        };
        assert!(!text.contains(telltale), "the {what} token is in the log");
    }
}
