//! Who is calling and what they may touch: argon2id passwords, JWT bearer tokens, and the access
//! policy.

pub mod api_token;
mod guard;
mod password;
mod policy;
mod secrets;
mod token;

pub use guard::forbidden_for_users;
pub use password::Passwords;
pub use policy::{LoginSession, Principal, TokenGrant, Via, acting_role};
pub use secrets::{SecretBox, Unopenable};
pub use token::{Claims, IssuedToken, Tokens};

/// Authentication failures. Messages are safe to show: they never include a secret.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong username or password (which of the two is not said).
    #[error("invalid username or password")]
    InvalidCredentials,
    /// The bearer token is missing, malformed, expired, revoked or signed by someone else.
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The caller may not use an option (the tenant guard, a publish address); the message
    /// names the field.
    #[error("{0}")]
    OptionNotAllowed(String),
    /// Hashing failed or its worker pool is gone; not the client's fault.
    #[error("password hashing failed: {0}")]
    Hashing(String),
}
