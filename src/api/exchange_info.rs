//! The body of `GET /api/v3/exchangeInfo`, built from the markets alone: every field ccxt
//! reads (BINANCE_COMPAT.md), every filter the exchange enforces, and nothing that marks a
//! futures market (no contractType, deliveryDate, underlying): perpetual symbols are not
//! listed at all. The kill switches show as
//! Binance shows such states: `status` TRADING / BREAK (cancel-only) / HALT, `orderTypes`
//! without the disabled ones, `isSpotTradingAllowed`, and price protection as a
//! PERCENT_PRICE filter.

use exchange_actors::model::BASIS_POINTS_PER_WHOLE;
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use super::render::with_places;
use super::state::ApiMarket;
use crate::control::Switches;

pub const ORDER_TYPES: [&str; 3] = ["LIMIT", "LIMIT_MAKER", "MARKET"];
pub const SELF_TRADE_PREVENTION_MODES: [&str; 4] =
    ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"];

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeInfo {
    pub timezone: &'static str,
    pub server_time: u64,
    /// REQUEST_WEIGHT per minute and ORDERS per 10 s and per day (per API key).
    pub rate_limits: Vec<RateLimit>,
    /// Empty.
    #[schema(value_type = Vec<Object>)]
    pub exchange_filters: Vec<serde_json::Value>,
    pub symbols: Vec<SymbolInfo>,
}

/// One of Binance's `rateLimits` entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// REQUEST_WEIGHT or ORDERS.
    pub rate_limit_type: &'static str,
    /// SECOND, MINUTE or DAY.
    pub interval: &'static str,
    pub interval_num: u32,
    pub limit: u32,
}

