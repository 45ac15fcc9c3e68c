//! [`UserDataHub`]: the per-account fan-out of the user data stream. Account shards publish
//! each committed batch ([`UserFeed`]); the hub hands every subscribed session of an account
//! that account's part with `try_send` into the session's bounded mailbox. It never waits: a
//! session whose mailbox is full is removed and told so ([`UserPush::Evicted`]; it closes with
//! a close code, the client reconnects and queries state), so a slow reader can never hold up
//! a shard or another session.
//!
//! Ordering: one shard publishes its batches in commit order from one task, and an account
//! lives on one shard, so each session gets its account's updates in the shard's order.
//! Limits: at most [`USER_STREAMS_PER_ACCOUNT_MAX`] sessions per account. Cost: one map lookup
//! per account in a batch, under a mutex held only for the sends (never across an await).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use actix::prelude::*;

use super::hub::SessionId;
use crate::account::{AccountUpdate, UserBatch};
use crate::model::AccountId;
use crate::ports::UserFeed;

/// Sessions one account may have subscribed to its user data at once.
pub const USER_STREAMS_PER_ACCOUNT_MAX: usize = 64;

/// To a subscribed session.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub enum UserPush {
    /// One committed batch's part for the session's account, stamped with the commit time.
    Update(Arc<AccountUpdate>, u64),
    /// Removed from the hub: its mailbox was full, an update is lost, the session must close.
    Evicted,
}

/// Why a subscription was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    #[error("too many user data streams for this account: at most {USER_STREAMS_PER_ACCOUNT_MAX}")]
    TooMany,
}

type Subscribers = BTreeMap<AccountId, Vec<(SessionId, Recipient<UserPush>)>>;

/// Subscribed sessions by account (cheap to share: `Arc<UserDataHub>`).
#[derive(Debug, Default)]
pub struct UserDataHub {
    subscribers: Mutex<Subscribers>,
}

impl UserDataHub {
    pub fn new() -> Arc<UserDataHub> {
        Arc::new(UserDataHub::default())
    }

    fn lock(&self) -> MutexGuard<'_, Subscribers> {
        // A panic while holding the lock leaves the map consistent (every edit is one call).
        self.subscribers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Subscribes `session` to `account`'s updates; subscribing again changes nothing.
    pub fn subscribe(
        &self,
        account: AccountId,
        session: SessionId,
        recipient: Recipient<UserPush>,
    ) -> Result<(), SubscribeError> {
        let mut subscribers = self.lock();
        let sessions = subscribers.entry(account).or_default();
        if sessions.iter().any(|(id, _)| *id == session) {
            return Ok(());
        }
        if sessions.len() >= USER_STREAMS_PER_ACCOUNT_MAX {
            return Err(SubscribeError::TooMany);
        }
        sessions.push((session, recipient));
        metrics::gauge!("exchange_ws_user_streams").increment(1.0);
        Ok(())
    }

    /// Removes `session` from `account`'s subscribers (a stopped session calls this).
    pub fn unsubscribe(&self, account: AccountId, session: SessionId) {
        let mut subscribers = self.lock();
        Self::remove(&mut subscribers, account, session);
    }

    fn remove(subscribers: &mut Subscribers, account: AccountId, session: SessionId) {
        let Some(sessions) = subscribers.get_mut(&account) else { return };
        let before = sessions.len();
        sessions.retain(|(id, _)| *id != session);
        if sessions.len() < before {
            metrics::gauge!("exchange_ws_user_streams").decrement(1.0);
        }
        if sessions.is_empty() {
            subscribers.remove(&account);
        }
    }

    /// Sessions subscribed, over all accounts.
    pub fn stream_count(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }
}

impl UserFeed for UserDataHub {
    fn listening(&self) -> bool {
        !self.lock().is_empty()
    }

