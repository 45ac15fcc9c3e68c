//! [`Leadership`]: whether this process is the one publishing index prices, and under which
//! fencing epoch. Pure: the shell asks [`Leadership::step`] what to do with the lock, reports
//! the answer back, and numbers what it publishes with [`Leadership::next_seq`].
//!
//! A leader publishes first and renews after, each tick. No check before publishing could make
//! a stale publish impossible (a pause may fall between the check and the send), so correctness
//! rests on the consumers' [`EpochGate`](super::EpochGate); renewing right after bounds the
//! damage to one refused price.

use std::collections::BTreeMap;

use crate::ports::Epoch;

/// What the shell should ask the lock for next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadershipStep {
    Acquire,
    Renew,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leadership {
    ttl_ms: u64,
    /// The epoch held and when the lease was last confirmed (acquired or renewed).
    held: Option<(Epoch, u64)>,
    /// Last seq published per index under the held epoch.
    seqs: BTreeMap<String, u64>,
}

impl Leadership {
    pub fn new(ttl_ms: u64) -> Self {
        Leadership { ttl_ms, held: None, seqs: BTreeMap::new() }
    }

    pub fn epoch(&self) -> Option<Epoch> {
        self.held.map(|(epoch, _)| epoch)
    }

    pub fn is_leader(&self) -> bool {
        self.held.is_some()
    }

    pub fn step(&self) -> LeadershipStep {
        if self.is_leader() { LeadershipStep::Renew } else { LeadershipStep::Acquire }
    }

    /// The lock answered an acquire: `Some(epoch)` when this process now leads.
    pub fn acquired(&mut self, epoch: Option<Epoch>, now_ms: u64) {
        if let Some(epoch) = epoch {
            self.held = Some((epoch, now_ms));
            self.seqs.clear();
        }
    }

    /// The lock answered a renewal: `false` means another process holds it now.
    pub fn renewed(&mut self, still_held: bool, now_ms: u64) {
        match (still_held, self.held.as_mut()) {
            (true, Some((_, confirmed_ms))) => *confirmed_ms = now_ms,
            (false, _) => self.step_down(),
            (true, None) => {}
        }
    }

    /// The lock could not be reached. Past the lease's ttl since the last confirmation another
    /// process may have taken over, so this one stops leading.
    pub fn lock_unreachable(&mut self, now_ms: u64) {
        if let Some((_, confirmed_ms)) = self.held
            && now_ms.saturating_sub(confirmed_ms) >= self.ttl_ms
        {
            self.step_down();
        }
    }

    /// The (epoch, seq) of the next price of `index`, `None` when not leading.
    pub fn next_seq(&mut self, index: &str) -> Option<(Epoch, u64)> {
        let (epoch, _) = self.held?;
        let seq = self.seqs.entry(index.to_owned()).or_insert(0);
        *seq += 1;
        Some((epoch, *seq))
    }

    fn step_down(&mut self) {
        self.held = None;
        self.seqs.clear();
    }
}
