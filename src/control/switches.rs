//! [`Switches`]: the operator's kill switches as one pure value, and the checks the gateway
//! asks of it before an order, a cancel or a transfer goes any further.
//!
//! A mode is global or per symbol; what applies to a symbol is the stricter of the two. Modes,
//! from least to most strict:
//! - `NORMAL`: everything.
//! - `CANCEL_ONLY`: cancels only; new orders (and amends) are refused.
//! - `READ_ONLY`: neither orders nor cancels; queries and market data are served.
//! - `HALTED`: as READ_ONLY; globally, deposits and withdrawals stop too; for a symbol, its
//!   order book (depth) is not served either.
//!
//! Besides modes: withdrawals on or off; per symbol, disabled order types, a price-protection
//! band (a limit order priced more than `priceProtectionBps` from the last trade is refused)
//! and a request-weight limit that overrides the per-key one for that symbol's requests.
//!
//! Bounded: one entry per listed symbol at most ([`SYMBOL_SWITCHES_MAX`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Symbols with switches of their own, at most.
pub const SYMBOL_SWITCHES_MAX: usize = 4_096;
/// The order types a symbol may disable (exchangeInfo's `orderTypes`).
pub const ORDER_TYPE_NAMES: [&str; 3] = ["LIMIT", "LIMIT_MAKER", "MARKET"];
/// A price-protection band is below 100% (like the book's `priceBandBps`).
pub const PRICE_PROTECTION_BPS_MAX: u32 = 9_999;

/// How much of the exchange (or of a symbol) works; ordered from least to most strict.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradingMode {
    #[default]
    Normal,
    CancelOnly,
    ReadOnly,
    Halted,
}

impl TradingMode {
    pub fn allows_new_orders(self) -> bool {
        self == TradingMode::Normal
    }

    pub fn allows_cancels(self) -> bool {
        self <= TradingMode::CancelOnly
    }

    /// The value of the `exchange_trading_mode` gauges.
    pub fn gauge_value(self) -> f64 {
        match self {
            TradingMode::Normal => 0.0,
            TradingMode::CancelOnly => 1.0,
            TradingMode::ReadOnly => 2.0,
            TradingMode::Halted => 3.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TradingMode::Normal => "NORMAL",
            TradingMode::CancelOnly => "CANCEL_ONLY",
            TradingMode::ReadOnly => "READ_ONLY",
            TradingMode::Halted => "HALTED",
        }
    }

    /// exchangeInfo's symbol `status` (Binance: TRADING, BREAK, HALT).
    pub fn symbol_status(self) -> &'static str {
        match self {
            TradingMode::Normal => "TRADING",
            TradingMode::CancelOnly => "BREAK",
            TradingMode::ReadOnly | TradingMode::Halted => "HALT",
        }
    }
}

/// One symbol's switches.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SymbolSwitches {
    pub mode: TradingMode,
    /// Names from [`ORDER_TYPE_NAMES`] refused for this symbol.
    pub disabled_order_types: BTreeSet<String>,
    /// 0: off. Else a limit order more than this many basis points from the last trade price
    /// is refused.
    pub price_protection_bps: u32,
    /// New orders (weight 1 each) per minute and account on this symbol, on top of the
    /// per-key limits (a tighter limit for a hot symbol); `None`: no override.
    pub request_weight_per_minute: Option<u32>,
}

impl SymbolSwitches {
    fn is_default(&self) -> bool {
        *self == SymbolSwitches::default()
    }
}

/// Every switch. Persisted as JSON, shown by `GET /admin/switches`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Switches {
    pub mode: TradingMode,
    pub withdrawals_enabled: bool,
    /// Only symbols with a switch that is not the default.
    pub symbols: BTreeMap<String, SymbolSwitches>,
}

impl Default for Switches {
    fn default() -> Switches {
        Switches { mode: TradingMode::Normal, withdrawals_enabled: true, symbols: BTreeMap::new() }
    }
}

/// A global change (`PUT /admin/switches`): the fields sent change, the others stay.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GlobalChange {
    pub mode: Option<TradingMode>,
    pub withdrawals_enabled: Option<bool>,
}

