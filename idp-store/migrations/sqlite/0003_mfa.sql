-- Multi-factor authentication: one-time challenges (codes and link tokens) and the second
-- factors an account has enrolled. Same conventions as 0001. A challenge's secret is never
-- stored, only its hash (argon2id PHC string of a code, hex SHA-256 of a link token).
--
-- No ON DELETE CASCADE, as elsewhere in this schema: deleting an account removes its challenges
-- and factors explicitly, in the same transaction (sqlite/accounts.rs).

-- consumed_at marks a spent challenge; consume_challenge sets it with one conditional UPDATE.
CREATE TABLE challenges (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    account_id  TEXT    NOT NULL REFERENCES accounts (id),
    kind        TEXT    NOT NULL
        CHECK (kind IN ('email_otp', 'sms_otp', 'email_verification', 'password_reset', 'unlock')),
    destination TEXT    NOT NULL,
    secret_hash TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER
) STRICT;
CREATE INDEX challenges_by_account ON challenges (account_id, kind);
CREATE INDEX challenges_by_expiry ON challenges (expires_at);

-- One factor of each kind per account; enrolling again replaces it.
CREATE TABLE account_factors (
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('totp', 'email_otp', 'sms_otp', 'pin', 'security_answer')),
    -- The TOTP shared secret (base32); NULL for factors without one.
    secret     TEXT,
    confirmed  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind)
) STRICT, WITHOUT ROWID;
