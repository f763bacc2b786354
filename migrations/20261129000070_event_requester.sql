-- Who a login or token event came from: the caller's address (as `client_addr` reads it, so
-- behind trusted proxies the original client's) and user agent, as Auth0's log events carry
-- them. Nullable without a default, so adding them rewrites nothing.
ALTER TABLE events ADD COLUMN ip text, ADD COLUMN user_agent text;
