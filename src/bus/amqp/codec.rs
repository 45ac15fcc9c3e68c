//! The wire format of a bus message: one format-version byte, then postcard of the symbol and
//! its events. A consumer refuses any other version instead of guessing, so a format change
//! is a new version and old messages dead-letter rather than decode wrongly.

use std::sync::Arc;

use exchange_actors::model::BookEvent;
use exchange_actors::ports::EventBatch;
use serde::{Deserialize, Serialize};

/// The version this build writes and the only one it reads.
pub const FORMAT_VERSION: u8 = 1;

#[derive(Debug, Serialize)]
struct WireBatchRef<'a> {
    symbol: &'a str,
    events: &'a [BookEvent],
}

#[derive(Debug, Deserialize)]
struct WireBatch {
    symbol: String,
    events: Vec<BookEvent>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty message")]
    Empty,
    #[error("format version {found}, this build reads {FORMAT_VERSION}")]
    UnknownVersion { found: u8 },
    #[error("undecodable body: {0}")]
    Body(String),
    #[error("a batch without events")]
    NoEvents,
    #[error("event seqs are not contiguous: {previous} then {next}")]
    NotContiguous { previous: u64, next: u64 },
}

/// `events` of `symbol` as one message body.
pub fn encode(symbol: &str, events: &[BookEvent]) -> Vec<u8> {
    let body = vec![FORMAT_VERSION];
    let wire = WireBatchRef { symbol, events };
    postcard::to_extend(&wire, body).expect("encoding to a Vec cannot fail")
}

/// A message body back into a batch; anything else than a well-formed, non-empty, contiguous
/// batch of this version is refused (the caller dead-letters it).
pub fn decode(body: &[u8]) -> Result<EventBatch, DecodeError> {
    let (&version, rest) = body.split_first().ok_or(DecodeError::Empty)?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnknownVersion { found: version });
    }
    let wire: WireBatch =
        postcard::from_bytes(rest).map_err(|error| DecodeError::Body(error.to_string()))?;
    if wire.events.is_empty() {
        return Err(DecodeError::NoEvents);
    }
    for pair in wire.events.windows(2) {
        if pair[0].seq.checked_add(1) != Some(pair[1].seq) {
            return Err(DecodeError::NotContiguous { previous: pair[0].seq, next: pair[1].seq });
        }
    }
    Ok(EventBatch { symbol: Arc::from(wire.symbol), events: Arc::from(wire.events) })
}

#[cfg(test)]
mod tests {
    use exchange_actors::model::{EventKind, LevelChanged, Price, Qty, Side};

    use super::*;

    fn level(seq: u64) -> BookEvent {
        let changed = LevelChanged { side: Side::Buy, price: Price(100), qty: Qty(seq) };
        BookEvent { seq, ts_ns: seq * 10, kind: EventKind::LevelChanged(changed) }
    }

    #[test]
    fn a_batch_round_trips() {
        let events: Vec<BookEvent> = (5..=9).map(level).collect();
        let batch = decode(&encode("BTCUSDT", &events)).expect("decodes");
        assert_eq!(&*batch.symbol, "BTCUSDT");
        assert_eq!(&*batch.events, events.as_slice());
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let mut body = encode("BTCUSDT", &[level(1)]);
        assert!(matches!(decode(&[]), Err(DecodeError::Empty)));
        body[0] = FORMAT_VERSION + 1;
        assert!(matches!(decode(&body), Err(DecodeError::UnknownVersion { found: 2 })));
        assert!(matches!(decode(&[FORMAT_VERSION, 0xff, 0xff]), Err(DecodeError::Body(_))));
        assert!(matches!(decode(&encode("BTCUSDT", &[])), Err(DecodeError::NoEvents)));
        let gap = encode("BTCUSDT", &[level(1), level(3)]);
        assert!(matches!(decode(&gap), Err(DecodeError::NotContiguous { previous: 1, next: 3 })));
    }
}
