//! One symbol as the load generator trades it: its filters read from `exchangeInfo` (tick,
//! step, minimum quantity and notional, price band) and a mid price, and the prices and
//! quantities of valid orders as integer ticks and lots, rendered exactly as decimals.
//!
//! Pure: no I/O; the randomness comes in as an argument.

use rand::Rng;
use rust_decimal::Decimal;
use serde_json::Value;

/// Mid in ticks when the symbol has not traded yet (100.00 at a tick of 0.01).
pub const MID_TICKS_UNTRADED: i64 = 10_000;
/// Orders are priced within this share of the mid (basis points): well inside any price band.
const SPREAD_BPS: i64 = 100;
/// One placement in this many crosses the mid (and trades against a resting order).
pub const CROSSING_ONE_IN: u32 = 10;

/// A symbol's filters and mid, and the order shapes valid under them.
#[derive(Clone, Debug, PartialEq)]
pub struct Market {
    pub symbol: String,
    pub base_asset: String,
    pub quote_asset: String,
    pub tick_size: Decimal,
    pub step_size: Decimal,
    pub mid_ticks: i64,
    /// The smallest quantity (lots) whose notional at the lowest price placed meets the
    /// minimum notional and the minimum quantity: what an amend may shrink an order to.
    pub qty_floor_lots: u64,
    offset_ticks_max: i64,
}

/// A limit order's side, price (ticks) and quantity (lots).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderShape {
    pub buy: bool,
    pub price_ticks: i64,
    pub qty_lots: u64,
}

fn decimal(value: &Value, field: &str) -> Result<Decimal, String> {
    value[field]
        .as_str()
        .ok_or_else(|| format!("{field} missing"))?
        .parse()
        .map_err(|error| format!("{field}: {error}"))
}

fn filter<'a>(symbol: &'a Value, filter_type: &str) -> Result<&'a Value, String> {
    symbol["filters"]
        .as_array()
        .and_then(|filters| filters.iter().find(|filter| filter["filterType"] == filter_type))
        .ok_or_else(|| format!("{} has no {filter_type} filter", symbol["symbol"]))
}

/// Whole units of `unit` in `amount`, rounded up.
fn units_up(amount: Decimal, unit: Decimal) -> Result<i64, String> {
    let units = (amount / unit).ceil();
    i64::try_from(units).map_err(|_| format!("{amount} / {unit} is out of range"))
}

impl Market {
    /// `symbol` from an `exchangeInfo` answer, at `last_price` (the last trade, if any).
    pub fn from_exchange_info(
        info: &Value,
        symbol: &str,
        last_price: Option<Decimal>,
    ) -> Result<Market, String> {
        let entry = info["symbols"]
            .as_array()
            .and_then(|symbols| symbols.iter().find(|entry| entry["symbol"] == symbol))
            .ok_or_else(|| format!("{symbol} is not listed in exchangeInfo"))?;
        let price_filter = filter(entry, "PRICE_FILTER")?;
        let lot_size = filter(entry, "LOT_SIZE")?;
        let tick_size = decimal(price_filter, "tickSize")?;
        let step_size = decimal(lot_size, "stepSize")?;
        let min_qty = decimal(lot_size, "minQty")?;
        let min_notional = match filter(entry, "NOTIONAL") {
            Ok(notional) => decimal(notional, "minNotional")?,
            Err(_none) => Decimal::ZERO,
        };
        let mid_ticks = match last_price {
            Some(price) if price > Decimal::ZERO => units_up(price, tick_size)?,
            _ => MID_TICKS_UNTRADED,
        };
        let offset_ticks_max = (mid_ticks * SPREAD_BPS / 10_000).max(1);
        let lowest_price = Decimal::from(mid_ticks - offset_ticks_max) * tick_size;
        if lowest_price <= Decimal::ZERO {
            return Err(format!("{symbol}: mid {mid_ticks} ticks is too low to place around"));
        }
        let notional_lots = units_up(min_notional / lowest_price, step_size)?;
        let qty_floor_lots = notional_lots.max(units_up(min_qty, step_size)?).max(1);
        Ok(Market {
            symbol: symbol.to_owned(),
            base_asset: entry["baseAsset"].as_str().ok_or("baseAsset missing")?.to_owned(),
            quote_asset: entry["quoteAsset"].as_str().ok_or("quoteAsset missing")?.to_owned(),
            tick_size,
            step_size,
            mid_ticks,
            qty_floor_lots: u64::try_from(qty_floor_lots).map_err(|_| "negative quantity")?,
            offset_ticks_max,
        })
    }

