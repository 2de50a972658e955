use std::collections::HashMap;
use std::io::Write;

use super::*;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn tmp_file(contents: &str) -> tempfile_path::TempPath {
    tempfile_path::TempPath::with(contents)
}

/// A tiny temporary file helper (no extra crate needed for a few unit tests).
mod tempfile_path {
    use super::*;
    pub struct TempPath(pub PathBuf);
    impl TempPath {
        pub fn with(contents: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("clementine-cfg-{}", uuid::Uuid::new_v4()));
            let mut f = std::fs::File::create(&path).unwrap();
            f.write_all(contents.as_bytes()).unwrap();
            Self(path)
        }
        pub fn s(&self) -> String {
            self.0.display().to_string()
        }
    }
    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn full_env<'a>(pem: &'a str, secret: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CLEMENTINE_LISTEN", "127.0.0.1:9999"),
        ("CLEMENTINE_REDIS_URL", "rediss://127.0.0.1:7777/3"),
        ("CLEMENTINE_KEY_PREFIX", "x:"),
        ("CLEMENTINE_TLS_CA", pem),
        ("CLEMENTINE_TLS_CERT", pem),
        ("CLEMENTINE_TLS_KEY", pem),
        ("CLEMENTINE_JWT_SECRET", secret),
        ("CLEMENTINE_ADMIN_USER", "root"),
        ("CLEMENTINE_ADMIN_PASSWORD", "hunter22hunter22"),
        ("CLEMENTINE_DOCKER_LISTEN", "127.0.0.1:2375"),
        ("CLEMENTINE_DOCKER_TLS_CERT", pem),
        ("CLEMENTINE_DOCKER_TLS_KEY", pem),
        ("CLEMENTINE_API_TLS_CERT", pem),
        ("CLEMENTINE_API_TLS_KEY", pem),
        ("CLEMENTINE_REDIS_CLIENT_CERT", pem),
        ("CLEMENTINE_REDIS_CLIENT_KEY", pem),
        ("CLEMENTINE_REDIS_SENTINEL_TLS", "true"),
        (
            "CLEMENTINE_SECRETS_KEY",
            "a secrets key of thirty-two bytes or more",
        ),
    ]
}

#[test]
fn environment_alone_is_enough() {
    let pem = tmp_file("pem");
    let p = pem.s();
    let secret = "s".repeat(40);
    let s = Settings::load(None, &env_of(&full_env(&p, &secret))).unwrap();
    assert_eq!(s.listen.to_string(), "127.0.0.1:9999");
    assert_eq!(s.store.key_prefix, "x:");
    assert_eq!(s.store.redis_url.expose(), "rediss://127.0.0.1:7777/3");
    assert_eq!(s.jwt.secret.expose(), secret);
    assert_eq!(s.bootstrap_admin.as_ref().unwrap().0, "root");
    // Secrets never show in Debug output.
    let debug = format!("{s:?}");
    assert!(!debug.contains(&secret));
    assert!(!debug.contains("hunter22"));
}

#[test]
fn environment_overrides_the_file() {
    let pem = tmp_file("pem");
    let secret_file = tmp_file(&format!("{}\n", "f".repeat(40)));
    let file = tmp_file(&format!(
        r#"{{"listen":"127.0.0.1:1","key_prefix":"file:","tls":{{"ca":"{p}","cert":"{p}","key":"{p}"}},
            "jwt":{{"secret_file":"{sf}","ttl_secs":60}},"monitor_interval_ms":250}}"#,
        p = pem.s(),
        sf = secret_file.s()
    ));
    let s = Settings::load(Some(&file.0), &env_of(&[("CLEMENTINE_KEY_PREFIX", "env:")])).unwrap();
    assert_eq!(s.store.key_prefix, "env:");
    assert_eq!(s.listen.port(), 1);
    assert_eq!(s.jwt.secret.expose(), "f".repeat(40));
    assert_eq!(s.jwt.ttl.as_secs(), 60);
    assert_eq!(s.monitor_interval.as_millis(), 250);
}

#[test]
fn missing_secret_names_the_field() {
    let pem = tmp_file("pem");
    let p = pem.s();
    let env: Vec<_> = full_env(&p, "x")
        .into_iter()
        .filter(|(k, _)| *k != "CLEMENTINE_JWT_SECRET")
        .collect();
    let err = Settings::load(None, &env_of(&env)).unwrap_err();
    assert!(err.0.contains("jwt.secret"), "{err}");
}

