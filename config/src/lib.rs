//! Configuration: built-in defaults, overridden by a TOML file (path in `IDP_CONFIG`),
//! overridden by `IDP_*` environment variables. Nested keys use `__` in the environment:
//! `IDP_ARGON2__M_COST=65536` sets `[argon2] m_cost`. Everything is checked at start-up and a
//! bad value is reported with the key that holds it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use idp_core::secrets::hasher::HashParams;
use serde::{Deserialize, Serialize};

mod reference;
pub use reference::{KeyDoc, keys, reference_markdown};

/// Top-level keys an `IDP_` variable may set. Other `IDP_` variables (`IDP_CONFIG`, test
/// settings) are not configuration and are ignored.
pub(crate) const ENV_KEYS: [&str; 17] = [
    "listen",
    "issuer",
    "data_dir",
    "database_url",
    "database_pool_size",
    "redis_url",
    "smtp_url",
    "sms_webhook_url",
    "blob_url",
    "log_format",
    "argon2",
    "http",
    "tokens",
    "security",
    "sms_auth_header",
    "adapters",
    "otlp_endpoint",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds.
    pub listen: SocketAddr,
    /// Public base URL: the `iss` of every token and the base of discovery.
    pub issuer: String,
    /// Where the embedded database, outbox and uploads live.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL, `sqlite://PATH` for a given file; unset: `DATA_DIR/idp.db`.
    pub database_url: Option<String>,
    /// PostgreSQL connections per server process (bearer-token checks use 2 more of their own).
    pub database_pool_size: usize,
    /// Unset: limits and lockout counters live in process.
    pub redis_url: Option<String>,
    /// `smtp[s]://user:pass@host:port?from=…` (`tls=starttls|none|opportunistic`); unset: email goes
    /// to the file outbox `DATA_DIR/outbox.jsonl`.
    pub smtp_url: Option<String>,
    /// SMS gateway: JSON `{"to","body"}` is POSTed here; unset: texts go to the file outbox.
    pub sms_webhook_url: Option<String>,
    /// `Authorization` header value sent to the SMS webhook.
    pub sms_auth_header: Option<String>,
    /// Uploads in an S3-compatible store:
    /// `s3://ACCESS_KEY:SECRET_KEY@HOST[:PORT]/BUCKET?region=…&style=path|virtual` (`s3+http://`
    /// for plain HTTP; percent-encode `/` and `+` in the keys); unset: `DATA_DIR/blobs`.
    pub blob_url: Option<String>,
    /// `text` for people, `json` for one JSON object per line; the level comes from `RUST_LOG`.
    pub log_format: LogFormat,
    /// OpenTelemetry traces: base URL of an OTLP/HTTP (protobuf) collector, e.g.
    /// `http://127.0.0.1:4318` (spans go to `…/v1/traces`); unset: no traces are exported.
    pub otlp_endpoint: Option<String>,
    pub argon2: Argon2Config,
    pub http: HttpConfig,
    pub tokens: TokensConfig,
    pub security: SecurityConfig,
    pub adapters: AdaptersConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            issuer: "http://127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./var"),
            database_url: None,
            database_pool_size: 16,
            redis_url: None,
            smtp_url: None,
            sms_webhook_url: None,
            sms_auth_header: None,
            blob_url: None,
            log_format: LogFormat::Text,
            otlp_endpoint: None,
            argon2: Argon2Config::default(),
            http: HttpConfig::default(),
            tokens: TokensConfig::default(),
            security: SecurityConfig::default(),
            adapters: AdaptersConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Cost of hashing passwords, PINs and answers, and the pool that does it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Argon2Config {
    /// argon2id memory per hash, KiB.
    pub m_cost: u32,
    /// argon2id iterations.
    pub t_cost: u32,
    /// argon2id lanes.
    pub p_cost: u32,
    /// Hashing threads; 0 = one per core.
    pub threads: usize,
    /// Hash jobs that may wait; beyond that callers get 503 at once.
    pub queue: usize,
}

