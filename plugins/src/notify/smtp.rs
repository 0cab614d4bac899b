//! E-mail over SMTP with lettre (Tokio transport, rustls with aws-lc-rs). The URL format is in
//! the [module docs](super).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use idp_core::notify::{Channel, Message, Notifier, NotifyError};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use percent_encoding::percent_decode_str;
use url::Url;

/// Default bound on one SMTP conversation.
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtps://`: TLS from the first byte (port 465).
    Implicit,
    /// `smtp://` (default) or `tls=starttls`/`tls=required`: plain connect, then STARTTLS, which
    /// the server must offer (port 587).
    StartTls,
    /// `tls=opportunistic`: STARTTLS when the server offers it, else plain text (port 587).
    Opportunistic,
    /// `tls=none`: plain text throughout (port 25). For a local relay or tests.
    None,
}

impl SmtpTls {
    fn default_port(self) -> u16 {
        match self {
            SmtpTls::Implicit => 465,
            SmtpTls::StartTls | SmtpTls::Opportunistic => 587,
            SmtpTls::None => 25,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            SmtpTls::Implicit => "implicit TLS",
            SmtpTls::StartTls => "STARTTLS required",
            SmtpTls::Opportunistic => "STARTTLS opportunistic",
            SmtpTls::None => "no TLS",
        }
    }
}

/// What an SMTP URL says, parsed and checked. Its `Debug` and `Display` never show the password.
#[derive(Clone)]
pub struct SmtpSettings {
    host: String,
    port: u16,
    tls: SmtpTls,
    from: Mailbox,
    credentials: Option<(String, String)>,
    timeout: Duration,
}

impl SmtpSettings {
    /// Parses `smtp://` / `smtps://` URLs as described in the [module docs](super). Error
    /// messages never repeat the URL.
    pub fn from_url(url: &str) -> Result<Self, NotifyError> {
        let url = Url::parse(url).map_err(|e| invalid(format!("not a URL ({e})")))?;

        let scheme_tls = match url.scheme() {
            "smtp" => SmtpTls::StartTls,
            "smtps" => SmtpTls::Implicit,
            other => {
                return Err(invalid(format!(
                    "scheme must be smtp or smtps, not {other:?}"
                )));
            }
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(invalid("no host")),
        };
        if !matches!(url.path(), "" | "/") {
            return Err(invalid("a path is not allowed"));
        }
        if url.fragment().is_some() {
            return Err(invalid("a fragment is not allowed"));
        }

        let mut from = None;
        let mut tls_param = None;
        let mut timeout = DEFAULT_SMTP_TIMEOUT;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "from" => {
                    let mailbox: Mailbox = value
                        .parse()
                        .map_err(|_| invalid("`from` is not an e-mail address"))?;
                    from = Some(mailbox);
                }
                "tls" => tls_param = Some(value.into_owned()),
                "timeout" => {
                    let secs: u64 = value
                        .parse()
                        .ok()
                        .filter(|s| (1..=600).contains(s))
                        .ok_or_else(|| invalid("`timeout` must be 1..=600 seconds"))?;
                    timeout = Duration::from_secs(secs);
                }
                other => return Err(invalid(format!("unknown query parameter {other:?}"))),
            }
        }
        let from = from.ok_or_else(|| invalid("the sender is missing (`?from=address`)"))?;

        let tls = match (scheme_tls, tls_param.as_deref()) {
            (tls, None) => tls,
            (SmtpTls::StartTls, Some("starttls" | "required")) => SmtpTls::StartTls,
            (SmtpTls::StartTls, Some("opportunistic")) => SmtpTls::Opportunistic,
            (SmtpTls::StartTls, Some("none")) => SmtpTls::None,
            (SmtpTls::Implicit, Some("implicit")) => SmtpTls::Implicit,
            (SmtpTls::Implicit, Some(_)) => {
                return Err(invalid(
                    "smtps:// is implicit TLS; `tls` cannot change that",
                ));
            }
            (_, Some(other)) => {
                return Err(invalid(format!(
                    "`tls` must be starttls, opportunistic or none, not {other:?}"
                )));
            }
        };

        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            ("", Some(_)) => return Err(invalid("a password needs a user")),
            (_, None) => return Err(invalid("a user needs a password")),
            (user, Some(password)) => Some((decode(user)?, decode(password)?)),
        };

        Ok(Self {
            port: url.port().unwrap_or(tls.default_port()),
            host,
            tls,
            from,
            credentials,
            timeout,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn tls(&self) -> SmtpTls {
        self.tls
    }

    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// The user name to authenticate as, if any.
    pub fn username(&self) -> Option<&str> {
        self.credentials.as_ref().map(|(user, _)| user.as_str())
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, NotifyError> {
        let tls_parameters = || {
            TlsParameters::new(self.host.clone())
                .map_err(|e| NotifyError::Failed(format!("SMTP TLS setup failed: {e}")))
        };
        let tls = match self.tls {
            SmtpTls::Implicit => Tls::Wrapper(tls_parameters()?),
            SmtpTls::StartTls => Tls::Required(tls_parameters()?),
            SmtpTls::Opportunistic => Tls::Opportunistic(tls_parameters()?),
            SmtpTls::None => Tls::None,
        };
        // `builder_dangerous` only means "no TLS preset": TLS is set explicitly right here.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .tls(tls)
            .timeout(Some(self.timeout));
        if let Some((user, password)) = &self.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(builder.build())
    }
}

impl fmt::Display for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls == SmtpTls::Implicit {
            "smtps"
        } else {
            "smtp"
        };
        let user = match self.username() {
            Some(user) => format!("{user}@"),
            None => String::new(),
        };
        let host: Cow<'_, str> = if self.host.contains(':') {
            format!("[{}]", self.host).into()
        } else {
            self.host.as_str().into()
        };
        write!(
            f,
            "{scheme}://{user}{host}:{} ({})",
            self.port,
            self.tls.describe()
        )
    }
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("from", &self.from.to_string())
            .field("username", &self.username())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Sends [`Channel::Email`] messages through an SMTP server; answers
