-- idp schema, version 3: multi-factor authentication. One-time challenges (codes and link
-- tokens) keep only the hash of their secret (argon2id PHC string of a code, hex SHA-256 of a
-- link token). Constraint names are part of the contract, as in 0001
-- (idp-store/src/postgres/error.rs).

CREATE TABLE challenges (
    id           uuid        NOT NULL,
    tenant_id    uuid        NOT NULL,
    account_id   uuid        NOT NULL,
    kind         text        NOT NULL,
    -- Where the secret was sent (email address or phone number).
    destination  text        NOT NULL,
    secret_hash  text        NOT NULL,
    -- What answering it leads to; opaque to the store.
    payload      jsonb       NOT NULL DEFAULT 'null'::jsonb,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    -- Set by the one call that spends the challenge (UPDATE ... WHERE consumed_at IS NULL).
    consumed_at  timestamptz,
    CONSTRAINT challenges_pkey PRIMARY KEY (id),
    CONSTRAINT challenges_account_fkey FOREIGN KEY (account_id, tenant_id)
        REFERENCES accounts (id, tenant_id) ON DELETE CASCADE,
    CONSTRAINT challenges_kind_check CHECK (kind IN
        ('email_otp', 'sms_otp', 'email_verification', 'password_reset', 'unlock'))
);
CREATE INDEX challenges_account_kind_idx ON challenges (account_id, kind);
CREATE INDEX challenges_expires_idx ON challenges (expires_at);

-- One factor of each kind per account; enrolling again replaces it.
CREATE TABLE account_factors (
    account_id  uuid        NOT NULL,
    kind        text        NOT NULL,
    -- The TOTP shared secret (base32); NULL for factors without one.
    secret      text,
    confirmed   boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    CONSTRAINT account_factors_pkey PRIMARY KEY (account_id, kind),
    CONSTRAINT account_factors_account_fkey FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE,
    CONSTRAINT account_factors_kind_check CHECK (kind IN ('totp', 'email_otp', 'sms_otp', 'pin', 'security_answer'))
);
