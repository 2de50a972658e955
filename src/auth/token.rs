//! JWT bearer tokens: HS256 only, with exp, iat, iss, aud, sub, the account id, role and a
//! per-user token version.
//!
//! The algorithm is pinned on both sides: a token whose header says anything else (including
//! `none`) is refused before its signature is looked at. Revocation works through the version:
//! each request compares the token's `ver` with the user's current one in Redis. The account id
//! (`uid`) ties a token to one account: a user deleted and made again under the same name is
//! another account, and the old account's tokens name the old id.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::AuthError;
use crate::config::JwtSettings;
use crate::domain::Role;
use crate::time::now_secs;

/// The claims clementine puts in a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Username.
    pub sub: String,
    /// The account's id (see `store::UserRecord::id`); tokens without one are refused.
    #[serde(default)]
    pub uid: String,
    /// Role at issue time (requests use the current role from Redis).
    pub role: Role,
    /// The user's token version at issue time.
    pub ver: u64,
    pub iat: u64,
    pub exp: u64,
    pub iss: String,
    pub aud: String,
    /// Unique token id, for logs and audits.
    pub jti: String,
}

/// A freshly issued token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: u64,
}

/// Issues tokens with the current secret and verifies them with it or, until they expire, the
/// previous one. Each token names its key in the header (`kid`: the first 16 hex digits of the
/// SHA-256 of the secret), so a token is checked against one key only; a token without `kid`
/// (issued before kids) is checked against the current secret.
pub struct Tokens {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// `(kid, key)` of the secret before the last rotation.
    previous: Option<(String, DecodingKey)>,
    validation: Validation,
    settings: JwtSettings,
}

/// The id of a key: not the secret, and not enough of its hash to help guess it.
fn key_id(secret: &str) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(secret.as_bytes());
    hash[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Seconds of clock skew tolerated on `exp`.
const LEEWAY_SECS: u64 = 5;

impl Tokens {
    pub fn new(settings: &JwtSettings) -> Self {
        let secret = settings.secret.expose().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        let previous = (settings.previous_secret.as_ref()).map(|p| {
            let key = DecodingKey::from_secret(p.expose().as_bytes());
            (key_id(p.expose()), key)
        });
        Self {
            kid: key_id(settings.secret.expose()),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            previous,
            validation,
            settings: settings.clone(),
        }
    }

    /// Issues a token for an account (name and id) at its current token version.
    pub fn issue(
        &self,
        (username, uid): (&str, &str),
        role: Role,
        version: u64,
    ) -> Result<IssuedToken, AuthError> {
        let iat = now_secs();
        let exp = iat + self.settings.ttl.as_secs();
        let claims = Claims {
            sub: username.to_string(),
            uid: uid.to_string(),
            role,
            ver: version,
            iat,
            exp,
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        self.sign(&claims).map(|token| IssuedToken {
            token,
            expires_at: exp,
        })
    }

    /// Signs arbitrary claims (tests use it to forge expired tokens with the right key).
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| AuthError::Hashing(e.to_string()))
    }

    /// Checks signature, algorithm, expiry, issuer and audience; says which check failed in
    /// general terms only.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        use jsonwebtoken::errors::ErrorKind;
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::InvalidToken("malformed token"))?;
        let key = match header.kid.as_deref() {
            None => &self.decoding,
            Some(kid) if kid == self.kid => &self.decoding,
            Some(kid) => match &self.previous {
                Some((previous, key)) if kid == previous => key,
                _ => return Err(AuthError::InvalidToken("signed with an unknown key")),
            },
        };
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                AuthError::InvalidToken(match e.kind() {
                    ErrorKind::ExpiredSignature => "token expired",
                    ErrorKind::InvalidIssuer => "wrong issuer",
                    ErrorKind::InvalidAudience => "wrong audience",
                    ErrorKind::InvalidSignature => "bad signature",
                    ErrorKind::InvalidAlgorithm => "algorithm not allowed",
                    ErrorKind::MissingRequiredClaim(_) => "missing claim",
                    _ => "malformed token",
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Secret;

    #[test]
    fn a_rotation_keeps_old_tokens_until_they_expire() {
        let old = Tokens::new(&settings("old-secret-0123456789abcdef0123456789"));
        let token = old.issue(("ann", "1"), Role::User, 0).unwrap().token;
        let mut rotated = settings("new-secret-0123456789abcdef0123456789");
        rotated.previous_secret = Some(Secret::new("old-secret-0123456789abcdef0123456789"));
        let rotated = Tokens::new(&rotated);
        assert_eq!(rotated.verify(&token).unwrap().sub, "ann");
        let new = rotated.issue(("ann", "1"), Role::User, 0).unwrap().token;
        let kid = |t: &str| jsonwebtoken::decode_header(t).unwrap().kid;
        assert_ne!(kid(&token), kid(&new));
        assert!(
            old.verify(&new).is_err(),
            "the old server does not know the new key"
        );
        let stranger = Tokens::new(&settings("stranger-0123456789abcdef0123456789"));
        let forged = stranger.issue(("ann", "1"), Role::Admin, 0).unwrap().token;
        assert!(matches!(
            rotated.verify(&forged),
            Err(AuthError::InvalidToken("signed with an unknown key"))
        ));
    }

    fn settings(secret: &str) -> JwtSettings {
        JwtSettings {
            secret: Secret::new(secret),
            previous_secret: None,
            ttl: Duration::from_secs(60),
            issuer: "clementine".into(),
            audience: "clementine-api".into(),
        }
    }

    #[test]
    fn round_trip() {
        let t = Tokens::new(&settings(&"k".repeat(32)));
        let issued = t.issue(("ann", "7"), Role::User, 3).unwrap();
        let claims = t.verify(&issued.token).unwrap();
        assert_eq!(claims.sub, "ann");
        assert_eq!(claims.uid, "7");
        assert_eq!(claims.ver, 3);
        assert_eq!(claims.exp, issued.expires_at);
    }

    #[test]
    fn refuses_other_secret_expired_none_and_wrong_audience() {
        let t = Tokens::new(&settings(&"k".repeat(32)));
        let other = Tokens::new(&settings(&"o".repeat(32)));
        let token = other.issue(("ann", "7"), Role::Admin, 1).unwrap().token;
        assert!(t.verify(&token).is_err());

        let mut claims = t
            .verify(&t.issue(("ann", "7"), Role::User, 1).unwrap().token)
            .unwrap();
        claims.exp = now_secs() - 60;
        assert!(matches!(
            t.verify(&t.sign(&claims).unwrap()),
            Err(AuthError::InvalidToken("token expired"))
        ));

        let mut claims = t
            .verify(&t.issue(("ann", "7"), Role::User, 1).unwrap().token)
            .unwrap();
        claims.aud = "someone-else".into();
        assert!(t.verify(&t.sign(&claims).unwrap()).is_err());

        // alg: none, no signature.
        use base64_url as b64;
        let header = b64::encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = b64::encode(serde_json::to_string(&claims).unwrap().as_bytes());
        assert!(t.verify(&format!("{header}.{body}.")).is_err());
    }

    /// Base64url without padding, enough for forging test tokens.
    mod base64_url {
        pub fn encode(bytes: &[u8]) -> String {
            const A: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let b = [
                    chunk[0],
                    *chunk.get(1).unwrap_or(&0),
                    *chunk.get(2).unwrap_or(&0),
                ];
                let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
                for i in 0..chunk.len() + 1 {
                    out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
                }
            }
            out
        }
    }
}
