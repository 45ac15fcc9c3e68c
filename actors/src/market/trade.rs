//! [`TradeRecord`]: one executed trade as history and market data keep it, with the fee each
//! side was charged (computed once, from the market spec in force when it was applied, so a
//! later fee change never rewrites history). [`TradeCursor`] applies a symbol's book events by
//! watermark: events at or below it are dropped, a gap is refused.

use serde::{Deserialize, Serialize};

use crate::account::MarketSpec;
use crate::model::Liquidity;
use crate::model::{
    AccountId, BookEvent, EventKind, Notional, OrderId, Price, Qty, Side, SymbolCode, TradeId,
};

const NANOS_PER_MILLI: u64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeRecord {
    pub symbol: SymbolCode,
    pub trade_id: TradeId,
    /// The book event seq of the trade (the history's idempotency key with the symbol).
    pub seq: u64,
    pub time_ms: u64,
    pub price: Price,
    pub qty: Qty,
    pub taker_side: Side,
    pub maker_order_id: OrderId,
    pub maker_account_id: AccountId,
    pub taker_order_id: OrderId,
    pub taker_account_id: AccountId,
    /// Minor units of the asset the maker received (base if it bought); negative is a rebate.
    pub maker_fee: i64,
    /// Minor units of the asset the taker received.
    pub taker_fee: i64,
}

impl TradeRecord {
    /// Binance's `isBuyerMaker`: the resting order bought (the taker sold).
    pub fn buyer_is_maker(&self) -> bool {
        self.taker_side == Side::Sell
    }

    pub fn notional(&self) -> Notional {
        Notional::of(self.price, self.qty)
    }

    /// The trade as `account` sees it: `(is_buyer, is_maker, fee)`, one per side it took
    /// (two for a self-trade).
    pub fn sides_of(&self, account: AccountId) -> impl Iterator<Item = (bool, bool, i64)> + '_ {
        let maker = (self.maker_account_id == account).then_some((
            self.buyer_is_maker(),
            true,
            self.maker_fee,
        ));
        let taker = (self.taker_account_id == account).then_some((
            !self.buyer_is_maker(),
            false,
            self.taker_fee,
        ));
        maker.into_iter().chain(taker)
    }
}

/// Why a trade could not be recorded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TradeApplyError {
    #[error("{symbol}: gap in book events: expected seq {expected}, got {got}")]
    Gap { symbol: SymbolCode, expected: u64, got: u64 },
    #[error("{symbol}: a fee of trade {trade_id} does not fit 64 bits")]
    FeeTooLarge { symbol: SymbolCode, trade_id: u64 },
}

/// The fee one side of `trade` pays in the asset it receives, at the rates the trade carries
/// (as the account shard charges it).
fn fee(market: &MarketSpec, trade: &crate::model::TradeExecuted, liquidity: Liquidity) -> i128 {
    let buyer = match liquidity {
        Liquidity::Taker => trade.taker_side == Side::Buy,
        Liquidity::Maker => trade.taker_side == Side::Sell,
    };
    let received = if buyer {
        market.base_amount(trade.qty)
    } else {
        market.quote_amount(Notional::of(trade.price, trade.qty))
    };
    trade.fee(liquidity, received)
}

/// The trades of one symbol's events after a watermark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeCursor {
    pub market: MarketSpec,
    /// The last event seq applied.
    pub watermark: u64,
}

impl TradeCursor {
    /// The trades among `events` past the watermark, and the new watermark. Nothing changes
    /// on an error; the caller commits the trades, then calls [`TradeCursor::advance`].
    pub fn fresh_trades(
        &self,
        events: &[BookEvent],
    ) -> Result<(Vec<TradeRecord>, u64), TradeApplyError> {
        let symbol = self.market.symbol;
        let mut expected = self.watermark + 1;
        let mut trades = Vec::new();
        for event in events.iter().filter(|event| event.seq > self.watermark) {
            if event.seq != expected {
                return Err(TradeApplyError::Gap { symbol, expected, got: event.seq });
            }
            expected += 1;
            let EventKind::Traded(trade) = event.kind else { continue };
            let too_large = || TradeApplyError::FeeTooLarge { symbol, trade_id: trade.trade_id.0 };
            let maker_fee = fee(&self.market, &trade, Liquidity::Maker);
            let taker_fee = fee(&self.market, &trade, Liquidity::Taker);
            trades.push(TradeRecord {
                symbol,
                trade_id: trade.trade_id,
                seq: event.seq,
                time_ms: event.ts_ns / NANOS_PER_MILLI,
                price: trade.price,
                qty: trade.qty,
                taker_side: trade.taker_side,
                maker_order_id: trade.maker_order_id,
                maker_account_id: trade.maker_account_id,
                taker_order_id: trade.taker_order_id,
                taker_account_id: trade.taker_account_id,
                maker_fee: i64::try_from(maker_fee).map_err(|_| too_large())?,
                taker_fee: i64::try_from(taker_fee).map_err(|_| too_large())?,
            });
        }
        Ok((trades, expected - 1))
    }

    /// After the trades up to `watermark` are durable.
    pub fn advance(&mut self, watermark: u64) {
        debug_assert!(watermark >= self.watermark, "watermarks never go back");
        self.watermark = watermark;
    }
}