impl Default for Argon2Config {
    fn default() -> Self {
        let p = HashParams::default();
        Self {
            m_cost: p.m_cost,
            t_cost: p.t_cost,
            p_cost: p.p_cost,
            threads: 0,
            queue: 1024,
        }
    }
}

impl Argon2Config {
    pub fn params(&self) -> HashParams {
        HashParams {
            m_cost: self.m_cost,
            t_cost: self.t_cost,
            p_cost: self.p_cost,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest JSON or form body accepted, in bytes (uploads have their own limit).
    pub body_limit: usize,
    /// A request that takes longer is answered 503.
    pub request_timeout_secs: u64,
    /// On shutdown, how long in-flight requests may take to finish before connections are cut
    /// (a client stalled half-way through its headers would otherwise hold the process).
    pub shutdown_grace_secs: u64,
    /// Reverse proxies whose `X-Forwarded-For` is believed, as addresses or CIDR ranges (a list,
    /// or in the environment one comma-separated string: `10.0.0.0/8,127.0.0.1`). Per-IP rate
    /// limits and audit records then see the client's address instead of the proxy's. Empty:
    /// the TCP peer is the client and the header is ignored.
    #[serde(deserialize_with = "list_or_commas")]
    pub trusted_proxies: Vec<String>,
}

impl HttpConfig {
    /// [`HttpConfig::trusted_proxies`] parsed; a bare address is a range of one.
    pub fn trusted_proxy_nets(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.trusted_proxies
            .iter()
            .map(|s| {
                let s = s.trim();
                s.parse::<ipnet::IpNet>()
                    .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| format!("`{s}` is neither an IP address nor a CIDR range"))
            })
            .collect()
    }
}

/// A list of strings, or one string of comma-separated items (what an environment variable
/// can hold).
fn list_or_commas<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        List(Vec<String>),
        Commas(String),
    }
    Ok(match Form::deserialize(d)? {
        Form::List(list) => list,
        Form::Commas(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit: 64 * 1024,
            request_timeout_secs: 30,
            shutdown_grace_secs: 10,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Lifetimes of what the token service issues, in seconds, and the default signing algorithm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TokensConfig {
    /// Access-token lifetime (1 s to 1 day).
    pub access_token_ttl_secs: u64,
    /// ID-token lifetime (1 s to 1 day).
    pub id_token_ttl_secs: u64,
    /// Refresh-token lifetime; each rotation starts a new one (up to 400 days).
    pub refresh_token_ttl_secs: u64,
    /// Authorization-code lifetime (up to 600 s).
    pub code_ttl_secs: u64,
    /// Sign-in session (`idp_session` cookie) lifetime (up to 30 days).
    pub session_ttl_secs: u64,
    /// `ES256`, `RS256` or `EdDSA`: access tokens, and ID tokens unless a client asks otherwise.
    pub default_alg: String,
}

impl Default for TokensConfig {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 900,
            id_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            code_ttl_secs: 60,
            session_ttl_secs: 12 * 3600,
            default_alg: "ES256".into(),
        }
    }
}

/// One-time codes, links and rate limits (lockout thresholds are per tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Lifetime of a one-time code (email/SMS).
    pub otp_ttl_secs: u64,
    /// Tries per one-time code; the next one fails even with the right code.
    pub otp_max_attempts: u32,
    /// Least time between two codes to one account and channel.
    pub otp_resend_secs: u64,
    /// Lifetime of emailed links (verification, reset, unlock).
    pub link_ttl_secs: u64,
    /// Authentication attempts per minute per client IP.
    pub rate_per_ip: u32,
    /// Authentication attempts per minute per account.
    pub rate_per_account: u32,
    /// Authentication attempts per minute per app client.
    pub rate_per_client: u32,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            otp_ttl_secs: 300,
            otp_max_attempts: 5,
            otp_resend_secs: 30,
            link_ttl_secs: 3600,
            rate_per_ip: 60,
            rate_per_account: 30,
            rate_per_client: 600,
        }
    }
}

