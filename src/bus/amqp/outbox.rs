//! The relay's pure bookkeeping: per symbol, the last event seq the broker confirmed (the
//! cursor), what of an in-memory batch still needs publishing, and how events are cut into
//! messages. No I/O: the relay feeds it and acts on its answers.

use std::collections::BTreeMap;

use exchange_actors::model::BookEvent;

/// Events in one message at most (bounds the message size to about 100 KB).
pub const MESSAGE_EVENTS_MAX: usize = 1_000;

/// What to do with a batch handed over in memory, given the symbol's cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Every event is at or below the cursor: confirmed already.
    AlreadyPublished,
    /// Publish the events from this index on (those before it are confirmed already).
    PublishFrom(usize),
    /// Events between the cursor and this batch are missing here: read them from the journal.
    Gap,
}

/// `events` (contiguous by seq) against `cursor`.
pub fn admit(cursor: u64, events: &[BookEvent]) -> Admission {
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Admission::AlreadyPublished;
    };
    debug_assert_eq!(last.seq - first.seq + 1, events.len() as u64, "contiguous events");
    if last.seq <= cursor {
        Admission::AlreadyPublished
    } else if first.seq > cursor + 1 {
        Admission::Gap
    } else {
        let skip = usize::try_from(cursor + 1 - first.seq).expect("within the batch");
        Admission::PublishFrom(skip)
    }
}

/// Confirmed cursors per symbol and the ones stored, to know what to save.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursors {
    confirmed: BTreeMap<String, u64>,
    stored: BTreeMap<String, u64>,
}

impl Cursors {
    /// Cursors as loaded from the store.
    pub fn restored(stored: BTreeMap<String, u64>) -> Cursors {
        Cursors { confirmed: stored.clone(), stored }
    }

    pub fn confirmed(&self, symbol: &str) -> u64 {
        self.confirmed.get(symbol).copied().unwrap_or(0)
    }

    /// The broker confirmed `symbol`'s events up to `seq`; a cursor never moves back.
    pub fn confirm(&mut self, symbol: &str, seq: u64) {
        let cursor = self.confirmed.entry(symbol.to_owned()).or_insert(0);
        *cursor = (*cursor).max(seq);
    }

    /// Confirmed cursors not yet stored.
    pub fn unsaved(&self) -> Vec<(String, u64)> {
        let changed = |(symbol, seq): (&String, &u64)| {
            (self.stored.get(symbol) != Some(seq)).then(|| (symbol.clone(), *seq))
        };
        self.confirmed.iter().filter_map(changed).collect()
    }

    /// `saved` (from [`Cursors::unsaved`]) is in the store now.
    pub fn mark_saved(&mut self, saved: &[(String, u64)]) {
        for (symbol, seq) in saved {
            self.stored.insert(symbol.clone(), *seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use exchange_actors::model::{EventKind, LevelChanged, Price, Qty, Side};
    use rstest::rstest;

    use super::*;

    fn events(seqs: std::ops::RangeInclusive<u64>) -> Vec<BookEvent> {
        let changed = LevelChanged { side: Side::Sell, price: Price(7), qty: Qty(1) };
        seqs.map(|seq| BookEvent { seq, ts_ns: 0, kind: EventKind::LevelChanged(changed) })
            .collect()
    }

    #[rstest]
    #[case::next_in_line(4, 5..=9, Admission::PublishFrom(0))]
    #[case::overlaps_the_cursor(6, 5..=9, Admission::PublishFrom(2))]
    #[case::ends_at_the_cursor(9, 5..=9, Admission::AlreadyPublished)]
    #[case::behind_the_cursor(20, 5..=9, Admission::AlreadyPublished)]
    #[case::after_a_gap(3, 5..=9, Admission::Gap)]
    #[case::first_ever(0, 1..=2, Admission::PublishFrom(0))]
    fn batches_are_admitted_by_cursor(
        #[case] cursor: u64,
        #[case] seqs: std::ops::RangeInclusive<u64>,
        #[case] expected: Admission,
    ) {
        assert_eq!(admit(cursor, &events(seqs)), expected);
    }

    #[test]
    fn cursors_only_advance_and_report_what_to_save() {
        let mut cursors = Cursors::restored(BTreeMap::from([("A".to_owned(), 5)]));
        assert_eq!(cursors.unsaved(), []);
        cursors.confirm("A", 9);
        cursors.confirm("A", 7);
        cursors.confirm("B", 2);
        assert_eq!((cursors.confirmed("A"), cursors.confirmed("C")), (9, 0));
        let unsaved = cursors.unsaved();
        assert_eq!(unsaved, [("A".to_owned(), 9), ("B".to_owned(), 2)]);
        cursors.mark_saved(&unsaved);
        assert_eq!(cursors.unsaved(), []);
    }
}
