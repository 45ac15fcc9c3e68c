//! Order vocabulary shared by commands, events and the API: side, type, time in force,
//! self-trade prevention, and how a quantity is expressed.

use serde::{Deserialize, Serialize};

use super::{Notional, Qty};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub const fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// Binance's spot order types that this exchange supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderType {
    /// Rests at its price after matching what crosses (per its time in force).
    Limit,
    /// Takes liquidity up to the price band; never rests.
    Market,
    /// Post-only limit: refused, never repriced, when it would take.
    LimitMaker,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TimeInForce {
    /// Good till canceled: the remainder rests.
    Gtc,
    /// Immediate or cancel: the remainder expires.
    Ioc,
    /// Fill or kill: all at once or nothing.
    Fok,
}

/// What happens when a taker meets a resting order of its own account (the taker's mode rules).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SelfTradePrevention {
    /// Self-trades are allowed.
    #[default]
    None,
    /// The taker's remainder expires; the resting order stays.
    ExpireTaker,
    /// The resting order expires; the taker goes on matching.
    ExpireMaker,
    /// Both expire.
    ExpireBoth,
}

/// How much an order asks for: base lots, or (market orders only) a quote amount to spend or
/// receive, in notional units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderQuantity {
    Base(Qty),
    Quote(Notional),
}