/// One market: its assets, precisions, order types and filters.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SymbolInfo {
    pub symbol: String,
    pub status: &'static str,
    pub base_asset: String,
    pub base_asset_precision: u32,
    pub quote_asset: String,
    pub quote_precision: u32,
    pub quote_asset_precision: u32,
    pub base_commission_precision: u32,
    pub quote_commission_precision: u32,
    pub order_types: Vec<&'static str>,
    pub iceberg_allowed: bool,
    pub oco_allowed: bool,
    pub oto_allowed: bool,
    pub quote_order_qty_market_allowed: bool,
    pub allow_trailing_stop: bool,
    pub cancel_replace_allowed: bool,
    pub is_spot_trading_allowed: bool,
    pub is_margin_trading_allowed: bool,
    pub filters: Vec<Filter>,
    pub permissions: [&'static str; 1],
    pub permission_sets: [[&'static str; 1]; 1],
    pub default_self_trade_prevention_mode: &'static str,
    pub allowed_self_trade_prevention_modes: [&'static str; 4],
}

/// Binance's symbol filters, tagged by `filterType`; decimals as strings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "filterType", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Filter {
    #[serde(rename_all = "camelCase")]
    PriceFilter { min_price: String, max_price: String, tick_size: String },
    #[serde(rename_all = "camelCase")]
    LotSize { min_qty: String, max_qty: String, step_size: String },
    #[serde(rename_all = "camelCase")]
    MarketLotSize { min_qty: String, max_qty: String, step_size: String },
    #[serde(rename_all = "camelCase")]
    Notional {
        min_notional: String,
        apply_min_to_market: bool,
        max_notional: String,
        apply_max_to_market: bool,
        avg_price_mins: u32,
    },
    #[serde(rename_all = "camelCase")]
    PercentPriceBySide {
        bid_multiplier_up: String,
        bid_multiplier_down: String,
        ask_multiplier_up: String,
        ask_multiplier_down: String,
        avg_price_mins: u32,
    },
    /// Price protection (a kill switch): a limit price must lie within these multipliers of
    /// the last trade price.
    #[serde(rename_all = "camelCase")]
    PercentPrice { multiplier_up: String, multiplier_down: String, avg_price_mins: u32 },
    #[serde(rename_all = "camelCase")]
    MaxNumOrders { max_num_orders: usize },
}

/// Places a band multiplier is shown with: one basis point is the 4th decimal place.
const MULTIPLIER_PLACES: u32 = 4;
const _: () = assert!(BASIS_POINTS_PER_WHOLE == 10_000);

pub fn exchange_info<'a>(
    markets: impl IntoIterator<Item = &'a ApiMarket>,
    server_time_ms: u64,
    switches: &Switches,
    rate_limits: Vec<RateLimit>,
    open_orders_per_account_max: usize,
) -> ExchangeInfo {
    ExchangeInfo {
        timezone: "UTC",
        server_time: server_time_ms,
        rate_limits,
        exchange_filters: Vec::new(),
        // Perpetuals are left out: a spot client (ccxt with `types: ["spot"]`) would read one as
        // a second BTC/USDT spot market. They trade through the same order routes by name.
        symbols: markets
            .into_iter()
            .filter(|market| !market.spec.is_perpetual())
            .map(|market| symbol_info(market, switches, open_orders_per_account_max))
            .collect(),
    }
}

pub fn symbol_info(
    market: &ApiMarket,
    switches: &Switches,
    open_orders_per_account_max: usize,
) -> SymbolInfo {
    let spec = &market.spec;
    let mode = switches.mode_of(&spec.symbol);
    let own = switches.symbol(&spec.symbol);
    let order_types = ORDER_TYPES
        .into_iter()
        .filter(|name| own.is_none_or(|own| !own.disabled_order_types.contains(*name)))
        .collect();
    let mut filters = filters(market, open_orders_per_account_max);
    if let Some(bps) = own.map(|own| own.price_protection_bps).filter(|bps| *bps > 0) {
        let (up, down) = multipliers(bps);
        // Before MAX_NUM_ORDERS, the last filter.
        let at = filters.len() - 1;
        let protection =
            Filter::PercentPrice { multiplier_up: up, multiplier_down: down, avg_price_mins: 0 };
        filters.insert(at, protection);
    }
    SymbolInfo {
        symbol: spec.symbol.clone(),
        status: mode.symbol_status(),
        base_asset: spec.base_asset.clone(),
        base_asset_precision: market.base_precision(),
        quote_asset: spec.quote_asset.clone(),
        quote_precision: market.quote_precision(),
        quote_asset_precision: market.quote_precision(),
        base_commission_precision: market.base_precision(),
        quote_commission_precision: market.quote_precision(),
        order_types,
        iceberg_allowed: false,
        oco_allowed: false,
        oto_allowed: false,
        quote_order_qty_market_allowed: true,
        allow_trailing_stop: false,
        cancel_replace_allowed: true,
        is_spot_trading_allowed: mode.allows_new_orders(),
        is_margin_trading_allowed: false,
        filters,
        permissions: ["SPOT"],
        permission_sets: [["SPOT"]],
        default_self_trade_prevention_mode: "NONE",
        allowed_self_trade_prevention_modes: SELF_TRADE_PREVENTION_MODES,
    }
}

/// `1 + bps` and `1 - bps` as Binance's multiplier strings.
fn multipliers(bps: u32) -> (String, String) {
    let band = Decimal::new(i64::from(bps), 4);
    let up = with_places(Decimal::ONE + band, MULTIPLIER_PLACES);
    let down = with_places(Decimal::ONE - band, MULTIPLIER_PLACES);
    (up, down)
}

fn filters(market: &ApiMarket, open_orders_per_account_max: usize) -> Vec<Filter> {
    let spec = &market.spec;
    let price = |value| with_places(value, market.quote_precision());
    let qty = |value| with_places(value, market.base_precision());
    let mut filters = vec![
        Filter::PriceFilter {
            min_price: price(spec.min_price),
            max_price: price(spec.max_price),
            tick_size: price(spec.tick_size),
        },
        Filter::LotSize {
            min_qty: qty(spec.min_qty),
            max_qty: qty(spec.max_qty),
            step_size: qty(spec.step_size),
        },
        Filter::MarketLotSize {
            min_qty: qty(spec.min_qty),
            max_qty: qty(spec.max_qty),
            step_size: qty(spec.step_size),
        },
        Filter::Notional {
            min_notional: price(spec.min_notional),
            apply_min_to_market: true,
            max_notional: price(spec.max_notional),
            apply_max_to_market: true,
            avg_price_mins: 0,
        },
    ];
    if spec.price_band_bps > 0 {
        let (up, down) = multipliers(spec.price_band_bps);
        filters.push(Filter::PercentPriceBySide {
            bid_multiplier_up: up.clone(),
            bid_multiplier_down: down.clone(),
            ask_multiplier_up: up,
            ask_multiplier_down: down,
            avg_price_mins: 0,
        });
    }
    // The shard's limit counts open orders over all symbols, so it bounds each one too.
    filters.push(Filter::MaxNumOrders { max_num_orders: open_orders_per_account_max });
    filters
}
