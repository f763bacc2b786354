-- Signing algorithms per tenant and per application (issue #22): RS256 (the default), PS256
-- and ES256. Each key is made for one algorithm, and a tenant keeps one current key per
-- algorithm in use (the `alg` column was there from the start, always RS256).
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_alg_check
    CHECK (alg IN ('RS256', 'PS256', 'ES256'));
DROP INDEX signing_keys_one_current;
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (tenant_id, alg) WHERE state = 'current';
-- The tenant's default, for applications that name none.
ALTER TABLE tenants ADD COLUMN signing_alg text NOT NULL DEFAULT 'RS256'
    CHECK (signing_alg IN ('RS256', 'PS256', 'ES256'));
-- An application's own choice (Auth0's `jwt_configuration.alg`); NULL: the tenant's default.
ALTER TABLE clients ADD COLUMN signing_alg text
    CHECK (signing_alg IN ('RS256', 'PS256', 'ES256'));