/// A symbol's change (`PUT /admin/switches/symbols/{symbol}`): the fields sent change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SymbolChange {
    pub mode: Option<TradingMode>,
    pub disabled_order_types: Option<BTreeSet<String>>,
    pub price_protection_bps: Option<u32>,
    /// `0` removes the override.
    pub request_weight_per_minute: Option<u32>,
}

/// Why the switches refuse a request; `Display` is the message the client reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The exchange's or the symbol's mode forbids it.
    Mode {
        symbol: Option<String>,
        mode: TradingMode,
        action: Action,
    },
    OrderTypeDisabled {
        symbol: String,
        order_type: String,
    },
    /// A limit price outside the protection band around the last trade.
    PriceProtection {
        symbol: String,
        bps: u32,
    },
    WithdrawalsDisabled,
}

/// What a refused request wanted to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    NewOrder,
    Cancel,
    Transfer,
    MarketData,
}

impl fmt::Display for Refusal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Mode { symbol, mode, action } => {
                let what = match action {
                    Action::NewOrder => "new orders are refused",
                    Action::Cancel => "cancels are refused",
                    Action::Transfer => "deposits and withdrawals are refused",
                    Action::MarketData => "its market data is not served",
                };
                let scope = symbol.as_deref().unwrap_or("the exchange");
                let cancels = if *mode == TradingMode::CancelOnly { "; cancels work" } else { "" };
                write!(formatter, "Market is closed: {scope} is {}, {what}{cancels}.", mode.name())
            }
            Refusal::OrderTypeDisabled { symbol, order_type } => write!(
                formatter,
                "Order type not supported for this symbol: {order_type} is disabled on {symbol}."
            ),
            Refusal::PriceProtection { symbol, bps } => write!(
                formatter,
                "Filter failure: PERCENT_PRICE_BY_SIDE (price more than {bps} bps from the last \
                 trade of {symbol})"
            ),
            Refusal::WithdrawalsDisabled => formatter.write_str("Withdrawals are disabled."),
        }
    }
}

/// A change the switches cannot take; the message names the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("unknown order type {0} in disabledOrderTypes (one of LIMIT, LIMIT_MAKER, MARKET)")]
    UnknownOrderType(String),
    #[error("priceProtectionBps {0} is not below 10000")]
    ProtectionTooWide(u32),
    #[error("at most {SYMBOL_SWITCHES_MAX} symbols may have switches")]
    TooManySymbols,
}

impl Switches {
    /// The mode that applies to `symbol`: the stricter of the global one and its own.
    pub fn mode_of(&self, symbol: &str) -> TradingMode {
        self.symbols.get(symbol).map_or(self.mode, |own| own.mode.max(self.mode))
    }

    pub fn symbol(&self, symbol: &str) -> Option<&SymbolSwitches> {
        self.symbols.get(symbol)
    }

    fn refuse_by_mode(&self, symbol: &str, action: Action) -> Refusal {
        let own = self.symbols.get(symbol).map_or(TradingMode::Normal, |own| own.mode);
        // Name the switch that decided: the global one when it is at least as strict.
        let symbol = (own > self.mode).then(|| symbol.to_owned());
        Refusal::Mode { symbol, mode: own.max(self.mode), action }
    }

    /// Whether a new order (or an amend) of `order_type` on `symbol` may go on. `price` and
    /// `last_price` (the same units) are checked against the protection band when both exist.
    pub fn check_new_order(
        &self,
        symbol: &str,
        order_type: &str,
        price_and_last: Option<(i64, i64)>,
    ) -> Result<(), Refusal> {
        if !self.mode_of(symbol).allows_new_orders() {
            return Err(self.refuse_by_mode(symbol, Action::NewOrder));
        }
        let Some(own) = self.symbols.get(symbol) else { return Ok(()) };
        if own.disabled_order_types.contains(order_type) {
            let (symbol, order_type) = (symbol.to_owned(), order_type.to_owned());
            return Err(Refusal::OrderTypeDisabled { symbol, order_type });
        }
        if let Some((price, last)) = price_and_last
            && own.price_protection_bps > 0
            && last > 0
            && !within_bps(price, last, own.price_protection_bps)
        {
            let bps = own.price_protection_bps;
            return Err(Refusal::PriceProtection { symbol: symbol.to_owned(), bps });
        }
        Ok(())
    }