/// [`NotifyError::NoChannel`] for anything else. One connection per message.
pub struct SmtpNotifier {
    settings: SmtpSettings,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpNotifier {
    /// Builds the notifier from an SMTP URL (see the [module docs](super)). Needs no Tokio
    /// runtime and does not connect yet.
    pub fn from_url(url: &str) -> Result<Self, NotifyError> {
        Self::new(SmtpSettings::from_url(url)?)
    }

    pub fn new(settings: SmtpSettings) -> Result<Self, NotifyError> {
        let transport = settings.transport()?;
        Ok(Self {
            settings,
            transport,
        })
    }

    pub fn settings(&self) -> &SmtpSettings {
        &self.settings
    }

    fn email(&self, message: &Message) -> Result<lettre::Message, NotifyError> {
        let to: Mailbox = message
            .to
            .parse()
            .map_err(|_| NotifyError::Failed("the recipient is not an e-mail address".into()))?;
        lettre::Message::builder()
            .from(self.settings.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| NotifyError::Failed(format!("cannot build the e-mail: {e}")))
    }
}

impl fmt::Debug for SmtpNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpNotifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    async fn send(&self, message: &Message) -> Result<(), NotifyError> {
        if message.channel != Channel::Email {
            return Err(NotifyError::NoChannel(message.channel));
        }
        let email = self.email(message)?;
        match self.transport.send(email).await {
            Ok(_) => {
                tracing::debug!("e-mail accepted by the SMTP server");
                Ok(())
            }
            Err(e) => {
                tracing::warn!(smtp = %self.settings, "SMTP delivery failed: {e}");
                Err(NotifyError::Failed(format!("SMTP delivery failed: {e}")))
            }
        }
    }
}

fn invalid(reason: impl fmt::Display) -> NotifyError {
    NotifyError::Failed(format!("invalid SMTP URL: {reason}"))
}

fn decode(part: &str) -> Result<String, NotifyError> {
    percent_decode_str(part)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| invalid("user or password is not UTF-8 after percent-decoding"))
}
