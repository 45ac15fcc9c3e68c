//! [`LiquidationGate`], pure: whether a round of marks may start a liquidation review. Never
//! on a stale index: while any perpetual's index is stale every review pauses (an account's
//! cross margin depends on all its positions' marks, so one stale mark makes every margin
//! doubtful) and the gate names the stale symbols for the alert metric. Otherwise a review
//! runs when a mark changed, while the last review still had work (accounts LIQUIDATING wait
//! for their deadline even when marks stand still), and at least every
//! [`IDLE_ROUNDS_MAX`] rounds (funding or fees can take an account under at a standing mark);
//! one review at a time.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Price, SymbolCode};

/// Rounds of marks without a review at most (4 s at the default 250 ms mark interval).
pub const IDLE_ROUNDS_MAX: u32 = 16;

/// What to do with one round of marks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GateDecision {
    Review,
    /// These perpetuals' indexes are stale: no review.
    Paused(BTreeSet<SymbolCode>),
    /// Nothing changed and nothing is in progress, or a review is still running.
    Idle,
}

#[derive(Debug, Default)]
pub struct LiquidationGate {
    marks: BTreeMap<SymbolCode, Price>,
    stale: BTreeSet<SymbolCode>,
    reviewing: bool,
    /// A mark changed since the last review started (while paused too).
    dirty: bool,
    /// The last review asked for steps (someone is LIQUIDATING).
    work_left: bool,
    /// Fresh rounds since the last review started.
    idle_rounds: u32,
}

impl LiquidationGate {
    /// A round of marks: the fresh ones, and the perpetuals whose index is stale.
    pub fn on_marks(
        &mut self,
        marks: &[(SymbolCode, Price)],
        stale: BTreeSet<SymbolCode>,
    ) -> GateDecision {
        for (symbol, mark) in marks {
            self.dirty |= self.marks.insert(*symbol, *mark) != Some(*mark);
        }
        self.stale = stale;
        if !self.stale.is_empty() {
            return GateDecision::Paused(self.stale.clone());
        }
        self.idle_rounds = self.idle_rounds.saturating_add(1);
        let due = self.dirty || self.work_left || self.idle_rounds >= IDLE_ROUNDS_MAX;
        if self.reviewing || !due {
            return GateDecision::Idle;
        }
        self.dirty = false;
        self.idle_rounds = 0;
        self.reviewing = true;
        GateDecision::Review
    }

    /// The review finished; `work_left` when it asked for any step.
    pub fn review_done(&mut self, work_left: bool) {
        self.reviewing = false;
        self.work_left = work_left;
    }

    pub fn stale(&self) -> &BTreeSet<SymbolCode> {
        &self.stale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perp() -> SymbolCode {
        SymbolCode::new("BTCUSDT_PERP").unwrap()
    }

    #[test]
    fn reviews_on_changed_marks_and_pending_work_never_on_a_stale_index() {
        let mut gate = LiquidationGate::default();
        let marks = [(perp(), Price(10_000))];
        assert_eq!(gate.on_marks(&marks, BTreeSet::new()), GateDecision::Review);
        assert_eq!(gate.on_marks(&marks, BTreeSet::new()), GateDecision::Idle, "one at a time");
        gate.review_done(false);
        assert_eq!(gate.on_marks(&marks, BTreeSet::new()), GateDecision::Idle, "nothing changed");
        let fallen = [(perp(), Price(9_000))];
        let stale = BTreeSet::from([perp()]);
        assert_eq!(gate.on_marks(&fallen, stale.clone()), GateDecision::Paused(stale.clone()));
        assert_eq!(gate.stale(), &stale);
        // Fresh again: the fall seen while paused still counts as a change.
        assert_eq!(gate.on_marks(&fallen, BTreeSet::new()), GateDecision::Review);
        assert_eq!(gate.on_marks(&fallen, BTreeSet::new()), GateDecision::Idle);
        gate.review_done(true);
        assert_eq!(gate.on_marks(&fallen, BTreeSet::new()), GateDecision::Review, "work left");
        gate.review_done(false);
        // Standing marks, nothing left: one review every IDLE_ROUNDS_MAX rounds.
        let decisions: Vec<GateDecision> =
            (0..IDLE_ROUNDS_MAX).map(|_| gate.on_marks(&fallen, BTreeSet::new())).collect();
        assert!(decisions[..decisions.len() - 1].iter().all(|d| *d == GateDecision::Idle));
        assert_eq!(decisions.last(), Some(&GateDecision::Review));
    }
}