    pub fn check_cancel(&self, symbol: &str) -> Result<(), Refusal> {
        if self.mode_of(symbol).allows_cancels() {
            return Ok(());
        }
        Err(self.refuse_by_mode(symbol, Action::Cancel))
    }

    /// Deposits: refused only when the exchange is halted.
    pub fn check_deposit(&self) -> Result<(), Refusal> {
        if self.mode == TradingMode::Halted {
            let mode = self.mode;
            return Err(Refusal::Mode { symbol: None, mode, action: Action::Transfer });
        }
        Ok(())
    }

    pub fn check_withdrawal(&self) -> Result<(), Refusal> {
        self.check_deposit()?;
        if self.withdrawals_enabled { Ok(()) } else { Err(Refusal::WithdrawalsDisabled) }
    }

    /// A symbol's order book is not served while the symbol itself is halted.
    pub fn check_market_data(&self, symbol: &str) -> Result<(), Refusal> {
        match self.symbols.get(symbol) {
            Some(own) if own.mode == TradingMode::Halted => Err(Refusal::Mode {
                symbol: Some(symbol.to_owned()),
                mode: own.mode,
                action: Action::MarketData,
            }),
            _ => Ok(()),
        }
    }

    /// The switches after `change`.
    pub fn with_global(&self, change: &GlobalChange) -> Switches {
        let mut after = self.clone();
        if let Some(mode) = change.mode {
            after.mode = mode;
        }
        if let Some(enabled) = change.withdrawals_enabled {
            after.withdrawals_enabled = enabled;
        }
        after
    }

    /// The switches after `change` to `symbol` (a listed symbol: the caller checks).
    pub fn with_symbol(
        &self,
        symbol: &str,
        change: &SymbolChange,
    ) -> Result<Switches, ChangeError> {
        let mut own = self.symbols.get(symbol).cloned().unwrap_or_default();
        if let Some(mode) = change.mode {
            own.mode = mode;
        }
        if let Some(types) = &change.disabled_order_types {
            if let Some(unknown) =
                types.iter().find(|name| !ORDER_TYPE_NAMES.contains(&name.as_str()))
            {
                return Err(ChangeError::UnknownOrderType(unknown.clone()));
            }
            own.disabled_order_types = types.clone();
        }
        if let Some(bps) = change.price_protection_bps {
            if bps > PRICE_PROTECTION_BPS_MAX {
                return Err(ChangeError::ProtectionTooWide(bps));
            }
            own.price_protection_bps = bps;
        }
        if let Some(weight) = change.request_weight_per_minute {
            own.request_weight_per_minute = (weight > 0).then_some(weight);
        }
        let mut after = self.clone();
        if own.is_default() {
            after.symbols.remove(symbol);
        } else {
            if !after.symbols.contains_key(symbol) && after.symbols.len() >= SYMBOL_SWITCHES_MAX {
                return Err(ChangeError::TooManySymbols);
            }
            after.symbols.insert(symbol.to_owned(), own);
        }
        Ok(after)
    }
}

