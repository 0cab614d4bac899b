//! Admin commands on the embedded store: `migrate`, `tenant`, `role`, `user` and `client create`.

use crate::support::Sandbox;

const GOOD_PASSWORD: &str = "Corr3ct-Horse!";

#[test]
fn migrate_applies_then_reports_up_to_date() {
    let sandbox = Sandbox::new();
    sandbox
        .run(&["migrate"])
        .ok()
        .stdout_has("applied migrations:");
    assert!(
        sandbox.data_dir().join("idp.db").is_file(),
        "migrate did not create $IDP_DATA_DIR/idp.db"
    );
    sandbox
        .run(&["migrate"])
        .ok()
        .stdout_has("database is up to date");
}

#[test]
fn admin_commands_migrate_a_fresh_database_themselves() {
    // No `migrate` first: an admin command opens, migrates and seeds the store on its own.
    Sandbox::new()
        .run(&["tenant", "create", "acme"])
        .ok()
        .stdout_has("created tenant acme");
}

#[test]
fn tenant_create_then_duplicate() {
    let sandbox = Sandbox::new();
    sandbox
        .run(&["tenant", "create", "acme", "--description", "Acme Ltd"])
        .ok()
        .stdout_has("created tenant acme");
    let dup = sandbox.run(&["tenant", "create", "acme"]);
    dup.code(1).stderr_has("already in use");
    assert!(dup.stdout.is_empty(), "stdout: {}", dup.stdout);
}

#[test]
fn default_tenant_always_exists() {
    Sandbox::new()
        .run(&["tenant", "create", "default"])
        .code(1)
        .stderr_has("tenant name already in use");
}

#[test]
fn tenant_name_is_validated() {
    Sandbox::new()
        .run(&["tenant", "create", "no spaces please"])
        .code(1)
        .stderr_has("tenant name");
}

#[test]
fn role_create_needs_an_entitlement() {
    let sandbox = Sandbox::new();
    sandbox
        .run(&["role", "create", "auditor"])
        .code(2)
        .stderr_has("--entitlement");
    sandbox
        .run(&[
            "role",
            "create",
            "auditor",
            "--entitlement",
            "audit.read",
            "--entitlement",
            "user.read",
        ])
        .ok()
        .stdout_has("created role auditor")
        // Entitlement names are stored upper-cased.
        .stdout_has("AUDIT.READ")
        .stdout_has("USER.READ");
    sandbox
        .run(&["role", "create", "auditor", "--entitlement", "audit.read"])
        .code(1)
        .stderr_has("role name already in use");
}

#[test]
fn user_create_checks_password_and_uniqueness() {
    let sandbox = Sandbox::new();
    let weak = sandbox.run(&[
        "user",
        "create",
        "--username",
        "alice",
        "--email",
        "alice@example.com",
        "--password",
        "abc",
    ]);
    weak.code(1)
        .stderr_has("password")
        .stderr_has("at least 8 characters");

    sandbox
        .run(&[
            "role",
            "create",
            "customer",
            "--entitlement",
            "profile.read",
        ])
        .ok();
    let good = sandbox.run(&[
        "user",
        "create",
        "--username",
        "alice",
        "--email",
        "alice@example.com",
        "--password",
        GOOD_PASSWORD,
        "--role",
        "customer",
        "--user-type",
        "CUSTOMER",
    ]);
    good.ok()
        .stdout_has("created user alice")
        .stdout_has("tenant default")
        .never_shows(GOOD_PASSWORD);

    sandbox
        .run(&[
            "user",
            "create",
            "--username",
            "alice2",
            "--email",
            "alice@example.com",
            "--password",
            GOOD_PASSWORD,
        ])
        .code(1)
        .stderr_has("email already in use");
    sandbox
        .run(&[
            "user",
            "create",
            "--username",
            "alice",
            "--email",
            "other@example.com",
            "--password",
            GOOD_PASSWORD,
        ])
        .code(1)
        .stderr_has("username already in use");
}

#[test]
fn user_password_from_the_environment() {
    let sandbox = Sandbox::new().env("IDP_NEW_USER_PASSWORD", GOOD_PASSWORD);
    sandbox
        .run(&[
            "user",
            "create",
            "--username",
            "bob",
            "--email",
            "bob@example.com",
        ])
        .ok()
        .stdout_has("created user bob")
        .never_shows(GOOD_PASSWORD);
}

#[test]
fn user_in_a_tenant_that_does_not_exist() {
    Sandbox::new()
        .run(&[
            "user",
            "create",
            "--tenant",
            "nowhere",
            "--username",
            "carol",
            "--email",
            "carol@example.com",
            "--password",
            GOOD_PASSWORD,
        ])
        .code(1)
        .stderr_has("tenant not found");
}

