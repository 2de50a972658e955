//! Validation of the names and small values that clients send: one place decides what a valid
//! engine id, username or label is, so the API, the CLI and the store agree.

/// A value a client sent is not acceptable; `field` names it so the client can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidInput {
    /// The request field (or path parameter) at fault.
    pub field: String,
    /// What is wrong with it, as a sentence fragment.
    pub reason: String,
}

impl InvalidInput {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Longest engine id or username. Ids end up in Redis keys, Docker labels and URLs.
pub const MAX_NAME_LEN: usize = 64;
/// Most labels one engine or image config may carry.
pub const MAX_LABELS: usize = 64;
/// Longest label.
pub const MAX_LABEL_LEN: usize = 128;
/// Most CPUs one engine may have or one container may ask for: catches unit mistakes.
pub const MAX_CPUS: f64 = 4096.0;
/// The least CPU a container may ask for: the kernel's smallest CFS quota (1 ms per 100 ms
/// period). Reservations are kept in thousandths of a CPU, so this is also a whole number of
/// them.
pub const MIN_CPUS: f64 = 0.01;
/// Largest memory (MB) of one engine or one container, to catch unit mistakes (MB vs bytes).
pub const MAX_MEMORY_MB: u64 = 1 << 30;
/// Smallest memory (MB) of one container: Docker's own minimum limit.
pub const MIN_MEMORY_MB: u64 = 6;
/// Password length bounds. The upper bound keeps argon2 input (and request bodies) small.
pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = 1024;

/// An id is 1 to 64 characters: ASCII letters, digits, `_`, `-`, `.`; it starts with a letter or
/// a digit. That keeps ids safe inside Redis keys (no `:`), URLs and Docker label values.
fn check_id(field: &str, value: &str) -> Result<(), InvalidInput> {
    if value.is_empty() {
        return Err(InvalidInput::new(field, "must not be empty"));
    }
    if value.len() > MAX_NAME_LEN {
        return Err(InvalidInput::new(
            field,
            format!("must be at most {MAX_NAME_LEN} characters"),
        ));
    }
    let first_ok = value.as_bytes()[0].is_ascii_alphanumeric();
    let rest_ok = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !first_ok || !rest_ok {
        return Err(InvalidInput::new(
            field,
            "may contain only letters, digits, '_', '-' and '.', and must start with a letter or digit",
        ));
    }
    Ok(())
}

/// Checks an engine id.
pub fn check_engine_id(field: &str, id: &str) -> Result<(), InvalidInput> {
    check_id(field, id)
}

/// Checks a username.
pub fn check_username(field: &str, name: &str) -> Result<(), InvalidInput> {
    check_id(field, name)
}

/// Checks a new password's length (any characters are allowed).
pub fn check_password(field: &str, password: &str) -> Result<(), InvalidInput> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(InvalidInput::new(
            field,
            format!("must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(InvalidInput::new(
            field,
            format!("must be at most {MAX_PASSWORD_LEN} bytes"),
        ));
    }
    Ok(())
}

/// Docker label keys clementine writes on what it makes (owner, cluster, op ...); nobody else
/// may set them.
pub const RESERVED_LABEL_PREFIX: &str = "clementine.";

/// Checks a list of labels: at most 64, each 1 to 128 printable characters.
pub fn check_labels(field: &str, labels: &[String]) -> Result<(), InvalidInput> {
    if labels.len() > MAX_LABELS {
        return Err(InvalidInput::new(
            field,
            format!("at most {MAX_LABELS} labels are allowed"),
        ));
    }
    for (i, label) in labels.iter().enumerate() {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err(InvalidInput::new(
                format!("{field}[{i}]"),
                format!("must be 1 to {MAX_LABEL_LEN} characters"),
            ));
        }
        if label.chars().any(|c| c.is_control()) {
            return Err(InvalidInput::new(
                format!("{field}[{i}]"),
                "must not contain control characters",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(check_engine_id("id", "e1").is_ok());
        assert!(check_engine_id("id", "node-1.rack_2").is_ok());
        assert!(check_engine_id("id", "").is_err());
        assert!(check_engine_id("id", "-x").is_err());
        assert!(check_engine_id("id", "a:b").is_err());
        assert!(check_engine_id("id", "a/b").is_err());
        assert!(check_engine_id("id", "é").is_err());
        assert!(check_engine_id("id", &"a".repeat(64)).is_ok());
        let err = check_engine_id("id", &"a".repeat(65)).unwrap_err();
        assert_eq!(err.field, "id");
    }

    #[test]
    fn passwords() {
        assert!(check_password("password", "short").is_err());
        assert!(check_password("password", "long enough").is_ok());
        assert!(check_password("password", &"x".repeat(2000)).is_err());
    }

    #[test]
    fn labels() {
        assert!(check_labels("labels", &["ssd".into(), "zone:a".into()]).is_ok());
        assert_eq!(
            check_labels("labels", &["".into()]).unwrap_err().field,
            "labels[0]"
        );
        let many: Vec<String> = (0..65).map(|i| i.to_string()).collect();
        assert!(check_labels("labels", &many).is_err());
    }
}
