//! Rebuilding a book from its journal: the newest snapshot (its state hash checked), then every
//! batch after it re-applied. Replay must reproduce the journaled events exactly; a difference
//! means the engine is not deterministic or the journal is damaged, and the book refuses to
//! start rather than trade on a state nobody acknowledged.

use crate::book::{BookLimits, BookSnapshot, EngineOutput, MatchingEngine};
use crate::ports::{Journal, JournalError};

/// Batches read per journal query while replaying.
const REPLAY_PAGE_BATCHES: u32 = 256;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("snapshot of {symbol} at input {input_seq} does not decode or restore: {detail}")]
    BadSnapshot { symbol: String, input_seq: u64, detail: String },
    #[error("replaying {symbol} at input {input_seq} produced different events than journaled")]
    Diverged { symbol: String, input_seq: u64 },
}

/// What a recovery read and rebuilt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryStats {
    pub snapshot_input_seq: u64,
    pub replayed_inputs: u64,
    pub last_input_seq: u64,
    pub last_event_seq: u64,
    pub open_orders: u32,
}

/// The book of `symbol` as its journal has it.
pub async fn recover_engine(
    journal: &dyn Journal,
    symbol: &str,
    limits: BookLimits,
) -> Result<(MatchingEngine, RecoveryStats), RecoveryError> {
    let mut engine = match journal.latest_book_snapshot(symbol.to_owned()).await? {
        Some(stored) => {
            let bad = |detail: String| RecoveryError::BadSnapshot {
                symbol: symbol.to_owned(),
                input_seq: stored.last_input_seq,
                detail,
            };
            let snapshot: BookSnapshot =
                postcard::from_bytes(&stored.payload).map_err(|error| bad(error.to_string()))?;
            let engine = MatchingEngine::restore(limits, &snapshot)
                .map_err(|error| bad(error.to_string()))?;
            if engine.state_hash() != stored.state_hash {
                return Err(bad("state hash differs".to_owned()));
            }
            engine
        }
        None => MatchingEngine::new(limits),
    };
    let mut stats =
        RecoveryStats { snapshot_input_seq: engine.last_input_seq(), ..RecoveryStats::default() };
    let mut out = EngineOutput::with_capacity(1024);
    loop {
        let batches = journal
            .book_batches_after(symbol.to_owned(), engine.last_input_seq(), REPLAY_PAGE_BATCHES)
            .await?;
        if batches.is_empty() {
            break;
        }
        for batch in batches {
            out.clear();
            for input in &batch.inputs {
                let applied = engine.apply(input, &mut out);
                let diverged = applied == Err(crate::model::RejectReason::InputOutOfSequence);
                if diverged {
                    let input_seq = input.input_seq;
                    return Err(RecoveryError::Diverged { symbol: symbol.to_owned(), input_seq });
                }
                stats.replayed_inputs += 1;
            }
            if out.events[..] != batch.events[..] {
                let input_seq = batch.first_input_seq();
                return Err(RecoveryError::Diverged { symbol: symbol.to_owned(), input_seq });
            }
        }
    }
    stats.last_input_seq = engine.last_input_seq();
    stats.last_event_seq = engine.last_event_seq();
    stats.open_orders = engine.open_order_count();
    Ok((engine, stats))
}
