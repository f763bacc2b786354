-- What a login's strategy must remember between /authorize and /login/callback (an OpenID
-- Connect nonce, a PKCE verifier, the issuer it was sent to), sealed: it is a secret of the
-- login, and NULL for strategies that remember nothing.
ALTER TABLE login_transactions ADD COLUMN upstream_sealed text;