#[test]
fn short_secret_is_refused() {
    let pem = tmp_file("pem");
    let p = pem.s();
    let err = Settings::load(None, &env_of(&full_env(&p, "short"))).unwrap_err();
    assert!(err.0.contains("at least 32 bytes"), "{err}");
}

#[test]
fn missing_tls_file_names_the_field() {
    let pem = tmp_file("pem");
    let p = pem.s();
    let secret = "s".repeat(40);
    let mut env = full_env(&p, &secret);
    env.retain(|(k, _)| *k != "CLEMENTINE_TLS_CA");
    env.push(("CLEMENTINE_TLS_CA", "/nonexistent/ca.pem"));
    let err = Settings::load(None, &env_of(&env)).unwrap_err();
    assert!(err.0.contains("tls.ca"), "{err}");
}

#[test]
fn missing_and_malformed_files_are_clear() {
    let err = Settings::load(Some(Path::new("/nonexistent.json")), &env_of(&[])).unwrap_err();
    assert!(err.0.contains("cannot read config file"), "{err}");
    let bad = tmp_file("{ not json");
    let err = Settings::load(Some(&bad.0), &env_of(&[])).unwrap_err();
    assert!(err.0.contains("is not valid"), "{err}");
    let unknown = tmp_file(r#"{"listne":"x"}"#);
    let err = Settings::load(Some(&unknown.0), &env_of(&[])).unwrap_err();
    assert!(err.0.contains("listne"), "{err}");
}

#[test]
fn bad_numbers_and_addresses_are_named() {
    let pem = tmp_file("pem");
    let p = pem.s();
    let secret = "s".repeat(40);
    let mut env = full_env(&p, &secret);
    env.push(("CLEMENTINE_JWT_TTL_SECS", "soon"));
    let err = Settings::load(None, &env_of(&env)).unwrap_err();
    assert!(err.0.contains("CLEMENTINE_JWT_TTL_SECS"), "{err}");

    let mut env = full_env(&p, &secret);
    env.retain(|(k, _)| *k != "CLEMENTINE_LISTEN");
    env.push(("CLEMENTINE_LISTEN", "localhost"));
    let err = Settings::load(None, &env_of(&env)).unwrap_err();
    assert!(err.0.contains("listen"), "{err}");

    for bad in ["127.0.0.1", "127.0.0.1:0", ":26379", "redis://h:1", "h:1,h"] {
        let mut env = full_env(&p, &secret);
        env.push(("CLEMENTINE_REDIS_SENTINELS", bad));
        let err = Settings::load(None, &env_of(&env)).unwrap_err();
        assert!(err.0.contains("CLEMENTINE_REDIS_SENTINELS"), "{bad}: {err}");
    }
    let mut env = full_env(&p, &secret);
    env.push((
        "CLEMENTINE_REDIS_SENTINELS",
        " 127.0.0.1:26379 , sentinel-2:26379",
    ));
    let store = Settings::load(None, &env_of(&env)).unwrap().store;
    let sentinel = store.sentinel().unwrap();
    assert_eq!(sentinel.sentinels, ["127.0.0.1:26379", "sentinel-2:26379"]);
    assert_eq!(sentinel.master, "mymaster");
}

/// The rows of the README's configuration table: (file field, environment variable).
fn readme_rows() -> Vec<(String, String)> {
    include_str!("../../README.md")
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let var = cells.get(2)?.strip_prefix("`CLEMENTINE_")?;
            let field = cells.get(1)?.trim_matches('`');
            Some((
                field.to_string(),
                format!("CLEMENTINE_{}", var.trim_matches('`')),
            ))
        })
        .collect()
}

#[test]
fn the_readme_lists_exactly_the_variables_read() {
    let readme = readme_rows();
    let read: Vec<(String, String)> = env::ENV
        .iter()
        .map(|(var, field, _)| (field.to_string(), var.to_string()))
        .collect();
    assert_eq!(readme, read);
}

