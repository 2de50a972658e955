//! Calls relayed byte for byte: the Docker API front door streams some answers (logs, waits,
//! events) and hijacks some connections (attach, exec) exactly as the engine sends them, so
//! that Docker's own framing (the 8-byte stdout/stderr headers, or a raw TTY) reaches the client
//! untouched. The caller builds the path from checked parts; nothing a client sends is passed
//! through as a path.

use bytes::Bytes;
use http::{Method, Request, Response, header};
use hyper::body::Incoming;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;

use super::{EngineClient, EngineError};

/// The API version relayed calls are made in (dockerd 20.10's, as bollard's calls).
const RELAY_VERSION: &str = "v1.41";

impl EngineClient {
    /// Sends `method path` (path and query, from `/`) with a JSON `body`, and answers the
    /// engine's response head and streaming body. Errors are Docker's own answers as
    /// [`EngineError`]s; a 2xx answer is handed back as it is.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Response<Incoming>, EngineError> {
        let response = self.send(method, path, body, false).await?;
        check(response).await
    }

    /// Like [`raw`](Self::raw), asking the engine to hijack the connection (`Upgrade: tcp`):
    /// answers the engine's content type and the raw stream.
    pub async fn upgrade(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<(Option<String>, TokioIo<Upgraded>), EngineError> {
        let response = check(self.send(method, path, body, true).await?).await?;
        let content_type = (response.headers().get(header::CONTENT_TYPE))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let upgraded = hyper::upgrade::on(response)
            .await
            .map_err(|e| EngineError::Other(format!("the engine did not hijack: {e}")))?;
        Ok((content_type, TokioIo::new(upgraded)))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
        upgrade: bool,
    ) -> Result<Response<Incoming>, EngineError> {
        let mut request = Request::builder().method(method).uri(format!(
            "{}/{RELAY_VERSION}{path}",
            self.addr.trim_end_matches('/')
        ));
        if body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        if upgrade {
            request =
                (request.header(header::CONNECTION, "Upgrade")).header(header::UPGRADE, "tcp");
        }
        let request = request
            .body(bollard::body_full(body.unwrap_or_default()))
            .map_err(|e| EngineError::Other(e.to_string()))?;
        let sent = tokio::time::timeout(self.timeout(), self.http.request(request)).await;
        match sent {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(EngineError::from_transport(&e)),
            Err(_) => Err(EngineError::Timeout(self.timeout().as_millis())),
        }
    }
}

/// A 2xx (or 101) answer as it is; anything else read into Docker's error.
async fn check(response: Response<Incoming>) -> Result<Response<Incoming>, EngineError> {
    let status = response.status().as_u16();
    if status < 300 {
        return Ok(response);
    }
    use http_body_util::BodyExt;
    let body = (response.into_body().collect().await)
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let message = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
    Err(EngineError::from_status(status, message))
}
