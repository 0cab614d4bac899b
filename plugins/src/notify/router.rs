//! The notifier that hands each message to the notifier of its channel.

use std::sync::Arc;

use async_trait::async_trait;
use idp_core::notify::{Channel, Message, Notifier, NotifyError};

/// Sends [`Channel::Email`] through one notifier and [`Channel::Sms`] through another (they may
/// be the same, e.g. one [`super::FileOutbox`] for both).
#[derive(Clone)]
pub struct Router {
    email: Arc<dyn Notifier>,
    sms: Arc<dyn Notifier>,
}

impl Router {
    pub fn new(email: Arc<dyn Notifier>, sms: Arc<dyn Notifier>) -> Self {
        Self { email, sms }
    }

    fn for_channel(&self, channel: Channel) -> &dyn Notifier {
        match channel {
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
        }
    }
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router").finish_non_exhaustive()
    }
}

#[async_trait]
impl Notifier for Router {
    async fn send(&self, message: &Message) -> Result<(), NotifyError> {
        self.for_channel(message.channel).send(message).await
    }
}