/// Where each compatibility surface is mounted.
/// (No serde default: the defaults layer of [`Config::figment`] always supplies both fields.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    /// Serve this surface at all.
    pub enabled: bool,
    /// `/name` or empty for the root of the listener.
    pub prefix: String,
}

impl Mount {
    fn at(prefix: &str) -> Self {
        Self {
            enabled: true,
            prefix: prefix.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AdaptersConfig {
    pub fintract: Mount,
    pub bioentrust: Mount,
    pub fintiv: Mount,
    pub switch: Mount,
}

impl Default for AdaptersConfig {
    fn default() -> Self {
        Self {
            fintract: Mount::at("/fintract"),
            bioentrust: Mount::at("/bioentrust"),
            fintiv: Mount::at("/fintiv"),
            switch: Mount::at("/switch"),
        }
    }
}

/// Which store the configuration selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    Postgres(String),
}

/// A configuration problem, naming the key (and where its value came from).
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Loads defaults < `IDP_CONFIG` file < `IDP_*` variables from the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var_os("IDP_CONFIG").map(PathBuf::from);
        Self::from_figment(Self::figment(file.as_deref()))
    }

    /// The layered sources, for [`Config::load`] and for tests.
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            fig = fig.merge(Toml::file_exact(path));
        }
        fig.merge(
            Env::prefixed("IDP_")
                .split("__")
                // Keys arrive as written (`ARGON2__M_COST`): compare the first segment uncased.
                .filter(|k| {
                    let top = k
                        .as_str()
                        .split("__")
                        .next()
                        .and_then(|s| s.split('.').next())
                        .unwrap_or("");
                    ENV_KEYS.iter().any(|known| known.eq_ignore_ascii_case(top))
                }),
        )
    }

    pub fn from_figment(fig: Figment) -> Result<Self, ConfigError> {
        let config: Config = fig.extract().map_err(describe)?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, msg: String| Err(ConfigError(format!("`{key}`: {msg}")));
        match url::Url::parse(&self.issuer) {
            Ok(u) if !matches!(u.scheme(), "http" | "https") => {
                return bad(
                    "issuer",
                    format!("`{}` must be an http or https URL", self.issuer),
                );
            }
            Ok(u) if u.query().is_some() || u.fragment().is_some() => {
                return bad("issuer", "must not have a query or fragment".into());
            }
            Ok(_) => {}
            Err(e) => return bad("issuer", format!("`{}` is not a URL: {e}", self.issuer)),
        }
        if let Some(url) = &self.database_url
            && let Err(msg) = parse_database_url(url)
        {
            return bad("database_url", msg);
        }
        if self.database_pool_size == 0 {
            return bad("database_pool_size", "must be at least 1".into());
        }
        for (key, url) in [
            ("redis_url", &self.redis_url),
            ("smtp_url", &self.smtp_url),
            ("sms_webhook_url", &self.sms_webhook_url),
            ("blob_url", &self.blob_url),
            ("otlp_endpoint", &self.otlp_endpoint),
        ] {
            if let Some(u) = url
                && let Err(e) = url::Url::parse(u)
            {
                return bad(key, format!("not a URL: {e}"));
            }
        }
        if let Err(e) = self.argon2.params().validate() {
            return bad("argon2", e.to_string());
        }
        if self.argon2.queue == 0 {
            return bad("argon2.queue", "must be at least 1".into());
        }
        if self.http.body_limit < 1024 {
            return bad("http.body_limit", "must be at least 1024 bytes".into());
        }
        if self.http.shutdown_grace_secs == 0 {
            return bad("http.shutdown_grace_secs", "must be at least 1".into());
        }
        if self.http.request_timeout_secs == 0 {
            return bad("http.request_timeout_secs", "must be at least 1".into());
        }
        if let Err(e) = self.http.trusted_proxy_nets() {
            return bad("http.trusted_proxies", e);
        }
        let t = &self.tokens;
        for (key, v, max) in [
            (
                "tokens.access_token_ttl_secs",
                t.access_token_ttl_secs,
                86_400,
            ),
            ("tokens.id_token_ttl_secs", t.id_token_ttl_secs, 86_400),
            (
                "tokens.refresh_token_ttl_secs",
                t.refresh_token_ttl_secs,
                400 * 86_400,
            ),
            ("tokens.code_ttl_secs", t.code_ttl_secs, 600),
            ("tokens.session_ttl_secs", t.session_ttl_secs, 30 * 86_400),
        ] {
            if v == 0 || v > max {
                return bad(key, format!("must be 1 to {max} seconds"));
            }
        }
        if t.default_alg
            .parse::<idp_core::model::SigningAlg>()
            .is_err()
        {
            return bad(
                "tokens.default_alg",
                format!("`{}` must be ES256, RS256 or EdDSA", t.default_alg),
            );
        }
        let sec = &self.security;
        for (key, v) in [
            ("security.otp_ttl_secs", sec.otp_ttl_secs),
            ("security.link_ttl_secs", sec.link_ttl_secs),
            ("security.otp_max_attempts", u64::from(sec.otp_max_attempts)),
            ("security.rate_per_ip", u64::from(sec.rate_per_ip)),
            ("security.rate_per_account", u64::from(sec.rate_per_account)),
            ("security.rate_per_client", u64::from(sec.rate_per_client)),
        ] {
            if v == 0 {
                return bad(key, "must be at least 1".into());
            }
        }
        let a = &self.adapters;
        for (name, m) in [
            ("fintract", &a.fintract),
            ("bioentrust", &a.bioentrust),
            ("fintiv", &a.fintiv),
            ("switch", &a.switch),
        ] {
            let p = &m.prefix;
            if !p.is_empty() && (!p.starts_with('/') || p.ends_with('/') || p.contains("//")) {
                return bad(
                    &format!("adapters.{name}.prefix"),
                    format!("`{p}` must be empty or look like /name"),
                );
            }
        }
        Ok(())
    }

    /// The store this configuration selects.
    pub fn database(&self) -> Database {
        match &self.database_url {
            // validate() has accepted it, so it parses.
            Some(url) => {
                parse_database_url(url).unwrap_or_else(|_| Database::Postgres(url.clone()))
            }
            None => Database::Sqlite(self.data_dir.join("idp.db")),
        }
    }
}