#[test]
fn user_in_another_tenant() {
    let sandbox = Sandbox::new();
    sandbox.run(&["tenant", "create", "JANUS"]).ok();
    sandbox
        .run(&[
            "user",
            "create",
            "--tenant",
            "JANUS",
            "--username",
            "dave",
            "--email",
            "dave@example.com",
            "--password",
            GOOD_PASSWORD,
        ])
        .ok()
        .stdout_has("tenant JANUS");
}

#[test]
fn client_create_rejects_an_unknown_grant() {
    Sandbox::new()
        .run(&["client", "create", "--id", "shop", "--grant", "implicit"])
        .code(2)
        .stderr_has("unknown grant `implicit`");
}

#[test]
fn client_secret_rules_and_secrecy() {
    let sandbox = Sandbox::new();
    let short = "tooshort-123";
    sandbox
        .run(&[
            "client",
            "create",
            "--id",
            "shop",
            "--secret",
            short,
            "--grant",
            "client_credentials",
        ])
        .code(1)
        .stderr_has("secret")
        .stderr_has("16")
        .never_shows(short);

    let secret = "s3cr3t-value-nobody-guesses";
    sandbox
        .run(&[
            "client",
            "create",
            "--id",
            "shop",
            "--secret",
            secret,
            "--grant",
            "client_credentials",
            "--grant",
            "refresh_token",
        ])
        .ok()
        .stdout_has("created confidential client shop")
        .stdout_has("client_credentials")
        .never_shows(secret);

    // A duplicate id fails without echoing the secret either.
    sandbox
        .run(&[
            "client",
            "create",
            "--id",
            "shop",
            "--secret",
            secret,
            "--grant",
            "client_credentials",
        ])
        .code(1)
        .stderr_has("client id already in use")
        .never_shows(secret);
}

#[test]
fn client_secret_from_the_environment() {
    let secret = "from-the-env-0123456789";
    let sandbox = Sandbox::new().env("IDP_NEW_CLIENT_SECRET", secret);
    sandbox
        .run(&[
            "client",
            "create",
            "--id",
            "backend",
            "--grant",
            "client_credentials",
        ])
        .ok()
        .stdout_has("created confidential client backend")
        .never_shows(secret);
}

#[test]
fn public_client_with_a_redirect_uri() {
    let sandbox = Sandbox::new();
    sandbox
        .run(&[
            "client",
            "create",
            "--id",
            "spa",
            "--redirect-uri",
            "https://app.example.com/callback",
        ])
        .ok()
        .stdout_has("created public client spa")
        .stdout_has("authorization_code");
    // authorization_code without a redirect URI is refused.
    sandbox
        .run(&["client", "create", "--id", "spa2"])
        .code(1)
        .stderr_has("redirect_uri");
}

#[test]
fn client_in_a_tenant_that_does_not_exist() {
    Sandbox::new()
        .run(&[
            "client",
            "create",
            "--tenant",
            "nowhere",
            "--id",
            "x",
            "--redirect-uri",
            "https://app.example.com/cb",
        ])
        .code(1)
        .stderr_has("tenant not found");
}

#[test]
fn keys_rotate_makes_a_new_key_per_algorithm() {
    let sandbox = Sandbox::new();
    let first = sandbox.run(&["keys", "rotate"]);
    first
        .ok()
        .stdout_has("new ES256 signing key")
        .stdout_has("new RS256 signing key")
        .stdout_has("new EdDSA signing key");
    let kids = |out: &str| -> Vec<String> {
        out.lines()
            .filter_map(|l| l.rsplit(' ').next())
            .map(str::to_owned)
            .collect()
    };
    let second = sandbox.run(&["keys", "rotate"]);
    second.ok();
    let (a, b) = (kids(&first.stdout), kids(&second.stdout));
    assert_eq!(a.len(), 3);
    assert!(
        a.iter().all(|k| !b.contains(k)),
        "each rotation makes new kids: {a:?} {b:?}"
    );
}

#[test]
fn client_with_an_id_token_algorithm() {
    let sandbox = Sandbox::new();
    sandbox
        .run(&[
            "client",
            "create",
            "--id",
            "rp",
            "--redirect-uri",
            "https://rp.example/cb",
            "--id-token-alg",
            "EdDSA",
            "--third-party",
        ])
        .ok()
        .stdout_has("created public client rp");
    sandbox
        .run(&[
            "client",
            "create",
            "--id",
            "rp2",
            "--redirect-uri",
            "https://rp.example/cb",
            "--id-token-alg",
            "HS256",
        ])
        .code(2)
        .stderr_has("HS256");
}
