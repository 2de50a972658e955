//! Who owns an object, as labels, claims, quotas and the audit log record it: a username, or
//! `team:<name>` for a team. No username holds `:`, so the two never meet.

use super::OwnerKind;

const TEAM_PREFIX: &str = "team:";

/// The owner string of a team.
pub fn team_owner(team: &str) -> String {
    format!("{TEAM_PREFIX}{team}")
}

/// Whose an owner string is: a user's or a team's, and the name.
pub fn owner_kind(owner: &str) -> (OwnerKind, &str) {
    match owner.strip_prefix(TEAM_PREFIX) {
        Some(team) => (OwnerKind::Team, team),
        None => (OwnerKind::User, owner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn teams_and_users_never_meet() {
        assert_eq!(owner_kind("ann"), (OwnerKind::User, "ann"));
        assert_eq!(owner_kind(&team_owner("ops")), (OwnerKind::Team, "ops"));
    }
}