fn parse_database_url(url: &str) -> Result<Database, String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Database::Postgres(url.to_owned()));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"));
    match path {
        Some(p) if !p.is_empty() => Ok(Database::Sqlite(PathBuf::from(p))),
        _ => Err(format!("`{url}` must start with postgres:// or sqlite://")),
    }
}

/// figment's errors carry the key path and the source (file or variable): say both.
fn describe(err: figment::Error) -> ConfigError {
    let msgs: Vec<String> = err
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let source = match &e.metadata {
                Some(m) => match &m.source {
                    Some(src) => format!("{} {src}", m.name),
                    None => m.name.to_string(),
                },
                None => "defaults".into(),
            };
            let env = if key.is_empty() {
                String::new()
            } else {
                format!(", env IDP_{}", key.to_uppercase().replace('.', "__"))
            };
            if key.is_empty() {
                format!("{} (from {source})", e.kind)
            } else {
                format!("`{key}`: {} (from {source}{env})", e.kind)
            }
        })
        .collect();
    ConfigError(msgs.join("; "))
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return figment::Error by design
mod tests {
    use super::*;
    use figment::Jail;

    fn load_in(jail: &Jail, toml: Option<&str>) -> Result<Config, ConfigError> {
        let path = toml.map(|t| {
            jail.create_file("idp.toml", t).expect("write toml");
            jail.directory().join("idp.toml")
        });
        Config::from_figment(Config::figment(path.as_deref()))
    }

