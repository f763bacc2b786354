//! The kinds of event in a tenant's log: Gatehouse's name for each (what the database and the
//! dashboard use) and the Auth0 log event type code `/api/v2/logs` answers with, so log
//! exporters, SIEM rules and alerts written for Auth0 (`type:f`, `type:seacft`) work unchanged.

/// One kind of event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventKind {
    /// Gatehouse's name, stored in `events.type`.
    pub name: &'static str,
    /// Auth0's log event type code.
    pub auth0_code: &'static str,
    /// What happened, in words, with `{}` for what it happened to ("Connection {} created").
    pub sentence: &'static str,
}

const fn kind(name: &'static str, auth0_code: &'static str, sentence: &'static str) -> EventKind {
    EventKind {
        name,
        auth0_code,
        sentence,
    }
}

/// Auth0's code for a change made through the management API or the dashboard ("Success API
/// Operation"): every configuration change is one.
pub const MANAGEMENT_OPERATION: &str = "sapi";

/// The login path's kinds, by name (what the code that writes or reads them refers to).
pub const LOGIN_SUCCESS: &str = "login_success";
pub const LOGIN_FAILURE: &str = "login_failure";
pub const CODE_REDEEMED: &str = "code_redeemed";
pub const CODE_REDEMPTION_FAILED: &str = "code_redemption_failed";
pub const REFRESH_TOKEN_EXCHANGED: &str = "refresh_token_exchanged";
pub const REFRESH_TOKEN_REFUSED: &str = "refresh_token_refused";
pub const REFRESH_TOKEN_REVOKED: &str = "refresh_token_revoked";
pub const CLIENT_CREDENTIALS_EXCHANGED: &str = "client_credentials_exchanged";
pub const CLIENT_CREDENTIALS_REFUSED: &str = "client_credentials_refused";

/// Every kind of event Gatehouse writes, in the order the dashboard's filter lists them.
pub const EVENT_KINDS: &[EventKind] = &[
    kind(LOGIN_SUCCESS, "s", "Login succeeded"),
    kind(LOGIN_FAILURE, "f", "Login failed"),
    kind(CODE_REDEEMED, "seacft", "Code exchanged for tokens"),
    kind(CODE_REDEMPTION_FAILED, "feacft", "Code exchange refused"),
    kind(REFRESH_TOKEN_EXCHANGED, "sertft", "Refresh token exchanged"),
    kind(REFRESH_TOKEN_REFUSED, "fertft", "Refresh token refused"),
    kind(REFRESH_TOKEN_REVOKED, "srrt", "Refresh token revoked"),
    kind(
        CLIENT_CREDENTIALS_EXCHANGED,
        "seccft",
        "Machine token issued",
    ),
    kind(
        CLIENT_CREDENTIALS_REFUSED,
        "feccft",
        "Machine token refused",
    ),
    kind(
        "connection_created",
        MANAGEMENT_OPERATION,
        "Connection {} created",
    ),
    kind(
        "connection_updated",
        MANAGEMENT_OPERATION,
        "Connection {} changed",
    ),
    kind(
        "connection_clients_updated",
        MANAGEMENT_OPERATION,
        "Applications of connection {} changed",
    ),
    kind(
        "connection_deleted",
        MANAGEMENT_OPERATION,
        "Connection {} deleted",
    ),
    kind(
        "client_created",
        MANAGEMENT_OPERATION,
        "Application {} created",
    ),
    kind(
        "client_updated",
        MANAGEMENT_OPERATION,
        "Application {} changed",
    ),
    kind(
        "client_secret_rotated",
        MANAGEMENT_OPERATION,
        "Secret of application {} rotated",
    ),
    kind(
        "client_deleted",
        MANAGEMENT_OPERATION,
        "Application {} deleted",
    ),
    kind(
        "client_grant_created",
        MANAGEMENT_OPERATION,
        "API access {} granted",
    ),
    kind(
        "client_grant_updated",
        MANAGEMENT_OPERATION,
        "API access {} changed",
    ),
    kind(
        "client_grant_deleted",
        MANAGEMENT_OPERATION,
        "API access {} withdrawn",
    ),
    kind("user_blocked", MANAGEMENT_OPERATION, "User {} blocked"),
    kind("user_unblocked", MANAGEMENT_OPERATION, "User {} unblocked"),
    kind("user_deleted", "sdu", "User {} deleted"),
    kind(
        "signing_key_rotated",
        MANAGEMENT_OPERATION,
        "Signing key {} rotated in",
    ),
    kind(
        "signing_key_revoked",
        MANAGEMENT_OPERATION,
        "Signing key {} revoked",
    ),
    kind(
        "admin_invited",
        MANAGEMENT_OPERATION,
        "Administrator {} invited",
    ),
    kind(
        "admin_removed",
        MANAGEMENT_OPERATION,
        "Administrator {} removed",
    ),
    kind("tenant_created", MANAGEMENT_OPERATION, "Tenant {} created"),
    kind("tenant_updated", MANAGEMENT_OPERATION, "Tenant {} changed"),
    kind(
        "tenant_domain_added",
        MANAGEMENT_OPERATION,
        "Domain {} added",
    ),
    kind(
        "tenant_domain_removed",
        MANAGEMENT_OPERATION,
        "Domain {} removed",
    ),
];

