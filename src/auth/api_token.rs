//! API tokens: `clm_<id>_<secret>`. The id finds the record; only the SHA-256 of the secret is
//! stored (the secret is 256 random bits, so a fast hash is enough: there is nothing to guess).
//! [`required_scope`] says which scope a request needs, from its method and path, by the one
//! table [`SCOPE_RULES`].

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::TokenScope;

/// Every API token starts with this, so secret scanners can find leaked ones.
pub const TOKEN_PREFIX: &str = "clm_";

/// A token just made: its id, the text shown once, and the hash kept.
pub struct MintedToken {
    pub id: String,
    pub text: String,
    pub hash: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn mint() -> MintedToken {
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut id);
    rand::rng().fill_bytes(&mut secret);
    let (id, secret) = (hex(&id), hex(&secret));
    MintedToken {
        text: format!("{TOKEN_PREFIX}{id}_{secret}"),
        hash: hash(&secret),
        id,
    }
}

/// `(id, secret)` of a token's text, if it has the shape of one.
pub fn parse(text: &str) -> Option<(&str, &str)> {
    let (id, secret) = text.strip_prefix(TOKEN_PREFIX)?.split_once('_')?;
    let hex_of = |s: &str, len| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_of(id, 16) && hex_of(secret, 64)).then_some((id, secret))
}

pub fn hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `stored`, in time that does not depend on where they differ.
pub fn matches(secret: &str, stored: &str) -> bool {
    let computed = hash(secret);
    computed.len() == stored.len()
        && computed
            .bytes()
            .zip(stored.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// What a request needs from an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Scope(TokenScope),
    /// Managing tokens or one's password: a login session, or the `admin` scope.
    Session,
}

/// Which requests a rule covers: by method, and by the path under `/apiv1`.
#[derive(Debug, Clone, Copy)]
pub struct ScopeRule {
    /// `GET`, `not GET`, or `any`.
    pub methods: &'static str,
    /// Path templates; `*` stands for one segment, a trailing `**` for any rest.
    pub paths: &'static [&'static str],
    pub need: Need,
}

/// The scope each request needs: the first rule that covers it decides. The README prints
/// this table (`scope_table_markdown`), and a test holds the two to the same text.
pub const SCOPE_RULES: &[ScopeRule] = &[
    ScopeRule {
        methods: "any",
        paths: &["/user/**", "/users", "/replay"],
        need: Need::Scope(TokenScope::Admin),
    },
    ScopeRule {
        methods: "not GET",
        paths: &["/engine", "/engine/*"],
        need: Need::Scope(TokenScope::Admin),
    },
    ScopeRule {
        methods: "any",
        paths: &["/tokens", "/token/**"],
        need: Need::Session,
    },
    ScopeRule {
        methods: "not GET",
        paths: &["/teams", "/team/**"],
        need: Need::Session,
    },
    ScopeRule {
        methods: "not GET",
        paths: &["/me/**"],
        need: Need::Session,
    },
    ScopeRule {
        methods: "any",
        paths: &["/events/**", "/audit/**"],
        need: Need::Scope(TokenScope::Events),
    },
    ScopeRule {
        methods: "GET",
        paths: &["/**"],
        need: Need::Scope(TokenScope::Read),
    },
    ScopeRule {
        methods: "any",
        paths: &["/**"],
        need: Need::Scope(TokenScope::Run),
    },
];

fn path_matches(template: &str, segments: &[&str]) -> bool {
    let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        match *part {
            "**" => return true,
            "*" if i < segments.len() => {}
            p if segments.get(i) == Some(&p) => {}
            _ => return false,
        }
    }
    parts.len() == segments.len()
}

impl ScopeRule {
    fn covers(&self, method: &str, segments: &[&str]) -> bool {
        let method_ok = match self.methods {
            "GET" => method == "GET",
            "not GET" => method != "GET",
            _ => true,
        };
        method_ok && self.paths.iter().any(|p| path_matches(p, segments))
    }
}

