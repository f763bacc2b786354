-- A blocked user cannot log in (the callback refuses to store the login), redeem a code issued
-- before the block, use a refresh token or call /userinfo, until unblocked. Deleting a user is
-- no substitute: the next login through the connection creates them again.
ALTER TABLE users ADD COLUMN blocked boolean NOT NULL DEFAULT false;
