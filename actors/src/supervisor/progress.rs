//! How far the books have written and the account shards have settled, from their heartbeats,
//! and the settlement lag that follows: per shard, the book events published over every symbol
//! minus those the shard has applied (each shard follows every symbol's stream). Heartbeats are
//! up to 100 ms old (their beat interval), so a busy book shows up to that much lag.
//!
//! Also how far any other consumer of the book events has applied each symbol's stream
//! ([`GetAppliedSeqs`], answered by the depth replicas and the WebSocket hub) and the lag per
//! symbol that follows ([`consumer_lag_events`]).

use actix::prelude::*;

use super::{ShardSupervisor, Supervisor};

/// Per book, its symbol and last event seq.
#[derive(Debug, Message)]
#[rtype(result = "Vec<(String, u64)>")]
pub struct GetBookProgress;

/// Per symbol, the last book event seq a consumer has applied (symbols it has not seen yet are
/// left out).
#[derive(Debug, Message)]
#[rtype(result = "Vec<(String, u64)>")]
pub struct GetAppliedSeqs;

/// Per shard (by index), the book events it has applied over every symbol.
#[derive(Debug, Message)]
#[rtype(result = "Vec<u64>")]
pub struct GetShardProgress;

impl Handler<GetBookProgress> for Supervisor {
    type Result = MessageResult<GetBookProgress>;

    fn handle(&mut self, _query: GetBookProgress, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(
            self.book_heartbeats()
                .map(|(symbol, beat)| (symbol.clone(), beat.last_seq()))
                .collect(),
        )
    }
}

impl Handler<GetShardProgress> for ShardSupervisor {
    type Result = MessageResult<GetShardProgress>;

    fn handle(&mut self, _query: GetShardProgress, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.shard_heartbeats().map(|heartbeat| heartbeat.last_seq()).collect())
    }
}

/// Each shard's lag in events behind the books (0 when a heartbeat read it ahead).
pub fn settlement_lag_events(book_last_seqs: &[u64], shard_applied: &[u64]) -> Vec<u64> {
    let published: u64 = book_last_seqs.iter().sum();
    shard_applied.iter().map(|applied| published.saturating_sub(*applied)).collect()
}

/// Per symbol a consumer has applied, how many events it is behind the book: the book's last
/// seq less the consumer's (0 when a heartbeat read the book behind the consumer). Symbols the
/// consumer has not seen, or that have no book here, are left out: their lag is unknown, not
/// the book's whole history.
pub fn consumer_lag_events(
    book_seqs: &[(String, u64)],
    applied: &[(String, u64)],
) -> Vec<(String, u64)> {
    let books: std::collections::BTreeMap<&str, u64> =
        book_seqs.iter().map(|(symbol, seq)| (symbol.as_str(), *seq)).collect();
    let mut lags: Vec<(String, u64)> = applied
        .iter()
        .filter_map(|(symbol, seq)| {
            books.get(symbol.as_str()).map(|book| (symbol.clone(), book.saturating_sub(*seq)))
        })
        .collect();
    lags.sort();
    lags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
        pairs.iter().map(|(symbol, seq)| ((*symbol).to_owned(), *seq)).collect()
    }

    #[test]
    fn consumer_lag_is_the_book_seq_less_the_applied_one_per_symbol() {
        let books = seqs(&[("BTCUSDT", 100), ("ETHUSDT", 50)]);
        let applied = seqs(&[("ETHUSDT", 20), ("BTCUSDT", 100), ("GONE", 7)]);
        assert_eq!(consumer_lag_events(&books, &applied), seqs(&[("BTCUSDT", 0), ("ETHUSDT", 30)]));
        // Read after the book's heartbeat: never negative. Nothing applied: nothing known.
        assert_eq!(consumer_lag_events(&books, &seqs(&[("ETHUSDT", 51)])), seqs(&[("ETHUSDT", 0)]));
        assert!(consumer_lag_events(&books, &[]).is_empty());
    }

    #[test]
    fn lag_is_published_events_less_applied_ones() {
        assert_eq!(settlement_lag_events(&[100, 50], &[150, 120, 0]), vec![0, 30, 150]);
        // A shard's heartbeat read after the book's: never negative.
        assert_eq!(settlement_lag_events(&[10], &[12]), vec![0]);
    }
}
