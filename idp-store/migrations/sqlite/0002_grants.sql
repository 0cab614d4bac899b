-- OAuth / OpenID Connect state: signing keys, authorization codes, refresh-token families,
-- revoked access tokens, browser sessions and consents. Same conventions as 0001; every random
-- value (code, refresh token, session id) is keyed by its SHA-256 digest, never stored itself.

-- Existing clients are first-party: they never asked for consent before.
ALTER TABLE app_clients ADD COLUMN consent_required INTEGER NOT NULL DEFAULT 0;
ALTER TABLE app_clients ADD COLUMN id_token_alg TEXT
    CHECK (id_token_alg IN ('ES256', 'RS256', 'EdDSA'));

CREATE TABLE signing_keys (
    kid           TEXT    NOT NULL PRIMARY KEY,
    alg           TEXT    NOT NULL,
    private_der   BLOB    NOT NULL,
    public_jwk    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    superseded_at INTEGER
) STRICT;
CREATE INDEX signing_keys_by_alg ON signing_keys (alg, created_at);

-- No foreign key on family_id: the family is created after the code that leads to it is
-- redeemed. None on account_id either: codes live for minutes, so deleting an account leaves
-- them to expire (a family for a deleted account fails on its own account reference).
-- redeemed_at marks a spent code; family_id records what its redemption created.
CREATE TABLE authorization_codes (
    code_digest  TEXT    NOT NULL PRIMARY KEY,
    client_id    TEXT    NOT NULL REFERENCES app_clients (id),
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id),
    account_id   TEXT    NOT NULL,
    redirect_uri TEXT    NOT NULL,
    scope        TEXT    NOT NULL,
    nonce        TEXT,
    pkce         TEXT,
    auth         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    family_id    TEXT,
    redeemed_at  INTEGER
) STRICT;
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);

CREATE TABLE token_families (
    id         TEXT    NOT NULL PRIMARY KEY,
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    client_id  TEXT    NOT NULL REFERENCES app_clients (id),
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    scope      TEXT    NOT NULL,
    auth       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX token_families_by_account ON token_families (account_id);

CREATE TABLE refresh_tokens (
    token_digest TEXT    NOT NULL PRIMARY KEY,
    family_id    TEXT    NOT NULL REFERENCES token_families (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
) STRICT;
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);

-- Kept only until the token would have expired anyway.
CREATE TABLE revoked_access_tokens (
    jti        TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX revoked_access_tokens_by_expiry ON revoked_access_tokens (expires_at);

CREATE TABLE sessions (
    id_digest  TEXT    NOT NULL PRIMARY KEY,
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    auth       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_account ON sessions (account_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- One row per granted scope, so that granting more is a plain INSERT OR IGNORE.
CREATE TABLE consents (
    account_id TEXT    NOT NULL REFERENCES accounts (id),
    client_id  TEXT    NOT NULL REFERENCES app_clients (id),
    scope      TEXT    NOT NULL,
    granted_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, client_id, scope)
) STRICT, WITHOUT ROWID;
