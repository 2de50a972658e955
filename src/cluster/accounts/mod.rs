//! Who may act: logins, API tokens, users, teams and their quotas, registry credentials, and
//! ending an account or a team cleanly.

use super::*;

pub(super) mod account_end;
pub(super) mod quotas;
pub(super) mod registries;
pub(super) mod session;
pub(super) mod teams;
pub(super) mod tokens;
pub(super) mod users;
