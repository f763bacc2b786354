-- A revoked key is no longer published, so nothing it signed verifies any more: a previous key
-- that leaked is cut off at once instead of at the end of its retention. Only a key that no
-- longer signs (previous) can be revoked; the row stays, for the record.
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_state_check;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_state_check
    CHECK (state IN ('current', 'previous', 'revoked'));
ALTER TABLE signing_keys ADD COLUMN revoked_at timestamptz;
