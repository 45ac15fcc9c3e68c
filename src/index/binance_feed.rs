//! An external feed as an index source: a Binance-style public WebSocket stream, either
//! `<symbol>@bookTicker` (the mid of `b` and `a`) or `<symbol>@trade` (`p`), combined-stream
//! envelopes (`{"stream":..,"data":..}`) included. Quotes are stamped when received (the
//! exchange's clock, not the feed's, decides staleness). Reconnects with backoff, forever.

use std::time::Duration;

use actix::Addr;
use exchange_actors::index::{IndexOracle, ObserveQuote, Quote};
use futures_util::StreamExt as _;
use rust_decimal::Decimal;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

const RECONNECT_DELAY_MIN: Duration = Duration::from_millis(200);
const RECONNECT_DELAY_MAX: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The price one stream message carries, if it is a bookTicker or trade message.
pub fn feed_price(text: &str) -> Option<Decimal> {
    let value: Value = serde_json::from_str(text).ok()?;
    let data = value.get("data").unwrap_or(&value);
    let decimal = |field: &str| data.get(field)?.as_str()?.parse::<Decimal>().ok();
    let price = match (decimal("b"), decimal("a"), decimal("p")) {
        (Some(bid), Some(ask), _) => (bid + ask) / Decimal::TWO,
        (_, _, Some(trade)) if data.get("e").and_then(Value::as_str) == Some("trade") => trade,
        _ => return None,
    };
    (price > Decimal::ZERO).then_some(price)
}

/// Reads `url` into `index`'s quotes as source `feed:<url>` until the oracle stops.
pub fn start_feed(index: String, url: String, oracle: Addr<IndexOracle>) {
    actix::spawn(async move {
        let source = format!("feed:{url}");
        let mut delay = RECONNECT_DELAY_MIN;
        loop {
            match read_feed(&index, &source, &url, &oracle).await {
                FeedEnd::OracleStopped => return,
                FeedEnd::Received => delay = RECONNECT_DELAY_MIN,
                FeedEnd::Failed => {}
            }
            metrics::counter!("exchange_index_feed_reconnects_total", "index" => index.clone())
                .increment(1);
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(RECONNECT_DELAY_MAX);
        }
    });
}

enum FeedEnd {
    OracleStopped,
    /// The connection ended after delivering at least one price.
    Received,
    Failed,
}

async fn read_feed(index: &str, source: &str, url: &str, oracle: &Addr<IndexOracle>) -> FeedEnd {
    let connected =
        tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(url)).await;
    let Ok(Ok((mut stream, _))) = connected else {
        tracing::warn!(%url, "index feed: cannot connect");
        return FeedEnd::Failed;
    };
    let mut received = false;
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else { continue };
        let Some(price) = feed_price(&text) else { continue };
        received = true;
        let quote = Quote { price, observed_at_ms: super::wall_clock_ms() };
        let observe = ObserveQuote { index: index.to_owned(), source: source.to_owned(), quote };
        if oracle.send(observe).await.is_err() {
            return FeedEnd::OracleStopped;
        }
    }
    tracing::warn!(%url, "index feed: connection ended");
    if received { FeedEnd::Received } else { FeedEnd::Failed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn book_ticker_trade_and_combined_messages_give_prices() {
        let ticker =
            r#"{"u":400900217,"s":"BTCUSDT","b":"65000.10","B":"1","a":"65000.30","A":"2"}"#;
        assert_eq!(feed_price(ticker), Some("65000.20".parse().unwrap()));
        let trade = r#"{"e":"trade","E":1,"s":"BTCUSDT","t":12345,"p":"64999.5","q":"0.1"}"#;
        assert_eq!(feed_price(trade), Some("64999.5".parse().unwrap()));
        let combined = format!(r#"{{"stream":"btcusdt@bookTicker","data":{ticker}}}"#);
        assert_eq!(feed_price(&combined), Some("65000.20".parse().unwrap()));
    }

    #[test]
    fn anything_else_gives_none() {
        assert_eq!(feed_price(r#"{"result":null,"id":1}"#), None);
        assert_eq!(feed_price(r#"{"e":"aggTrade","p":"1"}"#), None);
        assert_eq!(feed_price(r#"{"b":"0","a":"0"}"#), None);
        assert_eq!(feed_price("not json"), None);
    }
}
