//! The command line: `serve` (default), `migrate`, and admin commands that act on the configured
//! database directly, as the operator (no running server needed); `completions` prints a shell
//! completion script. Admin commands report a sentence, or one JSON object with `--json`
//! ([`crate::output`]).

use clap::{CommandFactory, Parser, Subcommand};
use idp_config::Config;
use idp_core::Context;
use idp_core::model::{DEFAULT_TENANT, GrantType, SigningAlg};
use idp_core::ops::{NewClient, Registration};
use serde_json::json;

use crate::app::{App, open_store};
use crate::error::ServerError;
use crate::output::{Format, Report};
use crate::{serve, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "idp-server",
    version,
    about = "idp: an OAuth2 / OpenID Connect identity provider"
)]
#[command(
    after_help = "Configuration: defaults < TOML file named by IDP_CONFIG < IDP_* environment variables."
)]
pub struct Cli {
    /// Print one JSON object per command on stdout (errors too: `{"error": {"kind", "message"}}`).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage app clients (OAuth clients, vendor api-keys, Switch client ids).
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage roles and their entitlements.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Manage token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print a shell completion script: `source <(idp-server completions bash)`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new signing key for every algorithm. The previous keys stop signing but stay
    /// published until every token they signed has expired; running servers pick the new keys
    /// up within a minute (at once for verification).
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Tenant name: letters, digits, _ - .
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register an app client. Without --secret it is a public client (PKCE only).
    Create {
        #[arg(long, default_value = DEFAULT_TENANT)]
        tenant: String,
        /// Client id (also the Fintiv api-key / Switch SWI-CID).
        #[arg(long)]
        id: String,
        /// Client secret, at least 16 characters; stored only as a SHA-256 digest.
        #[arg(long, env = "IDP_NEW_CLIENT_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// Allowed redirect URI (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Allowed grant (repeatable): authorization_code, refresh_token, client_credentials, password.
        #[arg(long = "grant", value_parser = parse_grant)]
        grants: Vec<GrantType>,
        /// Allowed scope (repeatable; default: openid profile email phone offline_access).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// A third-party client: users are asked to consent before it receives their data.
        #[arg(long)]
        third_party: bool,
        /// ID-token signing algorithm for this client: ES256 (default), RS256 or EdDSA.
        #[arg(long = "id-token-alg", value_parser = parse_alg)]
        id_token_alg: Option<SigningAlg>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an active user account.
    Create {
        #[arg(long, default_value = DEFAULT_TENANT)]
        tenant: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// Initial password (or set IDP_NEW_USER_PASSWORD to keep it out of the process list).
        #[arg(long, env = "IDP_NEW_USER_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long)]
        phone: Option<String>,
        /// Role of the tenant to assign (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// e.g. CUSTOMER, DEVELOPER, SUBSCRIBER.
        #[arg(long = "user-type")]
        user_type: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Create a role carrying entitlements.
    Create {
        #[arg(long, default_value = DEFAULT_TENANT)]
        tenant: String,
        /// Role name.
        name: String,
        /// Entitlement the role grants (repeatable, at least one).
        #[arg(long = "entitlement", required = true)]
        entitlements: Vec<String>,
        #[arg(long)]
        description: Option<String>,
    },
}

fn parse_grant(s: &str) -> Result<GrantType, String> {
    s.parse()
}

fn parse_alg(s: &str) -> Result<SigningAlg, String> {
    s.parse()
}

impl Cli {
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else {
            Format::Human
        }
    }
}

/// Runs a parsed command line; admin commands return what to report.
pub async fn run(cli: Cli) -> Result<Option<Report>, ServerError> {
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Completions { shell } = command {
        // No configuration, no database: completions work anywhere.
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "idp-server", &mut script);
        return match std::io::Write::write_all(&mut std::io::stdout(), &script) {
            // `| head` closing the pipe early is not an error of ours.
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
            _ => Ok(None),
        };
    }
    let config = Config::load()?;
    let telemetry = telemetry::init(config.log_format, config.otlp_endpoint.as_deref())?;
    let result = execute(config, command).await;
    // The batch exporter's last spans go out now (a blocking call: off the async workers).
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    result
}

