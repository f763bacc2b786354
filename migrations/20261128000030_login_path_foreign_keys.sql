-- The tables every login writes to (transactions, codes, refresh tokens, events) no longer
-- check a foreign key to `tenants` on each insert. That check is a locking lookup of the
-- tenant's row, and all logins of a tenant lock the same row (turning its lock into a
-- MultiXact): measured, it was about a fifth of PostgreSQL's CPU per login. Rows of these
-- tables are only ever written for the tenant the request was routed to, and are short-lived
-- or append-only; deleting a tenant still removes them, through the trigger below, as the
-- cascade did.

ALTER TABLE login_transactions DROP CONSTRAINT login_transactions_tenant_id_fkey;
ALTER TABLE authorization_codes DROP CONSTRAINT authorization_codes_tenant_id_fkey;
ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_tenant_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_tenant_id_fkey;

CREATE FUNCTION gatehouse_delete_tenant_login_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM login_transactions WHERE tenant_id = OLD.tenant_id;
    DELETE FROM authorization_codes WHERE tenant_id = OLD.tenant_id;
    DELETE FROM refresh_tokens WHERE tenant_id = OLD.tenant_id;
    DELETE FROM events WHERE tenant_id = OLD.tenant_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_delete_login_rows AFTER DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION gatehouse_delete_tenant_login_rows();
