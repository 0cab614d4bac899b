//! The admin CLI's two output formats (a sentence by default, one JSON object with `--json`,
//! errors included) and its shell completions.

use serde_json::Value;

use crate::support::{Run, Sandbox};

/// stdout as exactly one JSON object (a script reads it with one parse).
#[track_caller]
fn json(run: &Run) -> Value {
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "want one line of JSON\n{run:?}");
    let v: Value = serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}\n{run:?}"));
    assert!(v.is_object(), "{run:?}");
    v
}

#[test]
fn json_reports_what_each_command_created() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["--json", "migrate"]);
    let v = json(run.ok());
    assert!(
        v["migrations"]["applied"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "{v}"
    );
    // `--json` is global: it may follow the subcommand.
    let run = sandbox.run(&[
        "tenant",
        "create",
        "acme",
        "--description",
        "Acme",
        "--json",
    ]);
    let v = json(run.ok());
    assert_eq!(v["tenant"]["name"], "acme", "{v}");
    assert_eq!(v["tenant"]["description"], "Acme", "{v}");
    assert!(
        v["tenant"]["id"].as_str().is_some_and(|id| id.len() == 36),
        "{v}"
    );

    let run = sandbox.run(&[
        "--json",
        "role",
        "create",
        "--tenant",
        "acme",
        "auditor",
        "--entitlement",
        "audit.read",
    ]);
    let v = json(run.ok());
    assert_eq!(v["role"]["name"], "auditor", "{v}");
    assert_eq!(v["role"]["tenant"], "acme", "{v}");
    assert_eq!(
        v["role"]["entitlements"],
        serde_json::json!(["AUDIT.READ"]),
        "{v}"
    );

    let password = "Pass-word-0123!";
    let run = sandbox.run(&[
        "--json",
        "user",
        "create",
        "--tenant",
        "acme",
        "--username",
        "alice",
        "--email",
        "alice@example.com",
        "--password",
        password,
        "--role",
        "auditor",
    ]);
    let v = json(run.ok().never_shows(password));
    assert_eq!(v["user"]["username"], "alice", "{v}");
    assert_eq!(v["user"]["tenant"], "acme", "{v}");
    assert!(v["user"]["number"].is_i64(), "{v}");

    let secret = "client-secret-0123456789";
    let run = sandbox.run(&[
        "--json",
        "client",
        "create",
        "--id",
        "web",
        "--secret",
        secret,
        "--grant",
        "client_credentials",
    ]);
    let v = json(run.ok().never_shows(secret));
    assert_eq!(v["client"]["id"], "web", "{v}");
    assert_eq!(v["client"]["kind"], "confidential", "{v}");
    assert_eq!(
        v["client"]["grants"],
        serde_json::json!(["client_credentials"]),
        "{v}"
    );

    let run = sandbox.run(&["--json", "keys", "rotate"]);
    let v = json(run.ok());
    let algs: Vec<&str> = v["keys"]
        .as_array()
        .map(|keys| keys.iter().filter_map(|k| k["alg"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(algs.len(), 3, "{v}");
    for alg in ["ES256", "RS256", "EdDSA"] {
        assert!(algs.contains(&alg), "{v}");
    }
    assert!(
        v["keys"].as_array().is_some_and(|keys| keys
            .iter()
            .all(|k| k.as_object().is_some_and(|o| o.len() == 2))),
        "only alg and kid, never key material: {v}"
    );
}

#[test]
fn json_errors_are_objects_with_a_kind_and_keep_the_exit_codes() {
    let sandbox = Sandbox::new();
    // A failed operation: exit 1, the error as the one object on stdout.
    let run = sandbox.run(&["--json", "tenant", "create", "default"]);
    let v = json(run.code(1));
    assert_eq!(v["error"]["kind"], "conflict", "{v}");
    assert_eq!(v["error"]["message"], "tenant name already in use", "{v}");
    assert!(!run.stderr.contains("error:"), "{run:?}");

    let run = sandbox.run(&["--json", "tenant", "create", "no spaces please"]);
    let v = json(run.code(1));
    assert_eq!(v["error"]["kind"], "invalid", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("tenant name")),
        "{v}"
    );

    // A usage error found by the parser: exit 2, still JSON.
    let run = sandbox.run(&["--json", "role", "create", "auditor"]);
    let v = json(run.code(2));
    assert_eq!(v["error"]["kind"], "usage", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("--entitlement")),
        "{v}"
    );
    let run = sandbox.run(&["--json", "no-such-command"]);
    assert_eq!(json(run.code(2))["error"]["kind"], "usage");

    // A configuration error: exit 1, JSON.
    let run = Sandbox::new()
        .env("IDP_LISTEN", "not-an-address")
        .run(&["--json", "migrate"]);
    assert_eq!(json(run.code(1))["error"]["kind"], "config");

    // Without --json the same failures stay human: a sentence on stderr, nothing on stdout.
    let run = sandbox.run(&["tenant", "create", "default"]);
    run.code(1).stderr_has("error: tenant name already in use");
    assert!(run.stdout.is_empty(), "{run:?}");
}

#[test]
fn help_and_version_are_not_errors_with_json() {
    let sandbox = Sandbox::new();
    sandbox.run(&["--json", "--help"]).ok().stdout_has("--json");
    sandbox
        .run(&["--json", "--version"])
        .ok()
        .stdout_has("idp-server ");
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    // No configuration is read: a broken one does not matter.
    let sandbox = Sandbox::new().env("IDP_CONFIG", "/nonexistent/idp.toml");
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef idp-server"),
        ("fish", "complete -c idp-server"),
    ] {
        let run = sandbox.run(&["completions", shell]);
        run.ok().stdout_has(marker);
        for word in ["tenant", "client", "keys", "rotate", "json"] {
            run.stdout_has(word);
        }
    }
    sandbox
        .run(&["completions", "tcsh"])
        .code(2)
        .stderr_has("invalid value");
}
