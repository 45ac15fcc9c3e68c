//! How far the books have written and the account shards have settled, from their heartbeats,
//! and the settlement lag that follows: per shard, the book events published over every symbol
//! minus those the shard has applied (each shard follows every symbol's stream). Heartbeats are
//! up to 100 ms old (their beat interval), so a busy book shows up to that much lag.

use actix::prelude::*;

use super::{ShardSupervisor, Supervisor};

/// Per book, its last event seq.
#[derive(Debug, Message)]
#[rtype(result = "Vec<u64>")]
pub struct GetBookProgress;

/// Per shard (by index), the book events it has applied over every symbol.
#[derive(Debug, Message)]
#[rtype(result = "Vec<u64>")]
pub struct GetShardProgress;

impl Handler<GetBookProgress> for Supervisor {
    type Result = MessageResult<GetBookProgress>;

    fn handle(&mut self, _query: GetBookProgress, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.book_heartbeats().map(|heartbeat| heartbeat.last_seq()).collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_published_events_less_applied_ones() {
        assert_eq!(settlement_lag_events(&[100, 50], &[150, 120, 0]), vec![0, 30, 150]);
        // A shard's heartbeat read after the book's: never negative.
        assert_eq!(settlement_lag_events(&[10], &[12]), vec![0]);
    }
}