    fn publish(&self, batch: UserBatch) {
        let mut subscribers = self.lock();
        let mut evicted = Vec::new();
        for update in batch.accounts {
            let Some(sessions) = subscribers.get(&update.account_id) else { continue };
            let update = Arc::new(update);
            for (session, recipient) in sessions {
                match recipient.try_send(UserPush::Update(update.clone(), batch.ts_ns)) {
                    Ok(()) => {}
                    Err(SendError::Full(_)) => {
                        metrics::counter!("exchange_ws_dropped_messages_total", "reason" => "user_overflow")
                            .increment(1);
                        // One message to a session being dropped; it must arrive even though
                        // the mailbox is full (do_send ignores the bound, by design here).
                        recipient.do_send(UserPush::Evicted);
                        evicted.push((update.account_id, *session));
                    }
                    Err(SendError::Closed(_)) => evicted.push((update.account_id, *session)),
                }
            }
        }
        for (account, session) in evicted {
            Self::remove(&mut subscribers, account, session);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keeps what it is pushed; its mailbox holds at most two messages.
    #[derive(Default)]
    struct Recorder {
        pushed: Vec<Option<u64>>,
    }

    impl Actor for Recorder {
        type Context = Context<Self>;
    }

    impl Handler<UserPush> for Recorder {
        type Result = ();

        fn handle(&mut self, push: UserPush, _ctx: &mut Self::Context) {
            self.pushed.push(match push {
                UserPush::Update(_, ts_ns) => Some(ts_ns),
                UserPush::Evicted => None,
            });
        }
    }

    #[derive(Message)]
    #[rtype(result = "Vec<Option<u64>>")]
    struct Pushed;

    impl Handler<Pushed> for Recorder {
        type Result = MessageResult<Pushed>;

        fn handle(&mut self, _query: Pushed, _ctx: &mut Self::Context) -> Self::Result {
            MessageResult(self.pushed.clone())
        }
    }

    fn batch(account: AccountId, ts_ns: u64) -> UserBatch {
        let update = AccountUpdate { account_id: account, ..AccountUpdate::default() };
        UserBatch { accounts: vec![update], ts_ns }
    }

    #[test]
    fn updates_arrive_in_order_and_a_full_session_is_evicted_without_waiting() {
        actix::System::new().block_on(async {
            let hub = UserDataHub::new();
            let (alice, bob) = (AccountId(1), AccountId(2));
            let slow = Recorder::create(|ctx| {
                ctx.set_mailbox_capacity(2);
                Recorder::default()
            });
            let other = Recorder::create(|ctx| {
                ctx.set_mailbox_capacity(64);
                Recorder::default()
            });
            hub.subscribe(alice, 1, slow.clone().recipient()).unwrap();
            hub.subscribe(alice, 1, slow.clone().recipient()).unwrap();
            hub.subscribe(alice, 2, other.clone().recipient()).unwrap();
            assert_eq!(hub.stream_count(), 2, "subscribing twice changes nothing");
            // Published back to back: the recorders cannot read in between.
            for ts_ns in 1..=10 {
                hub.publish(batch(alice, ts_ns));
                hub.publish(batch(bob, 100 + ts_ns));
            }
            assert_eq!(hub.stream_count(), 1, "the full session left the hub");
            let slow = slow.send(Pushed).await.unwrap();
            let (evicted, delivered) = slow.split_last().unwrap();
            assert_eq!(*evicted, None, "told it was evicted, last");
            assert!(!delivered.is_empty() && delivered.len() < 10, "{slow:?}");
            let expected: Vec<Option<u64>> = (1..=delivered.len() as u64).map(Some).collect();
            assert_eq!(delivered, expected, "a prefix, in order");
            let other = other.send(Pushed).await.unwrap();
            assert_eq!(other, (1..=10).map(Some).collect::<Vec<_>>(), "only alice's, all of them");
            hub.unsubscribe(alice, 2);
            hub.unsubscribe(alice, 2);
            assert_eq!(hub.stream_count(), 0);
        });
    }

    #[test]
    fn an_account_has_a_bounded_number_of_streams() {
        actix::System::new().block_on(async {
            let hub = UserDataHub::new();
            let recorder = Recorder::create(|_ctx| Recorder::default());
            for session in 0..USER_STREAMS_PER_ACCOUNT_MAX as u64 {
                hub.subscribe(AccountId(1), session, recorder.clone().recipient()).unwrap();
            }
            let refused = hub.subscribe(AccountId(1), 999, recorder.recipient());
            assert_eq!(refused, Err(SubscribeError::TooMany));
            assert_eq!(hub.stream_count(), USER_STREAMS_PER_ACCOUNT_MAX);
        });
    }
}
