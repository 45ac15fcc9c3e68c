//! The embedded default's lease and price channel: one process, so a mutex is the lock and a
//! list of bounded channels is the fan-out. Same semantics as the Redis pair: one holder, a
//! new epoch per acquisition, a lease that lapses when not renewed, latest-wins delivery.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use exchange_actors::index::PublishedIndex;
use exchange_actors::ports::{Epoch, IndexFeed, LeaderLock, LockError, PortFuture};
use tokio::sync::mpsc;

/// Prices a subscriber may have unread before newer ones are dropped for it.
pub const SUBSCRIBER_QUEUE: usize = 256;

#[derive(Debug, Default)]
struct Lease {
    holder: Option<(String, Instant)>,
    epoch: u64,
}

#[derive(Debug, Default)]
pub struct InProcessLock {
    lease: Mutex<Lease>,
}

impl InProcessLock {
    pub fn new() -> Arc<InProcessLock> {
        Arc::new(InProcessLock::default())
    }

    fn with_lease<T>(&self, apply: impl FnOnce(&mut Lease, Instant) -> T) -> T {
        let mut lease = self.lease.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        apply(&mut lease, Instant::now())
    }
}

impl LeaderLock for InProcessLock {
    fn try_acquire(
        &self,
        holder: String,
        ttl_ms: u64,
    ) -> PortFuture<Result<Option<Epoch>, LockError>> {
        let acquired = self.with_lease(|lease, now| {
            if lease.holder.as_ref().is_some_and(|(_, expires_at)| *expires_at > now) {
                return None;
            }
            lease.holder = Some((holder, now + Duration::from_millis(ttl_ms)));
            lease.epoch += 1;
            Some(Epoch(lease.epoch))
        });
        Box::pin(async move { Ok(acquired) })
    }

    fn renew(&self, holder: String, ttl_ms: u64) -> PortFuture<Result<bool, LockError>> {
        let renewed = self.with_lease(|lease, now| match lease.holder.as_mut() {
            Some((current, expires_at)) if *current == holder && *expires_at > now => {
                *expires_at = now + Duration::from_millis(ttl_ms);
                true
            }
            _ => false,
        });
        Box::pin(async move { Ok(renewed) })
    }

    fn release(&self, holder: String) -> PortFuture<Result<(), LockError>> {
        self.with_lease(|lease, _| {
            if lease.holder.as_ref().is_some_and(|(current, _)| *current == holder) {
                lease.holder = None;
            }
        });
        Box::pin(async { Ok(()) })
    }
}

#[derive(Debug, Default)]
pub struct InProcessIndexFeed {
    subscribers: Mutex<Vec<mpsc::Sender<PublishedIndex>>>,
}

impl InProcessIndexFeed {
    pub fn new() -> Arc<InProcessIndexFeed> {
        Arc::new(InProcessIndexFeed::default())
    }
}

impl IndexFeed for InProcessIndexFeed {
    fn publish(&self, price: PublishedIndex) {
        let mut subscribers =
            self.subscribers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        subscribers.retain(|subscriber| !subscriber.is_closed());
        for subscriber in subscribers.iter() {
            // A full subscriber misses this price; the next one replaces it anyway.
            let _ = subscriber.try_send(price.clone());
        }
    }

    fn subscribe(&self) -> mpsc::Receiver<PublishedIndex> {
        let (sender, receiver) = mpsc::channel(SUBSCRIBER_QUEUE);
        self.subscribers.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(sender);
        receiver
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_at_a_time_and_a_new_epoch_each_time() {
        let lock = InProcessLock::new();
        assert_eq!(lock.try_acquire("a".into(), 60_000).await, Ok(Some(Epoch(1))));
        assert_eq!(lock.try_acquire("b".into(), 60_000).await, Ok(None));
        assert_eq!(lock.renew("b".into(), 60_000).await, Ok(false));
        assert_eq!(lock.renew("a".into(), 60_000).await, Ok(true));
        lock.release("b".into()).await.unwrap();
        assert_eq!(lock.try_acquire("b".into(), 60_000).await, Ok(None), "b held nothing");
        lock.release("a".into()).await.unwrap();
        assert_eq!(lock.try_acquire("b".into(), 60_000).await, Ok(Some(Epoch(2))));
    }

    #[tokio::test]
    async fn an_unrenewed_lease_lapses() {
        let lock = InProcessLock::new();
        assert_eq!(lock.try_acquire("a".into(), 20).await, Ok(Some(Epoch(1))));
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(lock.renew("a".into(), 20).await, Ok(false));
        assert_eq!(lock.try_acquire("b".into(), 20).await, Ok(Some(Epoch(2))));
    }
}
