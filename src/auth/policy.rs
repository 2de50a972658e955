//! The access policy: pure rules about who may see and touch what.
//!
//! Admins see and touch everything. A user sees only the engines granted to them and, on those,
//! only the containers labelled as theirs. Whatever a user may not see answers as if it did not
//! exist (404), so ids of other tenants' engines and containers do not leak.

use crate::domain::{OwnerKind, Role, TokenScope, owner_kind};

use super::AuthError;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Principal {
    pub username: String,
    /// The account's id (empty for the command-line operator): what API tokens record as their
    /// owner's.
    pub account: String,
    /// The role now (read at every request), not when the credential was issued.
    pub role: Role,
    /// The request being served, for the audit log.
    pub request_id: Option<String>,
    /// The API token the request came with, if not a login session.
    pub token: Option<TokenGrant>,
    /// The login session the request came with, if not an API token.
    pub session: Option<LoginSession>,
    /// The teams the caller is a member of (read with the account at every request).
    pub teams: Vec<String>,
    /// The front door the request came in by; the audit log records it.
    pub via: Via,
}

/// The front door of a request: `/apiv1`, or the Docker Engine API listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Via {
    #[default]
    Api,
    Docker,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Api => "api",
            Via::Docker => "docker",
        }
    }
}

/// A login JWT in use: enough to check it again later (a live stream does, every second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginSession {
    /// The account's token version the JWT was issued at.
    pub version: u64,
    /// Unix seconds.
    pub expires_secs: u64,
}

/// An API token in use: its id (never its text) and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub id: String,
    pub scopes: Vec<TokenScope>,
    /// Unix ms, when the token has an end.
    pub expires_ms: Option<u64>,
}

/// The role a request acts with: the account's own for a login session or a token with the
/// `admin` scope; a plain user's for any narrower token, whoever owns it (so an admin's `run`
/// token meets the tenant guard and sees only its owner's objects).
pub fn acting_role(account: Role, token_scopes: Option<&[TokenScope]>) -> Role {
    match token_scopes {
        Some(scopes) if !scopes.contains(&TokenScope::Admin) => Role::User,
        _ => account,
    }
}

impl Principal {
    /// The operator at the command line (`clementine user add`, `replay`): an admin, recorded
    /// in the audit log as `clementine-cli`.
    pub fn operator() -> Self {
        Principal {
            username: "clementine-cli".into(),
            account: String::new(),
            role: Role::Admin,
            request_id: Some(format!("cli-{}", uuid::Uuid::now_v7())),
            token: None,
            session: None,
            teams: Vec::new(),
            via: Default::default(),
        }
    }

    /// When the credential of the request ends (unix ms), if it does.
    pub fn credential_ends_ms(&self) -> Option<u64> {
        match (&self.session, &self.token) {
            (Some(s), _) => Some(s.expires_secs * 1000),
            (None, Some(t)) => t.expires_ms,
            (None, None) => None,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Admin-only actions.
    pub fn require_admin(&self) -> Result<(), AuthError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AuthError::Forbidden(
                "this action needs the admin role".into(),
            ))
        }
    }

    /// May the caller see an engine, given whether it is granted to them?
    pub fn may_use_engine(&self, granted: bool) -> bool {
        self.is_admin() || granted
    }

    /// May the caller see (and act on) an object with this owner: their own, or one of their
    /// teams' (`team:<name>`)?
    pub fn may_touch_container(&self, owner: Option<&str>) -> bool {
        self.is_admin()
            || owner.is_some_and(|o| {
                o == self.username
                    || matches!(owner_kind(o), (OwnerKind::Team, t) if self.teams.iter().any(|m| m == t))
            })
    }

    /// The owner label value that restricts a listing for this caller, when one value does: a
    /// user in no team. `None` for admins (who see everything) and for team members (whose
    /// listings are filtered by [`may_touch_container`](Self::may_touch_container) instead).
    pub fn owner_filter(&self) -> Option<&str> {
        (!self.is_admin() && self.teams.is_empty()).then_some(self.username.as_str())
    }

    /// The owners whose objects the caller sees: `None` for admins (everything), else
    /// themselves and their teams.
    pub fn visible_owners(&self) -> Option<Vec<String>> {
        if self.is_admin() {
            return None;
        }
        let teams = self.teams.iter().map(|t| crate::domain::team_owner(t));
        Some(
            std::iter::once(self.username.clone())
                .chain(teams)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(role: Role) -> Principal {
        Principal {
            username: "ann".into(),
            account: "1".into(),
            role,
            request_id: None,
            token: None,
            session: None,
            teams: Vec::new(),
            via: Default::default(),
        }
    }

    #[test]
    fn admins_see_everything() {
        let a = p(Role::Admin);
        assert!(a.require_admin().is_ok());
        assert!(a.may_use_engine(false));
        assert!(a.may_touch_container(Some("bob")));
        assert!(a.may_touch_container(None));
        assert_eq!(a.owner_filter(), None);
    }

    #[test]
    fn only_the_admin_scope_carries_admin_powers() {
        use TokenScope::*;
        assert_eq!(acting_role(Role::Admin, None), Role::Admin);
        assert_eq!(acting_role(Role::Admin, Some(&[Admin])), Role::Admin);
        for narrow in [&[Run][..], &[Read], &[Events], &[Read, Run, Events]] {
            assert_eq!(acting_role(Role::Admin, Some(narrow)), Role::User);
        }
        assert_eq!(acting_role(Role::User, Some(&[Admin])), Role::User);
        assert_eq!(acting_role(Role::User, None), Role::User);
    }

    #[test]
    fn users_see_their_own() {
        let u = p(Role::User);
        assert!(u.require_admin().is_err());
        assert!(u.may_use_engine(true));
        assert!(!u.may_use_engine(false));
        assert!(u.may_touch_container(Some("ann")));
        assert!(!u.may_touch_container(Some("bob")));
        assert!(!u.may_touch_container(None));
        assert_eq!(u.owner_filter(), Some("ann"));
    }
}
