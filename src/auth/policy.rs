//! The access policy: pure rules about who may see and touch what.
//!
//! Admins see and touch everything. A user sees only the engines granted to them and, on those,
//! only the containers labelled as theirs. Whatever a user may not see answers as if it did not
//! exist (404), so ids of other tenants' engines and containers do not leak.

use crate::domain::{Role, TokenScope};

use super::AuthError;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Principal {
    pub username: String,
    /// The role now (read at every request), not when the credential was issued.
    pub role: Role,
    /// The request being served, for the audit log.
    pub request_id: Option<String>,
    /// The API token the request came with, if not a login session.
    pub token: Option<TokenGrant>,
}

/// An API token in use: its id (never its text) and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub id: String,
    pub scopes: Vec<TokenScope>,
}

impl Principal {
    /// The operator at the command line (`clementine user add`, `replay`): an admin, recorded
    /// in the audit log as `clementine-cli`.
    pub fn operator() -> Self {
        Principal {
            username: "clementine-cli".into(),
            role: Role::Admin,
            request_id: Some(format!("cli-{}", uuid::Uuid::now_v7())),
            token: None,
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

    /// May the caller see (and act on) a container with this owner label?
    pub fn may_touch_container(&self, owner: Option<&str>) -> bool {
        self.is_admin() || owner == Some(self.username.as_str())
    }

    /// The owner label value that restricts a container listing for this caller; `None` for
    /// admins, who see every container.
    pub fn owner_filter(&self) -> Option<&str> {
        (!self.is_admin()).then_some(self.username.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(role: Role) -> Principal {
        Principal {
            username: "ann".into(),
            role,
            request_id: None,
            token: None,
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
