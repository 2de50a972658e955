//! Logging in, checking tokens, and the caller's own account.

use std::time::Duration;

use super::audited::plain;
use super::{Cluster, ClusterError, ClusterResult};
use crate::auth::{AuthError, IssuedToken, LoginSession, Principal, acting_role};
use crate::domain::names::{MAX_NAME_LEN, MAX_PASSWORD_LEN};
use crate::domain::{InvalidInput, User, check_password};
use crate::events::{Draft, actions};
use crate::store::UserRecord;
use crate::time::{now_ms, now_secs, rfc3339_ms};

/// Failed logins of one username from one client allowed per window; beyond them that client's
/// logins of that username answer 429 until the window ends (whatever the password), so a
/// password cannot be guessed at speed. Other clients are not locked out by it.
pub const MAX_LOGIN_FAILURES: u64 = 10;
/// The window failed logins are counted in, from the first failure.
pub const LOGIN_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed logins of one username from anywhere after which each login of it is slowed (never
/// refused): by [`SLOW_STEP`] per failure past this, at most [`SLOW_MAX`]. Guessing from many
/// addresses gets slow; the owner still logs in.
pub const SLOW_AFTER: u64 = 10;
const SLOW_STEP: Duration = Duration::from_millis(100);
const SLOW_MAX: Duration = Duration::from_secs(2);

impl Cluster {
    /// Checks a username and password and issues a token. Wrong name and wrong password answer
    /// the same, in the same time. `client` is the address failures are counted by.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: &str,
        request_id: Option<String>,
    ) -> ClusterResult<(IssuedToken, User)> {
        if username.len() > MAX_NAME_LEN {
            return Err(InvalidInput::new(
                "username",
                format!("must be at most {MAX_NAME_LEN} characters"),
            )
            .into());
        }
        if password.len() > MAX_PASSWORD_LEN {
            return Err(InvalidInput::new(
                "password",
                format!("must be at most {MAX_PASSWORD_LEN} bytes"),
            )
            .into());
        }
        let [(failures, window_left_ms), (everywhere, _)] =
            self.store.login_failures(username, client).await?;
        if failures >= MAX_LOGIN_FAILURES {
            return Err(ClusterError::Throttled {
                retry_after_secs: window_left_ms.div_ceil(1000),
            });
        }
        if everywhere > SLOW_AFTER {
            let slower = SLOW_STEP * (everywhere - SLOW_AFTER).min(1000) as u32;
            tokio::time::sleep(slower.min(SLOW_MAX)).await;
        }
        let record = self.store.get_user(username).await?;
        let ok = self
            .passwords
            .verify(password, record.as_ref().map(|r| r.password_hash.as_str()))
            .await?;
        let Some(record) = record.filter(|_| ok) else {
            return Err(self.login_failed(username, client, request_id).await);
        };
        if failures > 0 {
            self.store.clear_login_failures(username, client).await?;
        }
        let account = (record.username.as_str(), record.id.as_str());
        let token = self
            .tokens()
            .issue(account, record.role, record.token_version)?;
        let user = self.user_view(record).await?;
        Ok((token, user))
    }

    /// Audits (through the flood gate) and counts a failed login; answers the error to give.
    async fn login_failed(
        &self,
        username: &str,
        client: &str,
        request_id: Option<String>,
    ) -> ClusterError {
        // Recorded for auditors; an audit outage must not turn a wrong password into a 503.
        let draft = Draft {
            action: actions::LOGIN_FAILED,
            actor: username.to_string(),
            request_id,
            op: uuid::Uuid::now_v7().to_string(),
            detail: Some(serde_json::json!({ "client": client }).to_string()),
            ..Default::default()
        };
        let why = Some("invalid username or password".into());
        if self
            .audit
            .admit_refusal(actions::LOGIN_FAILED, client)
            .await
            && let Err(e) = self.audit.record(draft, why).await
        {
            tracing::warn!(error = %e, "failed login not audited");
        }
        match (self.store)
            .count_login_failure(username, client, LOGIN_FAILURE_WINDOW)
            .await
        {
            Ok(()) => AuthError::InvalidCredentials.into(),
            Err(e) => e.into(),
        }
    }

    /// Turns a bearer token into the caller: the signature, expiry, issuer and audience must
    /// hold, the account it names (name and id) must still exist and the token's version must
    /// be the current one. The role comes from Redis, so a changed role takes effect at once.
    pub async fn authenticate(
        &self,
        token: &str,
        request_id: Option<String>,
    ) -> ClusterResult<Principal> {
        if super::tokens::is_api_token(token) {
            return self.authenticate_api_token(token, request_id).await;
        }
        let claims = self.tokens().verify(token)?;
        match self.store.account_state(&claims.sub).await? {
            Some(a) if a.id != claims.uid => Err(AuthError::InvalidToken("unknown user").into()),
            Some(a) if a.token_version == claims.ver => Ok(Principal {
                username: claims.sub,
                account: a.id,
                role: a.role,
                request_id,
                token: None,
                session: Some(LoginSession {
                    version: claims.ver,
                    expires_secs: claims.exp,
                }),
                teams: a.teams,
                via: Default::default(),
            }),
            Some(_) => Err(AuthError::InvalidToken("token revoked").into()),
            None => Err(AuthError::InvalidToken("unknown user").into()),
        }
    }

    /// Whether a long-lived request (a live stream) may go on serving its caller as they were
    /// when it began: the same account with the same role, and a credential still valid (not
    /// revoked, deleted or expired). Fails closed: when Redis cannot say, the answer is no.
    pub async fn still_allowed(&self, p: &Principal) -> bool {
        match self.recheck(p).await {
            Ok(allowed) => allowed,
            Err(e) => {
                tracing::warn!(error = %e, user = %p.username, "cannot check a live caller again");
                false
            }
        }
    }

    async fn recheck(&self, p: &Principal) -> ClusterResult<bool> {
        let Some(account) = self.store.account_state(&p.username).await? else {
            return Ok(false);
        };
        if account.id != p.account {
            return Ok(false);
        }
        if let Some(s) = &p.session {
            return Ok(account.token_version == s.version
                && s.expires_secs > now_secs()
                && account.role == p.role
                && account.teams == p.teams);
        }
        if let Some(grant) = &p.token {
            let now = now_ms();
            let alive = (self.store.get_token(&grant.id).await?)
                .is_some_and(|t| t.owner_id == account.id && t.expires_ms.is_none_or(|e| e > now));
            return Ok(alive
                && grant.expires_ms.is_none_or(|e| e > now)
                && acting_role(account.role, Some(&grant.scopes)) == p.role
                && account.teams == p.teams);
        }
        Ok(account.role == p.role)
    }

    /// The caller's own account.
    pub async fn me(&self, principal: &Principal) -> ClusterResult<User> {
        let record = self
            .store
            .get_user(&principal.username)
            .await?
            .ok_or_else(|| ClusterError::not_found("user", &principal.username))?;
        self.user_view(record).await
    }

    /// Changes the caller's password after checking the current one. Every older token of the
    /// caller stops working; the answer carries a fresh one.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &str,
        new: &str,
    ) -> ClusterResult<IssuedToken> {
        let record = self
            .store
            .get_user(&principal.username)
            .await?
            .ok_or_else(|| ClusterError::not_found("user", &principal.username))?;
        if !self
            .passwords
            .verify(current, Some(&record.password_hash))
            .await?
        {
            return Err(AuthError::Forbidden("current_password is wrong".into()).into());
        }
        check_password("new_password", new)?;
        let draft = Draft::by(principal, actions::USER_PASSWORD).target(&principal.username);
        let work = async {
            let hash = self.passwords.hash(new).await?;
            let version = self
                .store
                .set_password(&principal.username, &hash)
                .await?
                .ok_or_else(|| ClusterError::not_found("user", &principal.username))?;
            let account = (principal.username.as_str(), record.id.as_str());
            Ok(self.tokens().issue(account, record.role, version)?)
        };
        self.audited(draft, work, plain).await
    }

    /// The API view of a stored user: grants included, hash left out.
    pub(in crate::cluster) async fn user_view(&self, record: UserRecord) -> ClusterResult<User> {
        let engines = self.store.grants(&record.username).await?;
        Ok(User {
            username: record.username,
            role: record.role,
            engines,
            created: rfc3339_ms(record.created_ms),
        })
    }

    /// Creates the first admin from the settings when the database has no user yet.
    pub async fn bootstrap_admin(&self, username: &str, password: &str) -> ClusterResult<bool> {
        if self.store.count_users().await? > 0 {
            return Ok(false);
        }
        crate::domain::check_username("CLEMENTINE_ADMIN_USER", username)?;
        check_password("CLEMENTINE_ADMIN_PASSWORD", password)?;
        let draft = Draft {
            action: actions::USER_CREATE,
            actor: "clementine".into(),
            target: Some(username.to_string()),
            op: uuid::Uuid::now_v7().to_string(),
            detail: Some(
                serde_json::json!({"role": "admin", "from": "CLEMENTINE_ADMIN_USER"}).to_string(),
            ),
            ..Default::default()
        };
        let work = async {
            let hash = self.passwords.hash(password).await?;
            Ok(self
                .store
                .create_user(username, crate::domain::Role::Admin, &hash, now_ms())
                .await?)
        };
        self.audited(draft, work, plain).await
    }
}
