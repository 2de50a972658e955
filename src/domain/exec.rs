//! A command run inside a running container (Docker's exec), as the Docker API front door takes
//! it. Field names are Docker's, since the body is relayed to the engine after the check.

use serde::{Deserialize, Serialize};

use super::{InvalidInput, MAX_ITEM, MAX_LIST};

/// Docker's exec create body, the fields clementine relays (others are refused by the front
/// door before this is built).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach_stdin: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach_stdout: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach_stderr: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Admin-only, as for runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detach_keys: Option<String>,
}

impl ExecConfig {
    /// Shape and size: a command is required; every text bounded and without NUL.
    pub fn check(&self) -> Result<(), InvalidInput> {
        let cmd = self.cmd.as_deref().unwrap_or_default();
        if cmd.is_empty() {
            return Err(InvalidInput::new("Cmd", "a command is required"));
        }
        for (field, list) in [
            ("Cmd", cmd),
            ("Env", self.env.as_deref().unwrap_or_default()),
        ] {
            if list.len() > MAX_LIST {
                return Err(InvalidInput::new(
                    field,
                    format!("at most {MAX_LIST} items"),
                ));
            }
            if list.iter().any(|a| a.len() > MAX_ITEM || a.contains('\0')) {
                let why = format!("items must be at most {MAX_ITEM} bytes without NUL");
                return Err(InvalidInput::new(field, why));
            }
        }
        let texts = [
            ("WorkingDir", &self.working_dir),
            ("User", &self.user),
            ("DetachKeys", &self.detach_keys),
        ];
        for (field, text) in texts {
            if let Some(t) = text
                && (t.len() > 256 || t.contains('\0'))
            {
                return Err(InvalidInput::new(
                    field,
                    "must be at most 256 bytes without NUL",
                ));
            }
        }
        Ok(())
    }
}
