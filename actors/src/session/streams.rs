//! [`StreamName`]: a market stream as Binance names it (`btcusdt@depth@100ms`), parsed into a
//! symbol (upper case, as the book knows it) and a [`StreamKind`]. The canonical text (what a
//! combined stream's `"stream"` field and LIST_SUBSCRIPTIONS show) is the lower-case form.

use std::fmt;

/// Longest symbol accepted in a stream name (Binance's are at most 20 characters).
pub const SYMBOL_LEN_MAX: usize = 20;

/// What a stream carries. Order (with the symbol first in [`StreamName`]) keeps one
/// symbol's streams together in a `BTreeMap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StreamKind {
    /// Diff depth at Binance's speeds: `@depth` (also `@depth@1000ms`) every 1000 ms,
    /// `@depth@100ms` every 100 ms, each frame the level changes merged since the previous
    /// one (none when nothing changed), `U`/`u` from the book's event sequence (the first and
    /// last event it covers, so `U` = previous `u` + 1 unless events were lost).
    Depth {
        fast: bool,
    },
    /// Partial depth (`@depth5`, `@depth10`, `@depth20`, optionally `@100ms`): the best
    /// `levels` a side, every second (every 100 ms for `fast`).
    Partial {
        levels: u8,
        fast: bool,
    },
    Trade,
    AggTrade,
    BookTicker,
    Ticker,
    /// `@kline_1m`: the current 1-minute kline, every second.
    Kline1m,
}

impl StreamKind {
    /// Whether a frame of this kind may be dropped to relieve a slow session (the client sees
    /// a `U` gap and resyncs); everything else is either delivered or ends the connection.
    pub fn is_droppable(self) -> bool {
        matches!(self, StreamKind::Depth { .. })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamName {
    /// Upper case, as the books name symbols.
    pub symbol: String,
    pub kind: StreamKind,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StreamNameError {
    #[error("stream name {0:?} has no '@'")]
    NoAt(String),
    #[error("stream name {0:?}: symbol must be 1 to {SYMBOL_LEN_MAX} ASCII letters or digits")]
    BadSymbol(String),
    #[error("stream name {0:?}: unknown stream type")]
    UnknownKind(String),
}

impl StreamName {
    pub fn new(symbol: &str, kind: StreamKind) -> StreamName {
        StreamName { symbol: symbol.to_ascii_uppercase(), kind }
    }

    /// Parses `btcusdt@trade` (case-insensitive, as Binance accepts it).
    pub fn parse(text: &str) -> Result<StreamName, StreamNameError> {
        let lower = text.to_ascii_lowercase();
        let (symbol, kind) =
            lower.split_once('@').ok_or_else(|| StreamNameError::NoAt(text.to_owned()))?;
        let symbol_ok = (1..=SYMBOL_LEN_MAX).contains(&symbol.len())
            && symbol.bytes().all(|byte| byte.is_ascii_alphanumeric());
        if !symbol_ok {
            return Err(StreamNameError::BadSymbol(text.to_owned()));
        }
        let kind = match kind {
            "depth" => StreamKind::Depth { fast: false },
            "depth@100ms" => StreamKind::Depth { fast: true },
            "depth@1000ms" => StreamKind::Depth { fast: false },
            "trade" => StreamKind::Trade,
            "aggtrade" => StreamKind::AggTrade,
            "bookticker" => StreamKind::BookTicker,
            "ticker" => StreamKind::Ticker,
            "kline_1m" => StreamKind::Kline1m,
            partial => parse_partial(partial)
                .ok_or_else(|| StreamNameError::UnknownKind(text.to_owned()))?,
        };
        Ok(StreamName::new(symbol, kind))
    }
}

/// `depth5`, `depth10@100ms`, ...
fn parse_partial(kind: &str) -> Option<StreamKind> {
    let (levels, fast) = match kind.strip_suffix("@100ms") {
        Some(levels) => (levels, true),
        None => (kind.strip_suffix("@1000ms").unwrap_or(kind), false),
    };
    let levels = match levels {
        "depth5" => 5,
        "depth10" => 10,
        "depth20" => 20,
        _ => return None,
    };
    Some(StreamKind::Partial { levels, fast })
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let symbol = self.symbol.to_ascii_lowercase();
        match self.kind {
            StreamKind::Depth { fast: false } => write!(f, "{symbol}@depth"),
            StreamKind::Depth { fast: true } => write!(f, "{symbol}@depth@100ms"),
            StreamKind::Partial { levels, fast: false } => write!(f, "{symbol}@depth{levels}"),
            StreamKind::Partial { levels, fast: true } => {
                write!(f, "{symbol}@depth{levels}@100ms")
            }
            StreamKind::Trade => write!(f, "{symbol}@trade"),
            StreamKind::AggTrade => write!(f, "{symbol}@aggTrade"),
            StreamKind::BookTicker => write!(f, "{symbol}@bookTicker"),
            StreamKind::Ticker => write!(f, "{symbol}@ticker"),
            StreamKind::Kline1m => write!(f, "{symbol}@kline_1m"),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("btcusdt@depth", StreamKind::Depth { fast: false })]
    #[case("BTCUSDT@depth@100ms", StreamKind::Depth { fast: true })]
    #[case("btcusdt@depth5", StreamKind::Partial { levels: 5, fast: false })]
    #[case("btcusdt@depth20@100ms", StreamKind::Partial { levels: 20, fast: true })]
    #[case("btcusdt@trade", StreamKind::Trade)]
    #[case("btcusdt@aggTrade", StreamKind::AggTrade)]
    #[case("btcusdt@bookTicker", StreamKind::BookTicker)]
    #[case("btcusdt@ticker", StreamKind::Ticker)]
    #[case("btcusdt@kline_1m", StreamKind::Kline1m)]
    fn known_names_parse(#[case] text: &str, #[case] kind: StreamKind) {
        let name = StreamName::parse(text).unwrap();
        assert_eq!(name.symbol, "BTCUSDT");
        assert_eq!(name.kind, kind);
    }

    #[rstest]
    #[case("btcusdt")]
    #[case("@trade")]
    #[case("btc-usdt@trade")]
    #[case("btcusdt@depth7")]
    #[case("btcusdt@kline_5m")]
    #[case("averyveryveryverylongsymbol@trade")]
    fn bad_names_are_refused(#[case] text: &str) {
        assert!(StreamName::parse(text).is_err());
    }

    proptest! {
        #[test]
        fn display_parses_back(symbol in "[a-z0-9]{1,20}", kind in 0usize..11) {
            let kinds = [
                StreamKind::Depth { fast: false }, StreamKind::Depth { fast: true },
                StreamKind::Partial { levels: 5, fast: false },
                StreamKind::Partial { levels: 10, fast: true },
                StreamKind::Partial { levels: 20, fast: false },
                StreamKind::Trade, StreamKind::AggTrade, StreamKind::BookTicker,
                StreamKind::Ticker, StreamKind::Kline1m, StreamKind::Partial { levels: 20, fast: true },
            ];
            let name = StreamName::new(&symbol, kinds[kind]);
            prop_assert_eq!(StreamName::parse(&name.to_string()).unwrap(), name);
        }
    }
}