/// Whether `price` is within `bps` basis points of `reference` (> 0), in exact integers.
fn within_bps(price: i64, reference: i64, bps: u32) -> bool {
    let distance = (i128::from(price) - i128::from(reference)).abs();
    distance * 10_000 <= i128::from(reference) * i128::from(bps)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn with_symbol(change: SymbolChange) -> Switches {
        Switches::default().with_symbol("BTCUSDT", &change).expect("valid change")
    }

    fn global(mode: TradingMode) -> Switches {
        Switches::default().with_global(&GlobalChange { mode: Some(mode), ..Default::default() })
    }

    #[rstest]
    #[case::normal(TradingMode::Normal, true, true)]
    #[case::cancel_only(TradingMode::CancelOnly, false, true)]
    #[case::read_only(TradingMode::ReadOnly, false, false)]
    #[case::halted(TradingMode::Halted, false, false)]
    fn each_mode_allows_what_it_must(
        #[case] mode: TradingMode,
        #[case] orders: bool,
        #[case] cancels: bool,
    ) {
        for switches in
            [global(mode), with_symbol(SymbolChange { mode: Some(mode), ..Default::default() })]
        {
            assert_eq!(switches.check_new_order("BTCUSDT", "LIMIT", None).is_ok(), orders);
            assert_eq!(switches.check_cancel("BTCUSDT").is_ok(), cancels);
        }
    }

    #[test]
    fn a_symbol_switch_leaves_other_symbols_alone_and_the_stricter_mode_wins() {
        let halted =
            with_symbol(SymbolChange { mode: Some(TradingMode::Halted), ..Default::default() });
        assert!(halted.check_new_order("ETHUSDT", "LIMIT", None).is_ok());
        assert!(halted.check_market_data("BTCUSDT").is_err());
        assert!(halted.check_market_data("ETHUSDT").is_ok());
        let both = halted.with_global(&GlobalChange {
            mode: Some(TradingMode::CancelOnly),
            ..Default::default()
        });
        assert_eq!(both.mode_of("BTCUSDT"), TradingMode::Halted);
        assert_eq!(both.mode_of("ETHUSDT"), TradingMode::CancelOnly);
        let refusal = both.check_new_order("ETHUSDT", "LIMIT", None).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "Market is closed: the exchange is CANCEL_ONLY, new orders are refused; cancels work."
        );
        let refusal = both.check_cancel("BTCUSDT").unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "Market is closed: BTCUSDT is HALTED, cancels are refused."
        );
    }

    #[test]
    fn disabled_order_types_and_price_protection_refuse_new_orders() {
        let switches = with_symbol(SymbolChange {
            disabled_order_types: Some(BTreeSet::from(["MARKET".to_owned()])),
            price_protection_bps: Some(500),
            ..Default::default()
        });
        assert!(matches!(
            switches.check_new_order("BTCUSDT", "MARKET", None),
            Err(Refusal::OrderTypeDisabled { .. })
        ));
        assert!(switches.check_new_order("BTCUSDT", "LIMIT", Some((10_500, 10_000))).is_ok());
        assert!(switches.check_new_order("BTCUSDT", "LIMIT", Some((9_500, 10_000))).is_ok());
        assert!(matches!(
            switches.check_new_order("BTCUSDT", "LIMIT", Some((10_501, 10_000))),
            Err(Refusal::PriceProtection { bps: 500, .. })
        ));
        // No trade yet: nothing to protect against.
        assert!(switches.check_new_order("BTCUSDT", "LIMIT", Some((99_999, 0))).is_ok());
    }

    #[test]
    fn withdrawals_stop_when_switched_off_or_halted() {
        let off = Switches::default()
            .with_global(&GlobalChange { withdrawals_enabled: Some(false), ..Default::default() });
        assert_eq!(off.check_withdrawal(), Err(Refusal::WithdrawalsDisabled));
        assert!(off.check_deposit().is_ok());
        let halted = global(TradingMode::Halted);
        assert!(halted.check_withdrawal().is_err() && halted.check_deposit().is_err());
    }

    #[test]
    fn bad_changes_are_refused_and_a_change_back_to_defaults_forgets_the_symbol() {
        let bad_type = SymbolChange {
            disabled_order_types: Some(BTreeSet::from(["STOP".to_owned()])),
            ..Default::default()
        };
        assert_eq!(
            Switches::default().with_symbol("BTCUSDT", &bad_type),
            Err(ChangeError::UnknownOrderType("STOP".to_owned()))
        );
        let too_wide = SymbolChange { price_protection_bps: Some(10_000), ..Default::default() };
        assert!(Switches::default().with_symbol("BTCUSDT", &too_wide).is_err());
        let overridden =
            with_symbol(SymbolChange { request_weight_per_minute: Some(10), ..Default::default() });
        assert_eq!(overridden.symbols["BTCUSDT"].request_weight_per_minute, Some(10));
        let back = overridden
            .with_symbol(
                "BTCUSDT",
                &SymbolChange { request_weight_per_minute: Some(0), ..Default::default() },
            )
            .expect("valid");
        assert_eq!(back, Switches::default());
    }

    #[test]
    fn the_persisted_form_round_trips() {
        let switches =
            with_symbol(SymbolChange { mode: Some(TradingMode::CancelOnly), ..Default::default() });
        let json = serde_json::to_string(&switches).expect("serializes");
        assert!(json.contains("\"CANCEL_ONLY\""), "{json}");
        assert_eq!(serde_json::from_str::<Switches>(&json).expect("parses"), switches);
    }
}
