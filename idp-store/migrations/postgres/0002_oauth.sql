-- idp schema, version 2: what OAuth / OpenID Connect leaves behind. Random values (codes,
-- refresh tokens, session ids) are stored only as their SHA-256 digests. Constraint names are
-- part of the contract, as in 0001 (idp-store/src/postgres/error.rs).

-- Third-party clients ask the user for consent; existing clients are first-party.
ALTER TABLE app_clients ADD COLUMN consent_required boolean NOT NULL DEFAULT false;
ALTER TABLE app_clients ADD COLUMN id_token_alg text
    CONSTRAINT app_clients_id_token_alg_check CHECK (id_token_alg IN ('ES256', 'RS256', 'EdDSA'));

CREATE TABLE signing_keys (
    kid            text        NOT NULL,
    alg            text        NOT NULL,
    -- PKCS#8 DER of the private key.
    private_der    bytea       NOT NULL,
    public_jwk     jsonb       NOT NULL,
    created_at     timestamptz NOT NULL,
    superseded_at  timestamptz,
    CONSTRAINT signing_keys_pkey PRIMARY KEY (kid),
    CONSTRAINT signing_keys_alg_check CHECK (alg IN ('ES256', 'RS256', 'EdDSA'))
);
-- At most one signing (not yet superseded) key per algorithm; insert_key supersedes the others
-- in the transaction that inserts the new one.
CREATE UNIQUE INDEX signing_keys_active_key ON signing_keys (alg) WHERE superseded_at IS NULL;

-- Codes carry no foreign keys: they live minutes, are checked against the account and client
-- when redeemed, and purge_expired removes them.
CREATE TABLE authorization_codes (
    code_digest   text        NOT NULL,
    client_id     text        NOT NULL,
    tenant_id     uuid        NOT NULL,
    account_id    uuid        NOT NULL,
    redirect_uri  text        NOT NULL,
    scope         text        NOT NULL,
    nonce         text,
    pkce          text,
    auth          jsonb       NOT NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    -- Set, with the family its redemption created, by the one call that spends the code.
    redeemed_at   timestamptz,
    family_id     uuid,
    CONSTRAINT authorization_codes_pkey PRIMARY KEY (code_digest)
);
CREATE INDEX authorization_codes_expires_idx ON authorization_codes (expires_at);

CREATE TABLE token_families (
    id          uuid        NOT NULL,
    tenant_id   uuid        NOT NULL,
    client_id   text        NOT NULL,
    account_id  uuid        NOT NULL,
    scope       text        NOT NULL,
    auth        jsonb       NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    CONSTRAINT token_families_pkey PRIMARY KEY (id),
    CONSTRAINT token_families_account_fkey FOREIGN KEY (account_id, tenant_id)
        REFERENCES accounts (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX token_families_account_idx ON token_families (account_id);

CREATE TABLE refresh_tokens (
    token_digest  text        NOT NULL,
    family_id     uuid        NOT NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (token_digest),
    CONSTRAINT refresh_tokens_family_fkey FOREIGN KEY (family_id)
        REFERENCES token_families (id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);

-- Revoked access tokens, kept until the token itself expires.
CREATE TABLE revoked_access_tokens (
    jti         text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    CONSTRAINT revoked_access_tokens_pkey PRIMARY KEY (jti)
);
CREATE INDEX revoked_access_tokens_expires_idx ON revoked_access_tokens (expires_at);

CREATE TABLE sessions (
    id_digest   text        NOT NULL,
    tenant_id   uuid        NOT NULL,
    account_id  uuid        NOT NULL,
    auth        jsonb       NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    CONSTRAINT sessions_pkey PRIMARY KEY (id_digest),
    CONSTRAINT sessions_account_fkey FOREIGN KEY (account_id, tenant_id)
        REFERENCES accounts (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX sessions_account_idx ON sessions (account_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE consents (
    account_id  uuid        NOT NULL,
    client_id   text        NOT NULL,
    -- Sorted, without duplicates.
    scopes      text[]      NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT consents_pkey PRIMARY KEY (account_id, client_id),
    CONSTRAINT consents_account_fkey FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE
);
