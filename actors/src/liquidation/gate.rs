//! [`LiquidationGate`], pure: whether a round of marks may start a liquidation review. Never
//! on a stale index: while any perpetual's index is stale every review pauses (an account's
//! cross margin depends on all its positions' marks, so one stale mark makes every margin
//! doubtful) and the gate names the stale symbols for the alert metric. Otherwise a review
//! runs when a mark changed, or while the last review still had work (accounts LIQUIDATING
//! wait for their deadline even when marks stand still); one review at a time.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Price, SymbolCode};

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
        if self.reviewing || !(self.dirty || self.work_left) {
            return GateDecision::Idle;
        }
        self.dirty = false;
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
    }
}
