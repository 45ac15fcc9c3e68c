//! One connection and channel to the broker, opened within a bounded time. Nothing here
//! recovers: a failed link is dropped and the owner opens a new one after a [`Backoff`]
//! pause, declaring its topology again (the broker may have lost a non-durable object, and a
//! restarted broker is a fresh session).
//!
//! [`Backoff`]: super::backoff::Backoff

use std::time::Duration;

use lapin::{Channel, Connection, ConnectionProperties};

/// Connecting and opening the channel together take at most this.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("AMQP: {0}")]
    Amqp(#[from] lapin::Error),
    #[error("no answer from the broker within {0:?}")]
    Timeout(Duration),
    #[error("the broker refused {count} published message(s) (nack)")]
    Nacked { count: usize },
    #[error("the consumer's delivery stream ended")]
    DeliveriesEnded,
    #[error("nothing delivered while the queue holds {ready_messages} ready message(s)")]
    Stalled { ready_messages: u32 },
}

#[derive(Debug)]
pub struct Link {
    /// Kept so the channel's connection stays open as long as the link.
    pub connection: Connection,
    pub channel: Channel,
}

impl Link {
    pub async fn open(url: &str) -> Result<Link, LinkError> {
        let opening = async {
            let connection = Connection::connect(url, ConnectionProperties::default()).await?;
            let channel = connection.create_channel().await?;
            Ok::<Link, LinkError>(Link { connection, channel })
        };
        within(CONNECT_TIMEOUT, opening).await?
    }

    /// Closes politely (best effort: the broker may already be gone).
    pub async fn close(self) {
        let closing = self.connection.close(200, "closing".into());
        let _unreachable_broker = tokio::time::timeout(CONNECT_TIMEOUT, closing).await;
    }
}

/// `future`'s output, or [`LinkError::Timeout`] after `limit`.
pub async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> Result<T, LinkError> {
    tokio::time::timeout(limit, future).await.map_err(|_| LinkError::Timeout(limit))
}