    /// A GTC limit order within the spread of the mid: resting on its own side, or one in
    /// [`CROSSING_ONE_IN`] priced across the mid; quantity 2 to 4 times the floor, so an amend
    /// can halve it and stay valid.
    pub fn order(&self, rng: &mut impl Rng) -> OrderShape {
        let buy = rng.gen_bool(0.5);
        let offset = rng.gen_range(1..=self.offset_ticks_max);
        let crossing = rng.gen_range(0..CROSSING_ONE_IN) == 0;
        let below_mid = buy != crossing;
        let price_ticks = if below_mid { self.mid_ticks - offset } else { self.mid_ticks + offset };
        let qty_lots = rng.gen_range(2 * self.qty_floor_lots..=4 * self.qty_floor_lots);
        OrderShape { buy, price_ticks, qty_lots }
    }

    pub fn price(&self, ticks: i64) -> String {
        (Decimal::from(ticks) * self.tick_size).normalize().to_string()
    }

    pub fn qty(&self, lots: u64) -> String {
        (Decimal::from(lots) * self.step_size).normalize().to_string()
    }

    /// Lots in a rendered quantity (`executedQty`, `origQty`), rounded down.
    pub fn lots(&self, qty: &str) -> Option<u64> {
        let qty: Decimal = qty.parse().ok()?;
        u64::try_from((qty / self.step_size).floor()).ok()
    }

    /// Deposits that fund `orders_max` open orders on both sides of this market:
    /// `(asset, amount)` of the quote and of the base asset.
    pub fn funding(&self, orders_max: u64) -> [(String, String); 2] {
        let highest = Decimal::from(self.mid_ticks + self.offset_ticks_max) * self.tick_size;
        let base = Decimal::from(4 * self.qty_floor_lots * orders_max) * self.step_size;
        let quote = (base * highest * Decimal::TWO).ceil();
        [
            (self.quote_asset.clone(), quote.normalize().to_string()),
            (self.base_asset.clone(), base.ceil().normalize().to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use serde_json::json;

    use super::*;

    fn info() -> Value {
        json!({"symbols": [{
            "symbol": "BTCUSDT", "baseAsset": "BTC", "quoteAsset": "USDT",
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000", "tickSize": "0.01"},
                {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000", "stepSize": "0.00001"},
                {"filterType": "NOTIONAL", "minNotional": "5", "applyMinToMarket": true,
                 "maxNotional": "9000000", "applyMaxToMarket": false, "avgPriceMins": 5}
            ]
        }]})
    }

    #[test]
    fn every_order_meets_the_filters_and_stays_near_the_mid() {
        let market = Market::from_exchange_info(&info(), "BTCUSDT", Some("50000".parse().unwrap()))
            .expect("market");
        assert_eq!(market.mid_ticks, 5_000_000);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (mut crossing, mut resting) = (0, 0);
        for _ in 0..10_000 {
            let order = market.order(&mut rng);
            let price: Decimal = market.price(order.price_ticks).parse().unwrap();
            let floor: Decimal = market.qty(market.qty_floor_lots).parse().unwrap();
            assert!(price * floor >= Decimal::from(5), "{order:?}: the floor meets the notional");
            assert!((order.price_ticks - market.mid_ticks).abs() <= 50_000, "{order:?}");
            assert!(order.qty_lots >= 2 * market.qty_floor_lots);
            if order.buy == (order.price_ticks > market.mid_ticks) {
                crossing += 1;
            } else {
                resting += 1;
            }
        }
        assert!(crossing > 500 && resting > 8_000, "{crossing} crossing, {resting} resting");
    }

    #[test]
    fn an_untraded_symbol_is_placed_around_the_default_mid() {
        let market = Market::from_exchange_info(&info(), "BTCUSDT", None).expect("market");
        assert_eq!((market.mid_ticks, market.price(market.mid_ticks).as_str()), (10_000, "100"));
        // 5 USDT at 99.00 is 0.05051 BTC: 5,051 lots.
        assert_eq!(market.qty_floor_lots, 5_051);
        assert_eq!(market.lots("0.05051000"), Some(5_051));
        assert!(Market::from_exchange_info(&info(), "ETHUSDT", None).is_err());
    }
}
