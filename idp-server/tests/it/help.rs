//! `--help` everywhere: exit 0 and the options the design promises.

use crate::support::Sandbox;

#[track_caller]
fn help_mentions(args: &[&str], needles: &[&str]) {
    let sandbox = Sandbox::new();
    let mut argv = args.to_vec();
    argv.push("--help");
    let run = sandbox.run(&argv);
    run.ok();
    for needle in needles {
        run.stdout_has(needle);
    }
}

#[test]
fn top_level() {
    help_mentions(
        &[],
        &[
            "serve",
            "migrate",
            "tenant",
            "client",
            "user",
            "role",
            "IDP_CONFIG",
        ],
    );
}

#[test]
fn version() {
    Sandbox::new()
        .run(&["--version"])
        .ok()
        .stdout_has("idp-server ")
        .stdout_has(env!("CARGO_PKG_VERSION"));
}

#[test]
fn serve() {
    help_mentions(&["serve"], &["Usage"]);
}

#[test]
fn migrate() {
    help_mentions(&["migrate"], &["Usage", "migration"]);
}

#[test]
fn command_groups() {
    for group in ["tenant", "client", "user", "role"] {
        help_mentions(&[group], &["create"]);
    }
}

#[test]
fn tenant_create() {
    help_mentions(&["tenant", "create"], &["<NAME>", "--description"]);
}

#[test]
fn client_create() {
    help_mentions(
        &["client", "create"],
        &[
            "--tenant",
            "--id",
            "--secret",
            "--redirect-uri",
            "--grant",
            "authorization_code",
            "refresh_token",
            "client_credentials",
            "password",
        ],
    );
}

#[test]
fn user_create() {
    help_mentions(
        &["user", "create"],
        &[
            "--tenant",
            "--username",
            "--email",
            "--password",
            "--role",
            "--user-type",
        ],
    );
}

#[test]
fn role_create() {
    help_mentions(
        &["role", "create"],
        &["--tenant", "<NAME>", "--entitlement"],
    );
}

#[test]
fn unknown_command_is_a_usage_error() {
    Sandbox::new()
        .run(&["frobnicate"])
        .code(2)
        .stderr_has("frobnicate");
}
