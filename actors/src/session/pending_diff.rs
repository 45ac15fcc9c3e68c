//! [`PendingDiff`]: one diff-depth stream's changes gathered between two emits, pure. Binance
//! sends `<symbol>@depth` every 1000 ms and `@depth@100ms` every 100 ms; each frame merges the
//! level changes since the previous one (the latest quantity per price, 0 = removed) with `U`
//! = the first event seq it covers and `u` = the last, so consecutive frames still chain
//! (`U` = previous `u` + 1) and a client that syncs by snapshot + diffs works unchanged.
//!
//! A diff that does not continue the gathered range (a bus gap, already a `U` jump in the
//! [`DepthDiff`]s of [`super::DiffCursor`]) is never merged across: the gathered part is handed
//! back to be sent at once, so the gap reaches clients as a `U` jump, as before. So is a
//! gathered diff that reached [`PENDING_LEVELS_MAX`] levels (a bound on one frame's size).
//! Cost: O(log L) per level change, O(L) per emit, L = levels changed since the last emit.

use std::collections::BTreeMap;

use super::diff::DepthDiff;
use crate::model::{Price, Qty};

/// Levels (both sides) one frame carries at most; a diff that reaches it is sent at once
/// (Binance's REST depth goes to 5,000 levels a side).
pub const PENDING_LEVELS_MAX: usize = 10_000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingDiff {
    /// `(U, u)` of what is gathered; `None` when nothing changed since the last emit.
    seqs: Option<(u64, u64)>,
    bids: BTreeMap<Price, Qty>,
    asks: BTreeMap<Price, Qty>,
}

impl PendingDiff {
    /// Merges `diff` (its levels win over older ones at the same price). Returns a diff to
    /// send now, before anything gathered later: what was gathered before a `U` jump, or the
    /// whole gathered diff once it holds [`PENDING_LEVELS_MAX`] levels.
    pub fn merge(&mut self, diff: &DepthDiff, now_ns: u64) -> Option<DepthDiff> {
        debug_assert!(diff.first_seq <= diff.last_seq);
        let mut send_now = None;
        match self.seqs {
            Some((_, last)) if diff.last_seq <= last => return None, // Already merged.
            Some((_, last)) if diff.first_seq != last + 1 => send_now = self.take(now_ns),
            _ => {}
        }
        let first = self.seqs.map_or(diff.first_seq, |(first, _)| first);
        self.seqs = Some((first, diff.last_seq));
        self.bids.extend(diff.bids.iter().copied());
        self.asks.extend(diff.asks.iter().copied());
        if send_now.is_none() && self.bids.len() + self.asks.len() >= PENDING_LEVELS_MAX {
            send_now = self.take(now_ns);
        }
        send_now
    }

