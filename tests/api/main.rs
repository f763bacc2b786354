//! Integration tests over real HTTP against a real PostgreSQL, in one binary.

mod foundation;
mod helpers;
mod login;
mod login_authorize;
mod login_callback;
mod login_token;
