//! Who sent a request, as the tenant's log records it (Auth0's `ip` and `user_agent`); read
//! from the request by `client_addr`.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requester {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}
