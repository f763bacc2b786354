//! Who may call the management API: tokens of the tenant's own client credentials grant only
//! (every forged or misused token is a 401, never a 500), and scopes per endpoint (403).
//!
//! One module per part of the rule.

mod scopes;
mod token_reuse;
mod tokens;