/// Everything a setting can change, secrets included (Debug hides them).
fn fingerprint(s: &Settings) -> String {
    let admin_password = s.bootstrap_admin.as_ref().map(|(_, p)| p.expose());
    let secrets_key =
        [&s.secrets_key, &s.secrets_previous_key].map(|k| k.as_ref().map(|k| k.expose()));
    let access = &s.store.redis_access;
    let redis_passwords =
        [&access.password, &access.sentinel_password].map(|p| p.as_ref().map(|p| p.expose()));
    format!(
        "{s:?} {} {} {admin_password:?} {secrets_key:?} {redis_passwords:?}",
        s.jwt.secret.expose(),
        s.store.redis_url.expose()
    )
}

#[test]
fn every_variable_in_the_readme_changes_its_setting() {
    let pem = tmp_file("pem");
    let other_pem = tmp_file("other pem");
    let secret_file = tmp_file(&"u".repeat(40));
    let (p, other, sf) = (pem.s(), other_pem.s(), secret_file.s());
    let secret = "s".repeat(40);
    let sample = |var: &str| -> String {
        match var {
            "CLEMENTINE_LISTEN" => "127.0.0.1:9998".into(),
            "CLEMENTINE_REDIS_URL" => "rediss://127.0.0.1:1/".into(),
            "CLEMENTINE_KEY_PREFIX" => "other:".into(),
            "CLEMENTINE_REDIS_SENTINELS" => "127.0.0.1:26379,localhost:26380".into(),
            "CLEMENTINE_REDIS_MASTER" => "other-master".into(),
            "CLEMENTINE_REDIS_USERNAME" => "clementine".into(),
            "CLEMENTINE_REDIS_PASSWORD" => "redis-password".into(),
            "CLEMENTINE_REDIS_PASSWORD_FILE" => sf.clone(),
            "CLEMENTINE_REDIS_CA" => other.clone(),
            "CLEMENTINE_REDIS_CLIENT_CERT" | "CLEMENTINE_REDIS_CLIENT_KEY" => other.clone(),
            "CLEMENTINE_REDIS_SENTINEL_PASSWORD" => "sentinel-password".into(),
            "CLEMENTINE_REDIS_SENTINEL_TLS" => "false".into(),
            "CLEMENTINE_TLS_CA" | "CLEMENTINE_TLS_CERT" | "CLEMENTINE_TLS_KEY" => other.clone(),
            "CLEMENTINE_DOCKER_TLS_CERT" | "CLEMENTINE_DOCKER_TLS_KEY" => other.clone(),
            "CLEMENTINE_DOCKER_CLIENT_CA" | "CLEMENTINE_API_CLIENT_CA" => other.clone(),
            "CLEMENTINE_API_TLS_CERT" | "CLEMENTINE_API_TLS_KEY" => other.clone(),
            "CLEMENTINE_DOCKER_LISTEN" => "127.0.0.1:2376".into(),
            "CLEMENTINE_JWT_SECRET" => "t".repeat(40),
            "CLEMENTINE_JWT_SECRET_FILE" | "CLEMENTINE_SECRETS_KEY_FILE" => sf.clone(),
            "CLEMENTINE_JWT_PREVIOUS_SECRET_FILE" => sf.clone(),
            "CLEMENTINE_JWT_PREVIOUS_SECRET" => "p".repeat(40),
            "CLEMENTINE_SECRETS_KEY" => "k".repeat(40),
            "CLEMENTINE_SECRETS_PREVIOUS_KEY" => "o".repeat(40),
            "CLEMENTINE_SECRETS_PREVIOUS_KEY_FILE" => sf.clone(),
            "CLEMENTINE_JWT_TTL_SECS" => "120".into(),
            "CLEMENTINE_JWT_ISSUER" | "CLEMENTINE_JWT_AUDIENCE" => "someone-else".into(),
            "CLEMENTINE_ADMIN_USER" => "boss".into(),
            "CLEMENTINE_ADMIN_PASSWORD" => "another-password".into(),
            "CLEMENTINE_LOG_FORMAT" => "json".into(),
            "CLEMENTINE_STRATEGY" => "spread".into(),
            "CLEMENTINE_DEFAULT_CPUS" => "0.5".into(),
            "CLEMENTINE_DEFAULT_MEMORY_MB" => "128".into(),
            "CLEMENTINE_AUDIT_MAX_LEN" => "5000".into(),
            "CLEMENTINE_AUDIT_CHECKPOINT_SECS" => "3".into(),
            "CLEMENTINE_AUDIT_SIGNING_KEY_FILE" => sf.clone(),
            "CLEMENTINE_MAX_BODY_BYTES" => "4096".into(),
            "CLEMENTINE_TRUSTED_PROXIES" => "127.0.0.5, ::1".into(),
            // The remaining ones are intervals and timeouts in milliseconds.
            _ => "1234".into(),
        }
    };
    let base_env = full_env(&p, &secret);
    let base = fingerprint(&Settings::load(None, &env_of(&base_env)).unwrap());
    let rows = readme_rows();
    assert!(rows.len() >= 20, "the README table was not found");
    for (_, var) in rows {
        let value = sample(&var);
        let mut env = base_env.clone();
        env.retain(|(k, _)| *k != var);
        env.push((&var, &value));
        let changed =
            Settings::load(None, &env_of(&env)).unwrap_or_else(|e| panic!("{var}={value}: {e}"));
        assert_ne!(fingerprint(&changed), base, "{var} changed nothing");
    }
}

