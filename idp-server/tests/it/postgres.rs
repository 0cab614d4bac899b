//! The same commands against PostgreSQL, each test on a fresh schema.

use std::time::Duration;

use crate::serve::{assert_ready, assert_terminates_cleanly};
use crate::support::{Sandbox, free_port, fresh_postgres_schema, wait_healthy};

const GOOD_PASSWORD: &str = "Corr3ct-Horse!";

#[tokio::test]
async fn migrate_then_admin_commands() {
    let Some(url) = fresh_postgres_schema().await else {
        return;
    };
    let sandbox = Sandbox::new().env("IDP_DATABASE_URL", &url);
    sandbox
        .run(&["migrate"])
        .ok()
        .stdout_has("applied migrations:");
    sandbox
        .run(&["migrate"])
        .ok()
        .stdout_has("database is up to date");
    assert!(
        !sandbox.data_dir().join("idp.db").exists(),
        "a PostgreSQL URL must not create the embedded database"
    );

    sandbox
        .run(&["tenant", "create", "acme"])
        .ok()
        .stdout_has("created tenant acme");
    sandbox
        .run(&["tenant", "create", "acme"])
        .code(1)
        .stderr_has("already in use");

    let user = |username: &str, email: &str, password: &str| {
        sandbox.run(&[
            "user",
            "create",
            "--tenant",
            "acme",
            "--username",
            username,
            "--email",
            email,
            "--password",
            password,
        ])
    };
    user("alice", "alice@example.com", "weak")
        .code(1)
        .stderr_has("password");
    user("alice", "alice@example.com", GOOD_PASSWORD)
        .ok()
        .stdout_has("created user alice")
        .stdout_has("tenant acme")
        .never_shows(GOOD_PASSWORD);
    user("alice2", "alice@example.com", GOOD_PASSWORD)
        .code(1)
        .stderr_has("email already in use");
    sandbox
        .run(&[
            "user",
            "create",
            "--tenant",
            "nowhere",
            "--username",
            "bob",
            "--email",
            "bob@example.com",
            "--password",
            GOOD_PASSWORD,
        ])
        .code(1)
        .stderr_has("tenant not found");
}

#[tokio::test]
async fn serve_on_postgres() {
    let Some(url) = fresh_postgres_schema().await else {
        return;
    };
    let port = free_port();
    let sandbox = Sandbox::new()
        .env("IDP_DATABASE_URL", &url)
        .env("IDP_DATABASE_POOL_SIZE", "2")
        .env("IDP_LISTEN", format!("127.0.0.1:{port}"));
    let mut server = sandbox.spawn(&["serve"]);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&mut server, &base).await;
    assert_ready(&base, "postgres", &server).await;
    assert_terminates_cleanly(server).await;
}

/// No PostgreSQL on the other end (a free port, so no server is needed): `migrate` and `serve`
/// exit 1 at once, naming the database, instead of hanging or retrying forever.
#[tokio::test]
async fn unreachable_database_fails_fast() {
    let url = format!("postgres://postgres@127.0.0.1:{}/idp", free_port());
    for args in [&["migrate"][..], &["serve"][..]] {
        let sandbox = Sandbox::new()
            .env("IDP_DATABASE_URL", &url)
            .env("IDP_LISTEN", format!("127.0.0.1:{}", free_port()));
        let mut server = sandbox.spawn(args);
        let status = server
            .wait_for_exit(Duration::from_secs(20))
            .await
            .unwrap_or_else(|| {
                panic!(
                    "`idp-server {}` still running after 20 s without a database\n{}",
                    args.join(" "),
                    server.output()
                )
            });
        assert_eq!(status.code(), Some(1), "{}", server.output());
        let out = server.output();
        assert!(out.contains("database unavailable"), "{out}");
    }
}
