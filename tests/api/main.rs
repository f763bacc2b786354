//! Integration tests over real HTTP against a real PostgreSQL, in one binary.

mod foundation;
mod helpers;
mod login;
