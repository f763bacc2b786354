-- The login steps that a lost answer must not lose (issue #20): each can now recognise a repeat
-- of itself after a failover, instead of treating it as a replay.
--
-- A login transaction taken by the callback is marked with the attempt that took it (and kept
-- a minute, for that attempt's repeat) instead of deleted.
ALTER TABLE login_transactions ADD COLUMN taken_by uuid;
-- What a code's redemption issued that cannot be made again (its refresh token), sealed with a
-- key derived from the code itself: only whoever presents the code can open it, and the
-- database alone never can. A repeat of the redemption within a short grace gets it back.
ALTER TABLE authorization_codes ADD COLUMN answer_sealed text;
-- The refresh token a rotation replaced this one with, sealed with a key derived from this
-- token: a repeat of the rotation within a short grace gets the same successor back.
ALTER TABLE refresh_tokens ADD COLUMN successor_sealed text;
