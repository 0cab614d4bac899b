-- idp schema for the embedded SQLite store.
--
-- Conventions: uuids are lowercase hyphenated TEXT, timestamps INTEGER microseconds since the
-- epoch, structured values TEXT JSON, enums their upper-case/snake-case names. STRICT tables
-- reject values of the wrong type instead of silently storing them.
--
-- The store maps "UNIQUE constraint failed: <table>.<columns>" messages to the uniqueness rule
-- that was broken, so renaming a column below means updating sqlite/error.rs too.

CREATE TABLE tenants (
    id           TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,
    description  TEXT,
    default_role TEXT,
    settings     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

-- Next public account number. A counter rather than max(number) + 1 so that the number of a
-- deleted account is never handed to someone else.
CREATE TABLE sequences (
    name TEXT    NOT NULL PRIMARY KEY,
    next INTEGER NOT NULL
) STRICT;
INSERT INTO sequences (name, next) VALUES ('account_number', 100000);

CREATE TABLE accounts (
    id                   TEXT    NOT NULL PRIMARY KEY,
    tenant_id            TEXT    NOT NULL REFERENCES tenants (id),
    number               INTEGER NOT NULL UNIQUE,
    username             TEXT    NOT NULL,
    -- Lower-cased username: uniqueness and lookups are case-insensitive, display keeps the case.
    username_key         TEXT    NOT NULL,
    email                TEXT,
    phone                TEXT,
    email_verified       INTEGER NOT NULL,
    phone_verified       INTEGER NOT NULL,
    user_type            TEXT,
    status               TEXT    NOT NULL,
    need_change_password INTEGER NOT NULL,
    failed_attempts      INTEGER NOT NULL DEFAULT 0,
    profile              TEXT    NOT NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    last_login_at        INTEGER,
    password_changed_at  INTEGER,
    -- NULL email/phone never collide, so accounts without them do not conflict.
    UNIQUE (tenant_id, username_key),
    UNIQUE (tenant_id, email),
    UNIQUE (tenant_id, phone)
) STRICT;
CREATE INDEX accounts_by_creation ON accounts (tenant_id, created_at, number);

CREATE TABLE account_secrets (
    account_id    TEXT NOT NULL PRIMARY KEY REFERENCES accounts (id),
    password_hash TEXT,
    pin_hash      TEXT
) STRICT;

-- AUTOINCREMENT on tables whose rows can be deleted: an id once handed out never names a
-- different row later.
CREATE TABLE security_questions (
    id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id),
    question   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (tenant_id, question)
) STRICT;

CREATE TABLE security_answers (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    account_id  TEXT    NOT NULL REFERENCES accounts (id),
    question_id INTEGER NOT NULL REFERENCES security_questions (id),
    answer_hash TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (account_id, question_id)
) STRICT;
CREATE INDEX security_answers_by_question ON security_answers (question_id);

CREATE TABLE roles (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    name        TEXT    NOT NULL,
    description TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
) STRICT;

-- Entitlements are global and shared by name: two roles granting "read" point at one row.
CREATE TABLE entitlements (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE role_entitlements (
    role_id        INTEGER NOT NULL REFERENCES roles (id),
    entitlement_id INTEGER NOT NULL REFERENCES entitlements (id),
    PRIMARY KEY (role_id, entitlement_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE account_roles (
    account_id  TEXT    NOT NULL REFERENCES accounts (id),
    role_id     INTEGER NOT NULL REFERENCES roles (id),
    assigned_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, role_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX account_roles_by_role ON account_roles (role_id);

CREATE TABLE app_clients (
    id            TEXT    NOT NULL PRIMARY KEY,
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id),
    name          TEXT,
    secret_digest TEXT,
    redirect_uris TEXT    NOT NULL,
    grants        TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX app_clients_by_tenant ON app_clients (tenant_id, created_at);

-- No foreign keys: audit records outlive the accounts they are about.
CREATE TABLE audit_records (
    id            INTEGER NOT NULL PRIMARY KEY,
    tenant_id     TEXT    NOT NULL,
    account_id    TEXT,
    actor_id      TEXT,
    category      TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    success       INTEGER NOT NULL,
    summary       TEXT    NOT NULL,
    parameters    TEXT    NOT NULL,
    error_message TEXT,
    client_ip     TEXT,
    request_id    TEXT,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_records_by_account ON audit_records (tenant_id, account_id, created_at, id);
