//! [`Countdowns`]: the armed deadlines of every dead man's switch, by key and by time.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{AccountId, SymbolCode};

/// The shortest countdown a client may arm, in ms. Shorter would cancel on ordinary network
/// jitter; 1 s is also the timer's resolution budget (the shell ticks far more often).
pub const COUNTDOWN_MS_MIN: u64 = 1_000;
/// The longest countdown a client may arm, in ms (10 minutes).
pub const COUNTDOWN_MS_MAX: u64 = 600_000;
/// Armed countdowns one account may hold at once: its all-symbols switch and one per symbol.
pub const COUNTDOWNS_PER_ACCOUNT_MAX: usize = 64;
/// Armed countdowns the whole table may hold at once.
pub const COUNTDOWNS_MAX: usize = 100_000;

const _: () = assert!(COUNTDOWN_MS_MIN > 0 && COUNTDOWN_MS_MIN < COUNTDOWN_MS_MAX);
const _: () = assert!(COUNTDOWNS_PER_ACCOUNT_MAX <= COUNTDOWNS_MAX);

/// What one countdown guards: an account's orders in one symbol, or in all its symbols
/// (`symbol: None`). The two are independent: arming one neither refreshes nor disarms the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountdownKey {
    pub account_id: AccountId,
    pub symbol: Option<SymbolCode>,
}

/// Why a countdown was not armed; the table is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CountdownError {
    #[error(
        "countdownTime {countdown_ms} is neither 0 (disarm) nor in {min}..={max} ms",
        min = COUNTDOWN_MS_MIN,
        max = COUNTDOWN_MS_MAX
    )]
    OutOfRange { countdown_ms: u64 },
    #[error(
        "account {} already has {max} armed countdowns",
        .account_id.0,
        max = COUNTDOWNS_PER_ACCOUNT_MAX
    )]
    AccountFull { account_id: AccountId },
    #[error("{max} countdowns are armed, the most the exchange holds", max = COUNTDOWNS_MAX)]
    TableFull,
}

/// The armed countdowns. Pure: time comes in as an argument (ms on any monotonic or wall
/// scale, the same for every call).
///
/// Not persisted, on purpose: a refresh is high-frequency traffic (a market maker re-arms
/// every second or so, per symbol) and journaling each one would cost a durable write per
/// refresh for a value that is stale seconds later. After a restart every switch is disarmed;
/// a live client re-arms it with its next refresh, so only a client that dies during the
/// restart itself loses the guarantee (documented in the README).
#[derive(Clone, Debug, Default)]
pub struct Countdowns {
    /// Key -> deadline (ms).
    deadlines: BTreeMap<CountdownKey, u64>,
    /// (deadline, key) for every entry of `deadlines`: the expiry order.
    by_deadline: BTreeSet<(u64, CountdownKey)>,
}

impl Countdowns {
    pub fn new() -> Countdowns {
        Countdowns::default()
    }

    /// Arms (or re-arms: refreshes) `key` to run out `countdown_ms` after `now_ms`, or disarms
    /// it when `countdown_ms` is 0. Returns the deadline, `None` when disarmed (disarming a
    /// key that is not armed is not an error). A refresh of an armed key is never refused for
    /// the bounds; a new key is when its account or the table is full.
    pub fn set(
        &mut self,
        key: CountdownKey,
        countdown_ms: u64,
        now_ms: u64,
    ) -> Result<Option<u64>, CountdownError> {
        if countdown_ms == 0 {
            self.disarm(key);
            return Ok(None);
        }
        if !(COUNTDOWN_MS_MIN..=COUNTDOWN_MS_MAX).contains(&countdown_ms) {
            return Err(CountdownError::OutOfRange { countdown_ms });
        }
        if !self.deadlines.contains_key(&key) {
            if self.deadlines.len() >= COUNTDOWNS_MAX {
                return Err(CountdownError::TableFull);
            }
            if self.armed_of(key.account_id) >= COUNTDOWNS_PER_ACCOUNT_MAX {
                return Err(CountdownError::AccountFull { account_id: key.account_id });
            }
        }
        let deadline_ms = now_ms.saturating_add(countdown_ms);
        if let Some(previous_ms) = self.deadlines.insert(key, deadline_ms) {
            let removed = self.by_deadline.remove(&(previous_ms, key));
            debug_assert!(removed, "every deadline is indexed by time");
        }
        self.by_deadline.insert((deadline_ms, key));
        self.check();
        Ok(Some(deadline_ms))
    }

    /// Disarms `key`; whether it was armed.
    pub fn disarm(&mut self, key: CountdownKey) -> bool {
        let Some(deadline_ms) = self.deadlines.remove(&key) else { return false };
        let removed = self.by_deadline.remove(&(deadline_ms, key));
        debug_assert!(removed, "every deadline is indexed by time");
        self.check();
        true
    }

    /// Removes and returns every key whose deadline is at or before `now_ms`, earliest
    /// deadline first (ties by key): the orders these keys guard are to be canceled.
    pub fn expire(&mut self, now_ms: u64) -> Vec<CountdownKey> {
        let mut expired = Vec::new();
        while let Some(&(deadline_ms, key)) = self.by_deadline.first() {
            if deadline_ms > now_ms {
                break;
            }
            self.by_deadline.pop_first();
            let removed = self.deadlines.remove(&key);
            debug_assert_eq!(removed, Some(deadline_ms));
            expired.push(key);
        }
        self.check();
        expired
    }

    /// The earliest armed deadline (ms), if any.
    pub fn next_deadline_ms(&self) -> Option<u64> {
        self.by_deadline.first().map(|(deadline_ms, _)| *deadline_ms)
    }

    /// The deadline of `key`, if armed.
    pub fn deadline_ms(&self, key: CountdownKey) -> Option<u64> {
        self.deadlines.get(&key).copied()
    }

    /// How many countdowns are armed.
    pub fn armed(&self) -> usize {
        self.deadlines.len()
    }

    /// How many countdowns `account_id` has armed (at most [`COUNTDOWNS_PER_ACCOUNT_MAX`]).
    pub fn armed_of(&self, account_id: AccountId) -> usize {
        let first = CountdownKey { account_id, symbol: None };
        self.deadlines.range(first..).take_while(|(key, _)| key.account_id == account_id).count()
    }

    fn check(&self) {
        debug_assert_eq!(self.deadlines.len(), self.by_deadline.len());
        debug_assert!(self.deadlines.len() <= COUNTDOWNS_MAX);
    }
}
