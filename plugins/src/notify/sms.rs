//! SMS through an HTTP webhook: `POST {"to","body"}` with retries. The request format is in the
//! [module docs](super).

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use idp_core::notify::{Channel, Message, Notifier, NotifyError};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Client, StatusCode, Url};

/// How hard [`SmsWebhook`] tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (at least 1).
    pub attempts: u32,
    /// Wait before the second attempt; doubled before each further one.
    pub initial_backoff: Duration,
    /// Bound on one attempt (connect, send, response head).
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, 200 ms then 400 ms apart, 5 s each.
    fn default() -> Self {
        Self {
            attempts: 3,
            initial_backoff: Duration::from_millis(200),
            timeout: Duration::from_secs(5),
        }
    }
}

/// Sends [`Channel::Sms`] messages as `POST {"to","body"}` to a gateway URL; answers
/// [`NotifyError::NoChannel`] for anything else.
pub struct SmsWebhook {
    client: Client,
    url: Url,
    authorization: Option<HeaderValue>,
    policy: RetryPolicy,
}

impl SmsWebhook {
    /// A webhook at `url` (http or https) with the default [`RetryPolicy`]; `authorization`, if
    /// given, is sent as the value of the `authorization` header (e.g. `Bearer …`). Needs no
    /// Tokio runtime and does not connect yet.
    pub fn new(url: &str, authorization: Option<&str>) -> Result<Self, NotifyError> {
        Self::with_policy(url, authorization, RetryPolicy::default())
    }

    pub fn with_policy(
        url: &str,
        authorization: Option<&str>,
        policy: RetryPolicy,
    ) -> Result<Self, NotifyError> {
        let url = Url::parse(url).map_err(|e| invalid(format!("not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("no host"));
        }
        let authorization = authorization
            .map(|value| {
                let mut value = HeaderValue::from_str(value).map_err(|_| {
                    NotifyError::Failed(
                        "invalid SMS authorization header value (control characters?)".into(),
                    )
                })?;
                value.set_sensitive(true);
                Ok::<_, NotifyError>(value)
            })
            .transpose()?;
        let policy = RetryPolicy {
            attempts: policy.attempts.max(1),
            ..policy
        };
        let client = Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("idp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NotifyError::Failed(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            url,
            authorization,
            policy,
        })
    }

    /// Scheme, host and port of the gateway — for logs (no path, query or credentials).
    pub fn endpoint(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port_or_known_default() {
            Some(port) => format!("{}://{host}:{port}", self.url.scheme()),
            None => format!("{}://{host}", self.url.scheme()),
        }
    }

    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    async fn attempt(&self, payload: &serde_json::Value) -> Outcome {
        let mut request = self.client.post(self.url.clone()).json(payload);
        if let Some(value) = &self.authorization {
            request = request.header(AUTHORIZATION, value.clone());
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    Outcome::Delivered
                } else if status.is_server_error() {
                    Outcome::Retry(format!("gateway answered {status}"))
                } else {
                    Outcome::Refused(status)
                }
            }
            Err(e) => Outcome::Retry(describe(e)),
        }
    }
}

impl fmt::Debug for SmsWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsWebhook")
            .field("endpoint", &self.endpoint())
            .field("authorization", &self.authorization.is_some())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

enum Outcome {
    Delivered,
    /// Connection error, timeout or 5xx.
    Retry(String),
    /// Any other non-2xx answer: retrying would not help.
    Refused(StatusCode),
}

#[async_trait]
impl Notifier for SmsWebhook {
    async fn send(&self, message: &Message) -> Result<(), NotifyError> {
        if message.channel != Channel::Sms {
            return Err(NotifyError::NoChannel(message.channel));
        }
        let payload = serde_json::json!({ "to": message.to, "body": message.body });
        let mut backoff = self.policy.initial_backoff;
        let mut last_error = String::new();
        for attempt in 1..=self.policy.attempts {
            match self.attempt(&payload).await {
                Outcome::Delivered => {
                    tracing::debug!(attempt, "SMS accepted by the gateway");
                    return Ok(());
                }
                Outcome::Refused(status) => {
                    tracing::warn!(attempt, %status, endpoint = %self.endpoint(), "SMS gateway refused the message");
                    return Err(NotifyError::Failed(format!(
                        "SMS gateway refused the message: {status}"
                    )));
                }
                Outcome::Retry(error) => {
                    if attempt < self.policy.attempts {
                        tracing::warn!(
                            attempt,
                            endpoint = %self.endpoint(),
                            retry_in_ms = backoff.as_millis() as u64,
                            "SMS delivery failed: {error}; retrying"
                        );
                        tokio::time::sleep(backoff).await;
                        backoff = backoff.saturating_mul(2);
                    } else {
                        tracing::warn!(attempt, endpoint = %self.endpoint(), "SMS delivery failed: {error}; giving up");
                    }
                    last_error = error;
                }
            }
        }
        Err(NotifyError::Failed(format!(
            "SMS delivery failed after {} attempts: {last_error}",
            self.policy.attempts
        )))
    }
}

fn invalid(reason: impl fmt::Display) -> NotifyError {
    NotifyError::Failed(format!("invalid SMS webhook URL: {reason}"))
}

/// A transport error as text, without the URL (it may carry a key in its query).
fn describe(error: reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let error = error.without_url();
    let mut text = what.to_owned();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
