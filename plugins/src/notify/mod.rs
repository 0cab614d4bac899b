//! Notifiers: implementations of [`idp_core::notify::Notifier`] — e-mail over SMTP
//! ([`SmtpNotifier`]), SMS through an HTTP webhook ([`SmsWebhook`]), the file outbox
//! ([`FileOutbox`]) used when no gateway is configured, and the [`Router`] that picks one per
//! channel. The server builds the whole thing from its configuration with [`from_config`].
//!
//! # Choosing a notifier
//!
//! | channel | configured (`IDP_SMTP_URL` / `IDP_SMS_WEBHOOK_URL`) | not configured                    |
//! | ------- | --------------------------------------------------- | --------------------------------- |
//! | e-mail  | [`SmtpNotifier`]                                    | [`FileOutbox`] at `$IDP_DATA_DIR/outbox.jsonl` |
//! | SMS     | [`SmsWebhook`]                                      | the same [`FileOutbox`]           |
//!
//! A blank setting (empty or only spaces) counts as not configured.
//!
//! # Outbox format
//!
//! One JSON object per line, appended to `outbox.jsonl` (created with its parent directories,
//! mode 0600 on Unix because it holds one-time codes):
//!
//! ```text
//! {"ts":"2026-11-21T10:00:00.123Z","channel":"email","to":"ann@example.com","subject":"Your code","body":"Your code is 123456"}
//! ```
//!
//! `ts` is RFC 3339 in UTC; `channel` is `"email"` or `"sms"`. Each line is written with a single
//! `write(2)` on a file opened with `O_APPEND`, so lines stay whole with any number of writers in
//! this process (they also queue on a mutex) and in other processes. If the file is removed or
//! rotated, the next message re-creates it.
//!
//! # SMTP URL (`IDP_SMTP_URL`)
//!
//! `scheme://[user[:password]@]host[:port][/]?from=ADDRESS[&tls=MODE][&timeout=SECONDS]`
//!
//! | URL                                                  | transport                      | default port |
//! | ---------------------------------------------------- | ------------------------------ | ------------ |
//! | `smtps://user:pass@mail.example:465?from=idp@example.com` | TLS from the first byte (implicit TLS) | 465 |
//! | `smtp://user:pass@mail.example?from=idp@example.com` | STARTTLS, required (the default for `smtp`) | 587 |
//! | `smtp://…?from=…&tls=starttls` (alias `tls=required`) | STARTTLS, required            | 587          |
//! | `smtp://…?from=…&tls=opportunistic`                  | STARTTLS if offered, else plain text (open to a man in the middle) | 587 |
//! | `smtp://…?from=…&tls=none`                           | plain text — a local relay or tests only | 25   |
//!
//! - `from` (required) is the sender: a bare address or `Name <address>` (percent-encode it:
//!   `from=IdP%20%3Cidp%40example.com%3E`).
//! - `user` and `password` are percent-decoded and used for `AUTH PLAIN`/`AUTH LOGIN`; a user
//!   needs a password. Without them no authentication is attempted.
//! - `timeout` bounds each SMTP conversation, in seconds (default 10).
//! - Certificates are checked against the platform's trust store (rustls with the aws-lc-rs
//!   provider, via rustls-platform-verifier). Unknown query parameters are an error, and no error
//!   message ever repeats the URL (it holds the password).
//!
//! [`SmtpNotifier`] sends [`Channel::Email`] only; given an SMS it answers
//! [`NotifyError::NoChannel`]. Each message uses its own connection (no pool): identity mail is
//! rare, and the notifier can then be built outside a Tokio runtime.
//!
//! # SMS webhook (`IDP_SMS_WEBHOOK_URL`)
//!
//! An `http://` or `https://` URL (use `https` for anything but a local gateway). Each SMS is one
//!
//! ```text
//! POST <url>
//! content-type: application/json
//! authorization: <the configured value, if any>
//!
//! {"to":"+2348012345678","body":"Your code is 123456"}
//! ```
//!
//! Any 2xx answer means delivered. Connection errors, timeouts (5 s per attempt) and 5xx answers
//! are retried: 3 attempts in all, waiting 200 ms and then 400 ms between them (see
//! [`RetryPolicy`]), so a dead gateway fails within about 16 s at worst and at once-ish when the
//! connection is refused. A 4xx (or any other non-2xx) answer fails at once without a retry,
//! and redirects are not followed. [`SmsWebhook`] sends [`Channel::Sms`] only.
//!
//! # Secrets
//!
//! Message bodies carry one-time codes and tokens: nothing here logs a body, and no error built
//! here contains one (nor a recipient, the SMTP password or the webhook's authorization value).
//! Log events carry the channel, the attempt and the outcome.

mod outbox;
mod router;
mod sms;
mod smtp;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

pub use idp_core::notify::{Channel, Message, Notifier, NotifyError};
pub use outbox::FileOutbox;
pub use router::Router;
pub use sms::{RetryPolicy, SmsWebhook};
pub use smtp::{SmtpNotifier, SmtpSettings, SmtpTls};

/// File name of the outbox inside the data directory (`$IDP_DATA_DIR/outbox.jsonl`).
pub const OUTBOX_FILE: &str = "outbox.jsonl";

/// Builds the notifier the server uses: e-mail through SMTP when `smtp_url` is set, SMS through
/// the webhook when `sms_webhook_url` is set (with `sms_auth_header` as the value of its
/// `authorization` header), and the file outbox `data_dir/outbox.jsonl` for whatever is not
/// configured. Blank values count as unset.
///
/// Fails on a malformed URL or header value, or when the outbox cannot be created. Needs no
/// Tokio runtime.
pub fn from_config(
    data_dir: &Path,
    smtp_url: Option<&str>,
    sms_webhook_url: Option<&str>,
    sms_auth_header: Option<&str>,
) -> Result<Arc<dyn Notifier>, NotifyError> {
    let smtp_url = non_blank(smtp_url);
    let sms_webhook_url = non_blank(sms_webhook_url);
    let sms_auth_header = non_blank(sms_auth_header);

    let outbox: Option<Arc<dyn Notifier>> = if smtp_url.is_none() || sms_webhook_url.is_none() {
        Some(Arc::new(FileOutbox::new(data_dir.join(OUTBOX_FILE))?))
    } else {
        None
    };

    let email: Arc<dyn Notifier> = match smtp_url {
        Some(url) => {
            let smtp = SmtpNotifier::from_url(url)?;
            tracing::info!(smtp = %smtp.settings(), "e-mail goes out through SMTP");
            Arc::new(smtp)
        }
        None => {
            tracing::info!(path = %data_dir.join(OUTBOX_FILE).display(), "e-mail goes to the file outbox");
            outbox
                .clone()
                .expect("outbox exists when SMTP is not configured")
        }
    };

    let sms: Arc<dyn Notifier> = match sms_webhook_url {
        Some(url) => {
            let webhook = SmsWebhook::new(url, sms_auth_header)?;
            tracing::info!(
                endpoint = %webhook.endpoint(),
                authorization = sms_auth_header.is_some(),
                "SMS goes out through the webhook"
            );
            Arc::new(webhook)
        }
        None => {
            if sms_auth_header.is_some() {
                tracing::warn!("an SMS authorization header is set without a webhook URL; ignored");
            }
            tracing::info!(path = %data_dir.join(OUTBOX_FILE).display(), "SMS goes to the file outbox");
            outbox.expect("outbox exists when the SMS webhook is not configured")
        }
    };

    Ok(Arc::new(Router::new(email, sms)))
}

fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}