/// The kind named `name`, if Gatehouse writes it.
pub fn of(name: &str) -> Option<&'static EventKind> {
    EVENT_KINDS.iter().find(|k| k.name == name)
}

/// What happened, in words, without a subject: "Connection created", "Login failed"; a name
/// not in the catalogue as it is.
pub fn label(name: &str) -> String {
    match of(name) {
        Some(k) => k.sentence.replace(" {}", "").replace("{} ", ""),
        None => name.replace('_', " "),
    }
}

/// The sentence of a change to `subject`: "Connection “exact” created".
pub fn sentence(name: &str, subject: &str) -> String {
    match of(name) {
        Some(k) => k.sentence.replace("{}", &format!("“{subject}”")),
        None => format!("{} {subject}", name.replace('_', " ")),
    }
}

/// Whether Gatehouse writes events of this name.
pub fn is_known(name: &str) -> bool {
    EVENT_KINDS.iter().any(|k| k.name == name)
}

/// The Auth0 code of an event; a name not (or no longer) in the catalogue was a change.
pub fn auth0_code(name: &str) -> &'static str {
    EVENT_KINDS
        .iter()
        .find(|k| k.name == name)
        .map_or(MANAGEMENT_OPERATION, |k| k.auth0_code)
}

/// The event names a `type` filter selects: an Auth0 code selects every kind with that code, a
/// Gatehouse name itself. Anything else selects nothing (as an unknown code does at Auth0).
pub fn names_selected_by(filter: &str) -> Vec<String> {
    let by_code: Vec<String> = EVENT_KINDS
        .iter()
        .filter(|k| k.auth0_code == filter)
        .map(|k| k.name.to_owned())
        .collect();
    if by_code.is_empty() {
        vec![filter.to_owned()]
    } else {
        by_code
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_codes_are_auth0_shaped() {
        for (i, k) in EVENT_KINDS.iter().enumerate() {
            assert!(
                !EVENT_KINDS[..i].iter().any(|o| o.name == k.name),
                "{}",
                k.name
            );
            // Auth0's codes are short lower-case words without underscores here; no name is
            // also a code, so a filter value means one thing.
            assert!(k.auth0_code.chars().all(|c| c.is_ascii_lowercase()));
            assert!(k.name.contains('_') && !EVENT_KINDS.iter().any(|o| o.auth0_code == k.name));
        }
    }

    #[test]
    fn every_kind_reads_as_words() {
        assert_eq!(
            sentence("connection_created", "exact"),
            "Connection “exact” created"
        );
        assert_eq!(
            label("connection_clients_updated"),
            "Applications of connection changed"
        );
        assert_eq!(label(LOGIN_FAILURE), "Login failed");
        for k in EVENT_KINDS {
            assert!(
                !label(k.name).contains('_') && !label(k.name).contains("{}"),
                "{}",
                k.name
            );
        }
    }

    #[test]
    fn filters_select_by_code_or_by_name() {
        assert_eq!(names_selected_by("s"), ["login_success"]);
        assert_eq!(names_selected_by("login_failure"), ["login_failure"]);
        let changes = names_selected_by("sapi");
        assert!(changes.contains(&"connection_updated".to_owned()));
        assert!(!changes.contains(&"login_success".to_owned()));
        assert_eq!(names_selected_by("nonsense"), ["nonsense"]);
    }

    #[test]
    fn every_kind_has_its_code() {
        assert_eq!(auth0_code("login_success"), "s");
        assert_eq!(auth0_code("code_redemption_failed"), "feacft");
        assert_eq!(auth0_code("user_deleted"), "sdu");
        assert_eq!(auth0_code("tenant_updated"), "sapi");
    }
}
