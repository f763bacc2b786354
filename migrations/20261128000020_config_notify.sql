-- Every change to configuration that nodes cache is announced on the `gatehouse_config`
-- channel when its transaction commits, whoever made it (API, dashboard, CLI or plain SQL).
-- The payload is the tenant id, or '*' when host routing may have changed.

CREATE FUNCTION gatehouse_notify_config() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed record;
BEGIN
    IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
    IF TG_TABLE_NAME IN ('tenants', 'tenant_domains') THEN
        PERFORM pg_notify('gatehouse_config', '*');
    ELSE
        PERFORM pg_notify('gatehouse_config', changed.tenant_id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenants_notify AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION gatehouse_notify_config();
CREATE TRIGGER tenant_domains_notify AFTER INSERT OR UPDATE OR DELETE ON tenant_domains
    FOR EACH ROW EXECUTE FUNCTION gatehouse_notify_config();
CREATE TRIGGER clients_notify AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION gatehouse_notify_config();
CREATE TRIGGER client_grants_notify AFTER INSERT OR UPDATE OR DELETE ON client_grants
    FOR EACH ROW EXECUTE FUNCTION gatehouse_notify_config();
CREATE TRIGGER connections_notify AFTER INSERT OR UPDATE OR DELETE ON connections
    FOR EACH ROW EXECUTE FUNCTION gatehouse_notify_config();
CREATE TRIGGER connection_clients_notify AFTER INSERT OR UPDATE OR DELETE ON connection_clients
    FOR EACH ROW EXECUTE FUNCTION gatehouse_notify_config();
CREATE TRIGGER signing_keys_notify AFTER INSERT OR UPDATE OR DELETE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION gatehouse_notify_config();