    #[test]
    fn defaults_match_the_design() {
        Jail::expect_with(|jail| {
            let c = load_in(jail, None).unwrap();
            assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
            assert_eq!(c.issuer, "http://127.0.0.1:8080");
            assert_eq!(
                c.database(),
                Database::Sqlite(PathBuf::from("./var/idp.db"))
            );
            assert_eq!(c.adapters.switch.prefix, "/switch");
            assert_eq!(c.argon2.m_cost, 19_456);
            Ok(())
        });
    }

    #[test]
    fn env_overrides_file_overrides_defaults() {
        Jail::expect_with(|jail| {
            jail.set_env("IDP_LISTEN", "127.0.0.1:9999");
            jail.set_env("IDP_ARGON2__T_COST", "3");
            jail.set_env("IDP_CONFIG", "ignored.toml");
            jail.set_env("IDP_TEST_SOMETHING", "not config");
            let c = load_in(jail, Some("listen = \"127.0.0.1:7000\"\nissuer = \"https://id.example\"\n[argon2]\nt_cost = 4\nm_cost = 8192\n")).unwrap();
            assert_eq!(c.listen.to_string(), "127.0.0.1:9999");
            assert_eq!(c.issuer, "https://id.example");
            assert_eq!(c.argon2.t_cost, 3);
            assert_eq!(c.argon2.m_cost, 8192);
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_from_a_list_or_one_env_string() {
        Jail::expect_with(|jail| {
            assert!(load_in(jail, None).unwrap().http.trusted_proxies.is_empty());
            let c = load_in(
                jail,
                Some("[http]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n"),
            )
            .unwrap();
            let nets = c.http.trusted_proxy_nets().unwrap();
            assert_eq!(nets.len(), 2);
            assert!(nets[1].contains(&"::1".parse::<std::net::IpAddr>().unwrap()));
            jail.set_env("IDP_HTTP__TRUSTED_PROXIES", "172.16.0.0/12, 127.0.0.1");
            let c = load_in(jail, None).unwrap();
            assert_eq!(c.http.trusted_proxies, ["172.16.0.0/12", "127.0.0.1"]);
            jail.set_env("IDP_HTTP__TRUSTED_PROXIES", "10.0.0.0/8,nginx");
            let err = load_in(jail, None).unwrap_err().to_string();
            assert!(
                err.contains("http.trusted_proxies") && err.contains("nginx"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn database_urls() {
        Jail::expect_with(|jail| {
            jail.set_env("IDP_DATABASE_URL", "postgres://u@127.0.0.1:5432/idp");
            assert!(matches!(
                load_in(jail, None).unwrap().database(),
                Database::Postgres(_)
            ));
            jail.set_env("IDP_DATABASE_URL", "sqlite:///tmp/x.db");
            assert_eq!(
                load_in(jail, None).unwrap().database(),
                Database::Sqlite("/tmp/x.db".into())
            );
            jail.set_env("IDP_DATABASE_URL", "mysql://nope");
            let err = load_in(jail, None).unwrap_err().to_string();
            assert!(err.contains("database_url"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn bad_values_name_their_key() {
        Jail::expect_with(|jail| {
            jail.set_env("IDP_ARGON2__M_COST", "lots");
            let err = load_in(jail, None).unwrap_err().to_string();
            assert!(
                err.contains("argon2.m_cost") && err.contains("IDP_ARGON2__M_COST"),
                "{err}"
            );
            Ok(())
        });
        Jail::expect_with(|jail| {
            let err = load_in(jail, Some("listen = \"nowhere\"\n"))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("`listen`") && err.contains("idp.toml"),
                "{err}"
            );
            let err = load_in(jail, Some("lisen = \"127.0.0.1:1\"\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("lisen"), "{err}");
            let err = load_in(jail, Some("issuer = \"ftp://x\"\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("issuer"), "{err}");
            let err = load_in(jail, Some("[adapters.fintiv]\nprefix = \"fintiv/\"\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("adapters.fintiv.prefix"), "{err}");
            let err = load_in(jail, Some("[argon2]\nm_cost = 1\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("argon2"), "{err}");
            Ok(())
        });
    }
}
