//! Engine-side names for what a tenant names.
//!
//! Docker's names are global to an engine: two tenants who both call a container `web`, or a
//! volume `data`, would collide (or worse, share). So the name a user writes is theirs alone, and
//! the engine sees it under a name no other tenant or deployment can produce:
//!
//! ```text
//! clm.<deployment>.<owner length>.<owner>.<name>       clm.3f2a9c01.3.ann.web
//! ```
//!
//! `<deployment>` is 8 hex digits of a hash of the deployment's key prefix (deployments sharing
//! engines stay apart); the owner's length makes the split unambiguous, since usernames and names
//! may themselves contain dots. Every character is one Docker allows in container, volume and
//! network names. The same scheme serves all three kinds: Docker keeps them apart.

use super::InvalidInput;

/// How a team's owner string begins (see `domain::owner`).
const TEAM: &str = "team:";

/// Longest name a user may give a container, volume or network.
pub const MAX_OBJECT_NAME: usize = 64;

/// The engine-side namespace of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    tag: String,
}

impl Scope {
    /// The scope of the deployment with this key prefix.
    pub fn of_deployment(prefix: &str) -> Self {
        // FNV-1a: stable across builds and platforms, which `std`'s hasher is not promised to be.
        let hash = prefix.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Self {
            tag: format!("{:08x}", hash as u32),
        }
    }

    /// The engine-side name of `owner`'s object `name`. A team (`team:<name>`) is written
    /// `t<length>.<team>`: Docker allows no `:`, and no user's length starts with `t`.
    pub fn name(&self, owner: &str, name: &str) -> String {
        match owner.strip_prefix(TEAM) {
            Some(team) => format!("clm.{}.t{}.{team}.{name}", self.tag, team.len()),
            None => format!("clm.{}.{}.{owner}.{name}", self.tag, owner.len()),
        }
    }

    /// `(owner, name)` of an engine-side name of this deployment (a team's owner as
    /// `team:<name>`).
    pub fn parse(&self, engine_name: &str) -> Option<(String, String)> {
        let rest = engine_name.strip_prefix("clm.")?.strip_prefix(&self.tag)?;
        let (len, rest) = rest.strip_prefix('.')?.split_once('.')?;
        let (team, len) = match len.strip_prefix('t') {
            Some(len) => (true, len),
            None => (false, len),
        };
        let len: usize = len.parse().ok()?;
        let owner = rest.get(..len)?;
        let name = rest.get(len..)?.strip_prefix('.')?;
        let owner = if team {
            format!("{TEAM}{owner}")
        } else {
            owner.to_string()
        };
        Some((owner, name.to_string()))
    }
}

/// Checks a name a user gives a volume or network: 1 to 64 letters, digits, `_`, `.`, `-`,
/// starting with a letter or digit (what Docker accepts, and never a path).
pub fn check_object_name(field: &str, name: &str) -> Result<(), InvalidInput> {
    let ok = !name.is_empty()
        && name.len() <= MAX_OBJECT_NAME
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::new(
            field,
            format!(
                "must be 1 to {MAX_OBJECT_NAME} letters, digits, '_', '.', '-', starting with a letter or digit"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_scoped_by_deployment_and_owner() {
        let scope = Scope::of_deployment("clementine:");
        let ann = scope.name("ann", "web");
        assert!(
            ann.starts_with("clm.") && ann.ends_with(".3.ann.web"),
            "{ann}"
        );
        assert_ne!(ann, scope.name("bob", "web"));
        assert_ne!(ann, Scope::of_deployment("other:").name("ann", "web"));
        // Dots in owners and names cannot make two pairs meet.
        assert_ne!(scope.name("a.b", "c"), scope.name("a", "b.c"));
        assert_eq!(scope.parse(&ann), Some(("ann".into(), "web".into())));
        // A team and a user of the same name never meet.
        let team = scope.name("team:ann", "web");
        assert_ne!(team, ann);
        assert_eq!(scope.parse(&team), Some(("team:ann".into(), "web".into())));
        assert_eq!(scope.parse("web"), None);
        assert_eq!(Scope::of_deployment("other:").parse(&ann), None);
    }

    fn object_name() -> impl Strategy<Value = String> {
        "[a-z0-9][a-z0-9_.-]{0,20}"
    }

    proptest! {
        #[test]
        fn distinct_pairs_never_collide(
            a in (object_name(), object_name()),
            b in (object_name(), object_name()),
        ) {
            let scope = Scope::of_deployment("x:");
            prop_assert_eq!(scope.name(&a.0, &a.1) == scope.name(&b.0, &b.1), a == b);
            let name = scope.name(&a.0, &a.1);
            prop_assert_eq!(scope.parse(&name), Some((a.0.clone(), a.1.clone())));
            let team = scope.name(&format!("team:{}", a.0), &a.1);
            prop_assert_ne!(&team, &scope.name(&b.0, &b.1));
        }
    }
}
