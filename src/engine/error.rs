//! Engine failures, classified so the API can say what went wrong.

/// What went wrong talking to an engine.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// No TCP connection (refused, no route, DNS).
    #[error("engine unreachable: {0}")]
    Unreachable(String),
    /// The TLS handshake failed: wrong CA, bad certificate, or the engine is not speaking TLS.
    #[error("TLS handshake with engine failed: {0}")]
    Tls(String),
    /// The engine did not answer in time.
    #[error("engine did not answer within {0} ms")]
    Timeout(u128),
    /// Docker answered 404.
    #[error("not found on engine: {0}")]
    NotFound(String),
    /// Docker answered 409 (name in use, container not running ...).
    #[error("engine refused: {0}")]
    Conflict(String),
    /// Any other answer from Docker.
    #[error("engine error {status}: {message}")]
    Docker { status: u16, message: String },
    /// Anything else (bad response body ...).
    #[error("engine error: {0}")]
    Other(String),
}

impl EngineError {
    /// Classifies a bollard error by walking its source chain.
    pub fn from_bollard(e: bollard::errors::Error) -> Self {
        use bollard::errors::Error as B;
        match e {
            B::DockerResponseServerError {
                status_code,
                message,
            } => Self::from_status(status_code, message),
            // bollard's own limit: the transport timeout every request carries.
            B::RequestTimeoutError => {
                EngineError::Timeout(super::client::TRANSPORT_TIMEOUT.as_millis())
            }
            other => Self::from_transport(&other),
        }
    }

    /// Docker's answer with a status that is not a success.
    pub fn from_status(status: u16, message: String) -> Self {
        match status {
            404 => EngineError::NotFound(message),
            409 => EngineError::Conflict(message),
            _ => EngineError::Docker { status, message },
        }
    }

    /// A failure below HTTP, classified by the words of its source chain.
    pub fn from_transport(e: &dyn std::error::Error) -> Self {
        let chain = error_chain(e);
        let lower = chain.to_lowercase();
        if lower.contains("certificate")
            || lower.contains("tls")
            || lower.contains("handshake")
            || lower.contains("alert")
            || lower.contains("corrupt message")
        {
            EngineError::Tls(chain)
        } else if lower.contains("connect")
            || lower.contains("refused")
            || lower.contains("unreachable")
            || lower.contains("reset")
            || lower.contains("broken pipe")
            || lower.contains("closed")
        {
            EngineError::Unreachable(chain)
        } else {
            EngineError::Other(chain)
        }
    }
}

impl EngineError {
    /// Docker's answer when the image is not on the engine.
    pub fn is_missing_image(&self) -> bool {
        matches!(self, EngineError::NotFound(m) if m.to_lowercase().contains("no such image"))
    }

    /// The container's network does not exist (Docker says so when starting it).
    pub fn is_missing_network(&self) -> bool {
        matches!(self, EngineError::NotFound(m)
            if m.starts_with("network ") && m.ends_with(" not found"))
    }

    /// Docker could not publish a host port: something outside clementine holds it.
    pub fn is_port_in_use(&self) -> bool {
        matches!(self, EngineError::Docker { message, .. }
            if message.contains("port is already allocated")
                || message.contains("address already in use"))
    }

    /// The engine refused the request itself (a 4xx other than a name clash).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            EngineError::NotFound(_)
                | EngineError::Docker {
                    status: 400..=499,
                    ..
                }
        )
    }
}

/// `a: b: c` from an error and its sources, skipping repeats.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}