/// The scope a request under `/apiv1` needs, by method and path.
pub fn required_scope(method: &str, path: &str) -> Need {
    let path = path.strip_prefix("/apiv1").unwrap_or(path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    (SCOPE_RULES.iter())
        .find(|r| r.covers(method, &segments))
        .map_or(Need::Scope(TokenScope::Admin), |r| r.need)
}

/// Whether a token's scopes cover a need.
pub fn covers(scopes: &[TokenScope], need: Need) -> bool {
    scopes.contains(&TokenScope::Admin)
        || matches!(need, Need::Scope(scope) if scopes.contains(&scope))
}

/// [`SCOPE_RULES`] as the README shows it.
pub fn scope_table_markdown() -> String {
    let mut out = String::from("| methods | paths under `/apiv1` | needs |\n|---|---|---|\n");
    for rule in SCOPE_RULES {
        let paths: Vec<String> = rule.paths.iter().map(|p| format!("`{p}`")).collect();
        let need = match rule.need {
            Need::Scope(scope) => format!("the `{}` scope", scope.as_str()),
            Need::Session => "a login session, or the `admin` scope".to_string(),
        };
        out.push_str(&format!(
            "| {} | {} | {need} |\n",
            rule.methods,
            paths.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use TokenScope::*;

    #[test]
    fn tokens_round_trip_and_only_their_secret_matches() {
        let t = mint();
        assert!(t.text.starts_with("clm_"));
        let (id, secret) = parse(&t.text).unwrap();
        assert_eq!(id, t.id);
        assert!(matches(secret, &t.hash));
        let mut other = secret.to_string();
        other.replace_range(0..1, if other.starts_with('0') { "1" } else { "0" });
        assert!(!matches(&other, &t.hash));
        assert_eq!(parse("clm_zz_yy"), None);
        assert_eq!(parse("eyJhbGciOi.x.y"), None);
    }

    #[test]
    fn routes_need_the_scope_of_what_they_do() {
        let need = |m, p| required_scope(m, p);
        assert_eq!(need("GET", "/apiv1/engines"), Need::Scope(Read));
        assert_eq!(
            need("GET", "/apiv1/engine/e1/container/c/logs"),
            Need::Scope(Read)
        );
        assert_eq!(need("GET", "/apiv1/me"), Need::Scope(Read));
        assert_eq!(need("POST", "/apiv1/container"), Need::Scope(Run));
        assert_eq!(
            need("DELETE", "/apiv1/engine/e1/container/c"),
            Need::Scope(Run)
        );
        assert_eq!(
            need("DELETE", "/apiv1/engine/e1/volume/v"),
            Need::Scope(Run)
        );
        assert_eq!(need("POST", "/apiv1/image/web/scale"), Need::Scope(Run));
        assert_eq!(need("GET", "/apiv1/events"), Need::Scope(Events));
        assert_eq!(need("GET", "/apiv1/events/stream"), Need::Scope(Events));
        assert_eq!(need("POST", "/apiv1/engine"), Need::Scope(Admin));
        assert_eq!(need("PATCH", "/apiv1/engine/e1"), Need::Scope(Admin));
        assert_eq!(need("DELETE", "/apiv1/engine/e1"), Need::Scope(Admin));
        assert_eq!(need("GET", "/apiv1/users"), Need::Scope(Admin));
        assert_eq!(need("POST", "/apiv1/replay"), Need::Scope(Admin));
        assert_eq!(need("POST", "/apiv1/tokens"), Need::Session);
        assert_eq!(need("GET", "/apiv1/tokens"), Need::Session);
        assert_eq!(need("DELETE", "/apiv1/token/abc"), Need::Session);
        assert_eq!(need("POST", "/apiv1/me/password"), Need::Session);
        assert!(covers(&[Read], Need::Scope(Read)));
        assert!(!covers(&[Read], Need::Scope(Run)));
        assert!(!covers(&[Read, Run, Events], Need::Session));
        assert!(covers(&[Admin], Need::Session));
        // Engine-scoped routes below an engine are not engine administration.
        assert_eq!(need("GET", "/apiv1/engine/e1"), Need::Scope(Read));
        assert_eq!(
            need("POST", "/apiv1/engine/e1/container/c/stop"),
            Need::Scope(Run)
        );
        assert_eq!(need("PATCH", "/apiv1/user/bob"), Need::Scope(Admin));
        assert_eq!(need("GET", "/apiv1/me"), Need::Scope(Read));
        assert_eq!(need("GET", "/apiv1/events/stream"), Need::Scope(Events));
    }

    #[test]
    fn the_readme_prints_the_table() {
        let readme = include_str!("../../README.md");
        let table = scope_table_markdown();
        assert!(
            readme.contains(&table),
            "README.md must hold the scope table as the code has it:\n{table}"
        );
    }
}
