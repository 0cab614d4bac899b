//! A bad configuration value stops every command with exit 1 and names its key.

use crate::support::Sandbox;

#[test]
fn bad_listen_address() {
    Sandbox::new()
        .env("IDP_LISTEN", "nowhere")
        .run(&["migrate"])
        .code(1)
        .stderr_has("configuration error")
        .stderr_has("listen")
        .stderr_has("IDP_LISTEN");
}

#[test]
fn bad_number() {
    Sandbox::new()
        .env("IDP_ARGON2__M_COST", "lots")
        .run(&["migrate"])
        .code(1)
        .stderr_has("argon2.m_cost")
        .stderr_has("IDP_ARGON2__M_COST");
}

#[test]
fn argon2_parameters_out_of_range() {
    Sandbox::new()
        .env("IDP_ARGON2__M_COST", "1")
        .run(&["migrate"])
        .code(1)
        .stderr_has("argon2");
}

#[test]
fn bad_database_url() {
    Sandbox::new()
        .env("IDP_DATABASE_URL", "mysql://localhost/idp")
        .run(&["migrate"])
        .code(1)
        .stderr_has("database_url");
}

#[test]
fn unknown_key_in_the_config_file() {
    let sandbox = Sandbox::new();
    let file = sandbox.path().join("idp.toml");
    std::fs::write(&file, "lisen = \"127.0.0.1:1\"\n").expect("write toml");
    let sandbox = sandbox.env("IDP_CONFIG", &file);
    sandbox
        .run(&["migrate"])
        .code(1)
        .stderr_has("configuration error")
        .stderr_has("lisen")
        .stderr_has("idp.toml");
}

#[test]
fn config_file_values_are_checked_and_named() {
    let sandbox = Sandbox::new();
    let file = sandbox.path().join("idp.toml");
    std::fs::write(&file, "issuer = \"ftp://id.example\"\n").expect("write toml");
    let sandbox = sandbox.env("IDP_CONFIG", &file);
    sandbox.run(&["migrate"]).code(1).stderr_has("issuer");
}

#[test]
fn missing_config_file() {
    let sandbox = Sandbox::new();
    let file = sandbox.path().join("absent.toml");
    let sandbox = sandbox.env("IDP_CONFIG", &file);
    sandbox.run(&["migrate"]).code(1).stderr_has("absent.toml");
}

#[test]
fn environment_overrides_the_file() {
    let sandbox = Sandbox::new();
    let file = sandbox.path().join("idp.toml");
    std::fs::write(&file, "listen = \"nowhere\"\n").expect("write toml");
    let sandbox = sandbox
        .env("IDP_CONFIG", &file)
        .env("IDP_LISTEN", "127.0.0.1:0");
    sandbox.run(&["migrate"]).ok();
}
