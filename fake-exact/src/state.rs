//! The fake's memory: registered apps, switches, outstanding grants and recorded requests.
//!
//! Grant rules live here, apart from HTTP, so the token endpoint only maps outcomes to the
//! answers Exact gives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;

use super::{
    Consent, FakeApp, FakeUser, MeMode, RecordedAuthorizeRequest, RecordedMeRequest,
    RecordedTokenRequest, TokenMode,
};

/// Shared between the handle and every worker.
pub(super) type Shared = Arc<Mutex<State>>;

/// Exact's authorization codes live about three minutes.
pub(super) const CODE_TTL: Duration = Duration::from_secs(180);
/// Exact's access tokens live ten minutes; `expires_in` says so as a string.
pub(super) const ACCESS_TTL: Duration = Duration::from_secs(600);

pub(super) struct State {
    apps: HashMap<String, FakeApp>,
    pub user: FakeUser,
    pub consent: Consent,
    pub token_mode: TokenMode,
    pub me_mode: MeMode,
    pub(super) codes: HashMap<String, CodeGrant>,
    pub(super) access_tokens: HashMap<String, AccessGrant>,
    refresh_tokens: HashMap<String, RefreshGrant>,
    pub token_requests: Vec<RecordedTokenRequest>,
    pub me_requests: Vec<RecordedMeRequest>,
    pub authorize_requests: Vec<RecordedAuthorizeRequest>,
}

pub(super) struct CodeGrant {
    client_id: String,
    redirect_uri: String,
    user: FakeUser,
    pub(super) issued: Instant,
    used: bool,
}

pub(super) struct AccessGrant {
    pub user: FakeUser,
    pub(super) expires: Instant,
}

struct RefreshGrant {
    client_id: String,
    user: FakeUser,
    /// When it was exchanged; rotation makes it invalid from then on.
    used_at: Option<DateTime<Utc>>,
}

/// A freshly issued access/refresh token pair.
pub(super) struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
}

/// Why a code exchange failed; Exact answers these differently.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum CodeError {
    /// Never issued, or issued to another client.
    Unknown,
    Reused,
    Expired,
    RedirectMismatch,
}

/// Why a refresh failed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum RefreshError {
    /// Never issued, or issued to another client.
    Unknown,
    /// Already rotated away at this moment.
    Used(DateTime<Utc>),
}

impl State {
    pub fn new(app: FakeApp, consent: Consent) -> Self {
        let mut state = State {
            apps: HashMap::new(),
            user: FakeUser::jan(),
            consent,
            token_mode: TokenMode::Ok,
            me_mode: MeMode::Ok,
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            token_requests: Vec::new(),
            me_requests: Vec::new(),
            authorize_requests: Vec::new(),
        };
        state.add_app(app);
        state
    }

    pub fn add_app(&mut self, app: FakeApp) {
        self.apps.insert(app.client_id.clone(), app);
    }

    pub fn app(&self, client_id: &str) -> Option<&FakeApp> {
        self.apps.get(client_id)
    }

    /// Issues a single-use code bound to the client and callback, for `user` (the browser's own
    /// session) or else for the current user.
    pub fn issue_code(
        &mut self,
        client_id: &str,
        redirect_uri: &str,
        user: Option<FakeUser>,
    ) -> String {
        let code = awkward("stampNL!");
        self.codes.insert(
            code.clone(),
            CodeGrant {
                client_id: client_id.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                user: user.unwrap_or_else(|| self.user.clone()),
                issued: Instant::now(),
                used: false,
            },
        );
        code
    }

    pub fn redeem_code(
        &mut self,
        client_id: &str,
        code: &str,
        redirect_uri: &str,
    ) -> Result<TokenPair, CodeError> {
        let grant = match self.codes.get_mut(code) {
            Some(grant) if grant.client_id == client_id => grant,
            _ => return Err(CodeError::Unknown),
        };
        if grant.used {
            return Err(CodeError::Reused);
        }
        if grant.issued.elapsed() > CODE_TTL {
            return Err(CodeError::Expired);
        }
        if grant.redirect_uri != redirect_uri {
            return Err(CodeError::RedirectMismatch);
        }
        grant.used = true;
        let user = grant.user.clone();
        Ok(self.issue_tokens(client_id, user))
    }

    /// Rotates a refresh token: the presented one stops working, a new pair is issued.
    pub fn refresh(
        &mut self,
        client_id: &str,
        refresh_token: &str,
    ) -> Result<TokenPair, RefreshError> {
        let grant = match self.refresh_tokens.get_mut(refresh_token) {
            Some(grant) if grant.client_id == client_id => grant,
            _ => return Err(RefreshError::Unknown),
        };
        if let Some(at) = grant.used_at {
            return Err(RefreshError::Used(at));
        }
        grant.used_at = Some(Utc::now());
        let user = grant.user.clone();
        Ok(self.issue_tokens(client_id, user))
    }

    /// The user an access token was issued for, if it is known and not expired.
    pub fn bearer_user(&self, access_token: &str) -> Option<FakeUser> {
        self.access_tokens
            .get(access_token)
            .filter(|grant| Instant::now() < grant.expires)
            .map(|grant| grant.user.clone())
    }

    fn issue_tokens(&mut self, client_id: &str, user: FakeUser) -> TokenPair {
        let access_token = awkward("AAEAA");
        let refresh_token = awkward("__1P!I");
        self.access_tokens.insert(
            access_token.clone(),
            AccessGrant {
                user: user.clone(),
                expires: Instant::now() + ACCESS_TTL,
            },
        );
        self.refresh_tokens.insert(
            refresh_token.clone(),
            RefreshGrant {
                client_id: client_id.to_owned(),
                user,
                used_at: None,
            },
        );
        TokenPair {
            access_token,
            refresh_token,
        }
    }
}

/// A random secret that carries every character Exact's codes and tokens are known to carry
/// (`!`, `*`, `+`, `/`, `=`), so a client that forgets to encode one breaks in tests.
pub(super) fn awkward(prefix: &str) -> String {
    format!(
        "{prefix}{}!{}*{}+/{}==",
        alphanumeric(12),
        alphanumeric(16),
        alphanumeric(16),
        alphanumeric(8)
    )
}

fn alphanumeric(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