async fn execute(config: Config, command: Command) -> Result<Option<Report>, ServerError> {
    let report = match command {
        Command::Serve => {
            return serve::run(App::build(config, None).await?)
                .await
                .map(|()| None);
        }
        // Printed by run() before any configuration is read.
        Command::Completions { .. } => return Ok(None),
        Command::Migrate => {
            let applied = open_store(&config).await?.migrate().await?;
            let text = if applied.is_empty() {
                "database is up to date".to_owned()
            } else {
                format!("applied migrations: {}", applied.join(", "))
            };
            Report::new(text, json!({ "migrations": { "applied": applied } }))
        }
        Command::Tenant(c) => tenant(&admin(config).await?, c).await?,
        Command::Client(c) => client(&admin(config).await?, c).await?,
        Command::User(c) => user(&admin(config).await?, c).await?,
        Command::Role(c) => role(&admin(config).await?, c).await?,
        Command::Keys(KeysCommand::Rotate) => {
            let app = admin(config).await?;
            let keys = app.keys.rotate().await?;
            let text: Vec<String> = keys
                .iter()
                .map(|k| format!("new {} signing key {}", k.alg, k.kid))
                .collect();
            let list: Vec<_> = keys
                .iter()
                .map(|k| json!({ "alg": k.alg.to_string(), "kid": k.kid }))
                .collect();
            Report::new(text.join("\n"), json!({ "keys": list }))
        }
    };
    Ok(Some(report))
}

/// The core for an admin command: the operator, one hashing thread.
async fn admin(config: Config) -> Result<App, ServerError> {
    App::build(config, Some(1)).await
}

async fn tenant(app: &App, command: TenantCommand) -> Result<Report, ServerError> {
    let TenantCommand::Create { name, description } = command;
    let t = app
        .idp
        .create_tenant(&Context::system(), &name, description.as_deref())
        .await?;
    Ok(Report::new(
        format!("created tenant {} (id {})", t.name, t.id),
        json!({ "tenant": { "id": t.id, "name": t.name, "description": t.description } }),
    ))
}

async fn client(app: &App, command: ClientCommand) -> Result<Report, ServerError> {
    let ClientCommand::Create {
        tenant,
        id,
        secret,
        redirect_uris,
        grants,
        scopes,
        name,
        third_party,
        id_token_alg,
    } = command;
    let tenant = app.idp.tenant(&tenant).await?;
    let new = NewClient {
        id,
        name,
        secret,
        redirect_uris,
        grants,
        scopes,
        third_party,
        id_token_alg,
    };
    let c = app
        .idp
        .create_client(&Context::system(), tenant.id, new)
        .await?;
    let kind = if c.is_public() {
        "public"
    } else {
        "confidential"
    };
    let grants: Vec<&str> = c.grants.iter().map(|g| g.as_str()).collect();
    // Never the secret: it was given by the operator and is kept only as a digest.
    Ok(Report::new(
        format!(
            "created {kind} client {} in tenant {} (grants: {})",
            c.id,
            tenant.name,
            grants.join(", ")
        ),
        json!({ "client": {
            "id": c.id,
            "tenant": tenant.name,
            "kind": kind,
            "grants": grants,
            "redirect_uris": c.redirect_uris,
            "scopes": c.scopes,
        } }),
    ))
}

async fn user(app: &App, command: UserCommand) -> Result<Report, ServerError> {
    let UserCommand::Create {
        tenant,
        username,
        email,
        password,
        phone,
        roles,
        user_type,
    } = command;
    let tenant = app.idp.tenant(&tenant).await?;
    let reg = Registration {
        username,
        email: Some(email),
        phone,
        password: Some(password),
        user_type,
        roles,
        email_verified: true,
        ..Registration::default()
    };
    let a = app.idp.register(&Context::system(), tenant.id, reg).await?;
    Ok(Report::new(
        format!(
            "created user {} (id {}, number {}) in tenant {}",
            a.username, a.id, a.number, tenant.name
        ),
        json!({ "user": {
            "id": a.id,
            "number": a.number,
            "username": a.username,
            "tenant": tenant.name,
        } }),
    ))
}

async fn role(app: &App, command: RoleCommand) -> Result<Report, ServerError> {
    let RoleCommand::Create {
        tenant,
        name,
        entitlements,
        description,
    } = command;
    let tenant = app.idp.tenant(&tenant).await?;
    let r = app
        .idp
        .create_role(
            &Context::system(),
            tenant.id,
            &name,
            description.as_deref(),
            &entitlements,
        )
        .await?;
    let names: Vec<&str> = r.entitlements.iter().map(|e| e.name.as_str()).collect();
    Ok(Report::new(
        format!(
            "created role {} (id {}) in tenant {} with entitlements: {}",
            r.name,
            r.id,
            tenant.name,
            names.join(", ")
        ),
        json!({ "role": {
            "id": r.id,
            "name": r.name,
            "tenant": tenant.name,
            "entitlements": names,
        } }),
    ))
}
