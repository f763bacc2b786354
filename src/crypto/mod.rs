//! Cryptography Gatehouse relies on: sealing secrets at rest, password hashing, random tokens
//! and the RS256 signing keys of each tenant.

pub mod claims;
pub mod password;
pub mod random;
pub mod seal;
pub mod signing;