#[test]
fn the_docker_listener_is_off_unless_set_and_its_tls_files_go_together() {
    let pem = tmp_file("pem");
    let p = pem.s();
    let secret = "s".repeat(40);
    let mut env = full_env(&p, &secret);
    env.retain(|(k, _)| !k.starts_with("CLEMENTINE_DOCKER_"));
    assert!(
        Settings::load(None, &env_of(&env))
            .unwrap()
            .docker
            .is_none()
    );
    env.push(("CLEMENTINE_DOCKER_LISTEN", "127.0.0.1:2375"));
    let plain = Settings::load(None, &env_of(&env)).unwrap().docker.unwrap();
    assert!(plain.tls.is_none());
    env.push(("CLEMENTINE_DOCKER_TLS_CERT", &p));
    let half = Settings::load(None, &env_of(&env)).unwrap_err().to_string();
    assert!(half.contains("CLEMENTINE_DOCKER_TLS_KEY"), "{half}");
    env.push(("CLEMENTINE_DOCKER_LISTEN", "localhost"));
    let bad = Settings::load(None, &env_of(&env));
    assert!(bad.is_err());
}

#[test]
fn https_files_go_together_and_a_client_ca_needs_them() {
    let pem = tmp_file("pem");
    let p = pem.s();
    let secret = "s".repeat(40);
    let mut env = full_env(&p, &secret);
    env.retain(|(k, _)| !k.starts_with("CLEMENTINE_API_"));
    assert!(
        Settings::load(None, &env_of(&env))
            .unwrap()
            .api_tls
            .is_none()
    );
    env.push(("CLEMENTINE_API_CLIENT_CA", &p));
    let lone = Settings::load(None, &env_of(&env)).unwrap_err().to_string();
    assert!(
        lone.contains("CLEMENTINE_API_CLIENT_CA") && lone.contains("CLEMENTINE_API_TLS_CERT"),
        "{lone}"
    );
    env.push(("CLEMENTINE_API_TLS_CERT", &p));
    let half = Settings::load(None, &env_of(&env)).unwrap_err().to_string();
    assert!(half.contains("go together"), "{half}");
    env.push(("CLEMENTINE_API_TLS_KEY", &p));
    let tls = Settings::load(None, &env_of(&env))
        .unwrap()
        .api_tls
        .unwrap();
    assert_eq!(tls.client_ca.as_deref(), Some(std::path::Path::new(&p)));
}

/// The deploy/ unit and settings template name only variables that are read, so a renamed
/// setting cannot leave a deployment silently on its default.
#[test]
fn deploy_files_name_only_variables_that_are_read() {
    let read: Vec<&str> = env::ENV.iter().map(|(var, _, _)| *var).collect();
    let files = [
        include_str!("../../deploy/clementine.env"),
        include_str!("../../deploy/clementine.service"),
    ];
    let mut named = 0;
    for text in files {
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with("CLEMENTINE_") && word.len() > "CLEMENTINE_".len() {
                assert!(read.contains(&word), "{word} is not a setting");
                named += 1;
            }
        }
    }
    assert!(named >= 12, "only {named} settings named");
}