    /// The gathered diff with event time `now_ns` (Binance's `E` is when the frame is made),
    /// leaving this empty; `None` when nothing changed since the last take.
    pub fn take(&mut self, now_ns: u64) -> Option<DepthDiff> {
        let (first_seq, last_seq) = self.seqs.take()?;
        Some(DepthDiff {
            first_seq,
            last_seq,
            ts_ns: now_ns,
            bids: std::mem::take(&mut self.bids).into_iter().rev().collect(),
            asks: std::mem::take(&mut self.asks).into_iter().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn diff(first_seq: u64, last_seq: u64, bids: &[(i64, u64)], asks: &[(i64, u64)]) -> DepthDiff {
        let side = |levels: &[(i64, u64)]| {
            levels.iter().map(|&(price, qty)| (Price(price), Qty(qty))).collect::<Vec<_>>()
        };
        DepthDiff { first_seq, last_seq, ts_ns: last_seq, bids: side(bids), asks: side(asks) }
    }

    #[test]
    fn nothing_changed_gives_no_frame() {
        assert_eq!(PendingDiff::default().take(7), None);
    }

    #[test]
    fn diffs_merge_into_one_frame_with_the_latest_quantity_per_price_and_the_emit_time() {
        let mut pending = PendingDiff::default();
        assert_eq!(pending.merge(&diff(5, 6, &[(100, 1), (99, 2)], &[(101, 4)]), 10), None);
        assert_eq!(pending.merge(&diff(7, 9, &[(100, 3)], &[(102, 1), (101, 0)]), 20), None);
        let merged = pending.take(30).unwrap();
        let expected = diff(5, 9, &[(100, 3), (99, 2)], &[(101, 0), (102, 1)]);
        assert_eq!(merged, DepthDiff { ts_ns: 30, ..expected });
        assert_eq!(pending.take(40), None, "taken: nothing left");
    }

    #[test]
    fn frames_chain_from_one_take_to_the_next() {
        let mut pending = PendingDiff::default();
        pending.merge(&diff(1, 3, &[(100, 1)], &[]), 0);
        let first = pending.take(1).unwrap();
        pending.merge(&diff(4, 4, &[], &[(101, 1)]), 2);
        pending.merge(&diff(5, 8, &[], &[(101, 2)]), 3);
        let second = pending.take(4).unwrap();
        assert_eq!((first.first_seq, first.last_seq), (1, 3));
        assert_eq!((second.first_seq, second.last_seq), (4, 8));
        assert_eq!(second.asks, [(Price(101), Qty(2))]);
        assert!(second.bids.is_empty());
    }

    #[test]
    fn a_level_changed_then_deleted_then_re_added_keeps_only_its_last_quantity() {
        let mut pending = PendingDiff::default();
        pending.merge(&diff(1, 1, &[(100, 5)], &[]), 0);
        pending.merge(&diff(2, 2, &[(100, 0)], &[]), 0);
        let deleted = pending.clone().take(0).unwrap();
        assert_eq!(deleted.bids, [(Price(100), Qty(0))], "deleted in this frame: qty 0");
        pending.merge(&diff(3, 4, &[(100, 7)], &[]), 0);
        let readded = pending.take(0).unwrap();
        assert_eq!((readded.first_seq, readded.last_seq), (1, 4));
        assert_eq!(readded.bids, [(Price(100), Qty(7))]);
    }

    #[test]
    fn a_gap_is_never_merged_across_so_clients_see_it_in_u() {
        let mut pending = PendingDiff::default();
        pending.merge(&diff(1, 2, &[(100, 1)], &[]), 0);
        // Seqs 3 and 4 were lost on the bus: what came before goes out at once, alone.
        let before_gap = pending.merge(&diff(5, 6, &[(99, 1)], &[]), 50).unwrap();
        assert_eq!((before_gap.first_seq, before_gap.last_seq, before_gap.ts_ns), (1, 2, 50));
        assert_eq!(before_gap.bids, [(Price(100), Qty(1))]);
        let after_gap = pending.take(60).unwrap();
        assert_eq!((after_gap.first_seq, after_gap.last_seq), (5, 6));
        assert_eq!(after_gap.bids, [(Price(99), Qty(1))]);
    }

    #[test]
    fn a_redelivered_diff_is_ignored() {
        let mut pending = PendingDiff::default();
        pending.merge(&diff(1, 4, &[(100, 1)], &[]), 0);
        assert_eq!(pending.merge(&diff(3, 4, &[(100, 9)], &[]), 0), None);
        assert_eq!(pending.take(0).unwrap().bids, [(Price(100), Qty(1))]);
    }

    #[test]
    fn a_frame_that_reaches_the_level_bound_is_sent_at_once() {
        let mut pending = PendingDiff::default();
        let half = i64::try_from(PENDING_LEVELS_MAX / 2).unwrap();
        let bids: Vec<(i64, u64)> = (0..half).map(|price| (price, 1)).collect();
        assert_eq!(pending.merge(&diff(1, 1, &bids, &[]), 0), None);
        let asks: Vec<(i64, u64)> = (half..2 * half).map(|price| (price, 1)).collect();
        let full = pending.merge(&diff(2, 2, &[], &asks), 0).unwrap();
        assert_eq!(full.bids.len() + full.asks.len(), PENDING_LEVELS_MAX);
        assert_eq!(pending.take(0), None);
    }

    type Book = BTreeMap<(bool, Price), Qty>;

    fn apply(book: &mut Book, diff: &DepthDiff) {
        let levels =
            diff.bids.iter().map(|&l| (true, l)).chain(diff.asks.iter().map(|&l| (false, l)));
        for (bid, (price, qty)) in levels {
            if qty.0 == 0 {
                book.remove(&(bid, price));
            } else {
                book.insert((bid, price), qty);
            }
        }
    }

    /// Applies the gathered frame, if any, to `book`; `U` must follow `last_u`.
    fn take_into(pending: &mut PendingDiff, book: &mut Book, last_u: &mut u64) {
        if let Some(frame) = pending.take(0) {
            assert_eq!(frame.first_seq, *last_u + 1, "frames chain");
            *last_u = frame.last_seq;
            apply(book, &frame);
        }
    }

    proptest! {
        /// A book kept from frames taken at random points equals one kept from every diff,
        /// and the frames chain.
        #[test]
        fn merged_frames_rebuild_the_same_book_as_every_diff(
            steps in prop::collection::vec((any::<bool>(), 0i64..8, 0u64..3, any::<bool>()), 1..200)
        ) {
            let (mut every, mut merged) = (Book::new(), Book::new());
            let mut pending = PendingDiff::default();
            let mut last_u = 0;
            for (seq, (bid, price, qty, emit)) in (1u64..).zip(steps) {
                let levels = [(price, qty)];
                let one = if bid { diff(seq, seq, &levels, &[]) } else { diff(seq, seq, &[], &levels) };
                apply(&mut every, &one);
                prop_assert_eq!(pending.merge(&one, 0), None);
                if emit {
                    take_into(&mut pending, &mut merged, &mut last_u);
                }
            }
            take_into(&mut pending, &mut merged, &mut last_u);
            prop_assert_eq!(merged, every);
        }
    }
}
