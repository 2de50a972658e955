//! Login and the caller's own account.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::{Object, OpenApi, Tags};

use super::body::JsonBody;
use super::response::ok;
use super::security::Auth;
use super::{ApiResult, ClientAddr, RequestId};
use crate::auth::IssuedToken;
use crate::cluster::Cluster;
use crate::domain::{Credentials, PasswordChange, User};
use crate::time::rfc3339_secs;

#[derive(Tags)]
enum Tag {
    /// Logging in and the caller's own account.
    Session,
}

/// A bearer token.
#[derive(Debug, Object)]
pub struct TokenData {
    /// The JWT; send it as `Authorization: Bearer <token>`.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Expiry as unix seconds.
    pub expires_at: u64,
    /// Expiry as RFC 3339.
    pub expires: String,
}

impl From<IssuedToken> for TokenData {
    fn from(t: IssuedToken) -> Self {
        Self {
            token: t.token,
            token_type: "Bearer".into(),
            expires_at: t.expires_at,
            expires: rfc3339_secs(t.expires_at as i64),
        }
    }
}

/// The answer to a login.
#[derive(Debug, Object)]
pub struct LoginData {
    #[oai(flatten)]
    pub token: TokenData,
    /// The account logged in to.
    pub user: User,
}

pub struct SessionApi;

#[OpenApi(tag = "Tag::Session")]
impl SessionApi {
    /// Log in with a username and password; answers a bearer token.
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        cluster: Data<&Arc<Cluster>>,
        request_id: Data<&RequestId>,
        client: Data<&ClientAddr>,
        body: JsonBody<Credentials>,
    ) -> ApiResult<LoginData> {
        let (username, password) = (&body.username, &body.password);
        let request_id = Some(request_id.0.0.clone());
        let (token, user) = (cluster.login(username, password, &client.0.0, request_id)).await?;
        ok(LoginData {
            token: token.into(),
            user,
        })
    }

    /// The caller's account.
    #[oai(path = "/me", method = "get", operation_id = "getMe")]
    async fn me(&self, cluster: Data<&Arc<Cluster>>, auth: Auth) -> ApiResult<User> {
        ok(cluster.me(&auth.0).await?)
    }

    /// Change the caller's password. All older tokens of the caller stop working; the answer
    /// carries a new one.
    #[oai(
        path = "/me/password",
        method = "post",
        operation_id = "changePassword"
    )]
    async fn change_password(
        &self,
        cluster: Data<&Arc<Cluster>>,
        auth: Auth,
        body: JsonBody<PasswordChange>,
    ) -> ApiResult<TokenData> {
        let token = cluster
            .change_password(&auth.0, &body.current_password, &body.new_password)
            .await?;
        ok(token.into())
    }
}
