//! `GET /fapi/v2/positionRisk` (extension): an account's perpetual positions, shaped like
//! Binance USD-M futures' answer (one-way mode, cross margin), with the fields that apply.
//! Values are computed from the shard's exact position (size in lots, entry cost and PnL in
//! quote minor units) and its latest mark; the liquidation price comes from the margin math
//! (`exchange_actors::liquidation`), given the account's wallet balance and its other
//! positions' unrealized PnL and maintenance margin.

use actix_web::{HttpResponse, web};
use exchange_actors::account::Position;
use exchange_actors::account::actor::{GetPositions, PositionsView};
use exchange_actors::liquidation::{MarginRates, liquidation_price};
use exchange_actors::model::{Price, Qty, SymbolCode};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::core::{TradingCore, mailbox_error, shard_error};
use super::errors::ApiError;
use super::openapi::{ErrorBody, SIGNED, SIGNED_401, UNAVAILABLE, refused};
use super::request_schemas::SignedFields;
use super::state::{ApiMarket, ApiMarkets, ApiState};

/// Places entry and liquidation prices are shown with (they are averages, not on the tick grid).
const PRICE_PLACES: u32 = 8;

/// One position as Binance USD-M `positionRisk` shows it. Decimals are strings.
#[derive(Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PositionRiskBody {
    pub symbol: String,
    /// Signed size in the base asset: > 0 long, < 0 short.
    pub position_amt: String,
    pub entry_price: String,
    /// "0" before the first mark.
    pub mark_price: String,
    pub un_realized_profit: String,
    /// "0" when flat or when no positive price liquidates the account.
    pub liquidation_price: String,
    /// The symbol's maximum leverage (positions use its initial margin rate).
    pub leverage: String,
    pub max_notional_value: String,
    /// Always "cross".
    pub margin_type: &'static str,
    pub isolated_margin: &'static str,
    pub is_auto_add_margin: &'static str,
    /// Always "BOTH" (one-way mode).
    pub position_side: &'static str,
    /// Signed value of the position at the mark.
    pub notional: String,
    pub isolated_wallet: &'static str,
    pub update_time: u64,
    /// Extension: PnL realized by reducing fills (fees excluded).
    pub realized_pnl: String,
    /// Extension: funding received (> 0) or paid (< 0).
    pub funding_pnl: String,
}

/// The account's perpetual positions (extension, after Binance USD-M `positionRisk`).
///
/// Every perpetual the account has traded (flat positions show size 0 and keep their realized
/// PnL), or the one named by `symbol`.
#[utoipa::path(
    get,
    path = "/fapi/v2/positionRisk",
    tag = "trading",
    params(
        ("symbol" = Option<String>, Query, description = "Only this perpetual."),
        SignedFields,
    ),
    responses(
        (status = 200, description = "The positions, by symbol.", body = Vec<PositionRiskBody>),
        (status = 400, description = refused(&[SIGNED]), body = ErrorBody),
        (status = 401, description = refused(&[SIGNED_401]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("apiKey" = [], "signature" = []))
)]
pub async fn position_risk(
    auth: Authenticated,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
) -> Result<HttpResponse, ApiError> {
    let markets = state.markets();
    let only = match auth.params.optional("symbol")? {
        Some(text) => match markets.get(text).filter(|market| market.spec.is_perpetual()) {
            Some(market) => Some(market.symbol()),
            None => return Err(ApiError::invalid_symbol()),
        },
        None => None,
    };
    let view = core
        .shard(auth.account_id)
        .send(GetPositions(auth.account_id))
        .await
        .map_err(|error| mailbox_error(&error))?
        .map_err(shard_error)?;
    let bodies = position_bodies(&view, &markets, state.now_ms())
        .into_iter()
        .filter(|(symbol, _)| only.is_none_or(|only| only == *symbol))
        .map(|(_, body)| body)
        .collect::<Vec<_>>();
    Ok(HttpResponse::Ok().json(bodies))
}

/// One position in real units (base and quote), as the margin math takes it.
struct Valued<'a> {
    symbol: SymbolCode,
    market: &'a ApiMarket,
    exact: Position,
    margin: exchange_actors::liquidation::Position,
    /// The mark, or the entry price before the first mark.
    mark: Decimal,
    mark_price: Option<Price>,
    rates: MarginRates,
}

impl Valued<'_> {
    fn pnl(&self) -> Decimal {
        self.margin.unrealized_pnl(self.mark)
    }
}

/// The bodies of `view`'s positions, by symbol.
pub fn position_bodies(
    view: &PositionsView,
    markets: &ApiMarkets,
    now_ms: u64,
) -> Vec<(SymbolCode, PositionRiskBody)> {
    let valued: Vec<Valued<'_>> = view
        .positions
        .iter()
        .filter_map(|(symbol, exact, mark)| {
            let market = markets.get(symbol.as_str())?;
            let perpetual = market.spec.perpetual.as_ref()?;
            let quote_unit = Decimal::new(1, market.ledger.quote_scale);
            let lot = market.spec.step_size;
            // Entry per lot in quote minor units -> per base unit in quote.
            let per_lot = exact.to_margin();
            let margin = exchange_actors::liquidation::Position {
                size: per_lot.size * lot,
                entry_price: per_lot.entry_price * quote_unit / lot,
            };
            let mark_decimal = mark.map(|mark| market.spec.ticks_to_price(mark));
            Some(Valued {
                symbol: *symbol,
                market,
                exact: *exact,
                margin,
                mark: mark_decimal.unwrap_or(margin.entry_price),
                mark_price: *mark,
                rates: MarginRates {
                    initial: perpetual.initial_margin_rate,
                    maintenance: perpetual.maintenance_margin_rate,
                },
            })
        })
        .collect();
    valued.iter().map(|position| (position.symbol, body(position, &valued, view, now_ms))).collect()
}

fn body(
    position: &Valued<'_>,
    all: &[Valued<'_>],
    view: &PositionsView,
    now_ms: u64,
) -> PositionRiskBody {
    let market = position.market;
    let quote = market.ledger.quote;
    let quote_scale = market.ledger.quote_scale;
    let amount = |minor: i128| Decimal::from_i128_with_scale(minor, quote_scale);
    let wallet = view
        .wallets
        .iter()
        .find(|(asset, _)| *asset == quote)
        .map_or(Decimal::ZERO, |(_, balance)| amount(*balance));
    let others = all.iter().filter(|other| other.symbol != position.symbol);
    let others_pnl: Decimal = others.clone().map(Valued::pnl).sum();
    let others_maintenance: Decimal =
        others.map(|other| other.margin.maintenance_margin(other.mark, other.rates)).sum();
    let liquidation = liquidation_price(
        &position.margin,
        wallet + others_pnl,
        others_maintenance,
        position.rates,
    )
    .unwrap_or(Decimal::ZERO);
    let size = Qty(position.exact.size_lots.unsigned_abs());
    let base = market.spec.lots_to_qty(size);
    let signed = if position.exact.size_lots < 0 { -base } else { base };
    let text = |value: Decimal| value.round_dp(PRICE_PLACES).normalize().to_string();
    let perpetual = market.spec.perpetual.as_ref().expect("valued positions are perpetuals");
    PositionRiskBody {
        symbol: position.symbol.to_string(),
        position_amt: signed.normalize().to_string(),
        entry_price: text(position.margin.entry_price),
        mark_price: position.mark_price.map_or_else(
            || "0".to_owned(),
            |mark| market.spec.ticks_to_price(mark).normalize().to_string(),
        ),
        un_realized_profit: text(position.pnl()),
        liquidation_price: text(liquidation),
        leverage: perpetual.max_leverage.to_string(),
        max_notional_value: market.spec.max_notional.normalize().to_string(),
        margin_type: "cross",
        isolated_margin: "0",
        is_auto_add_margin: "false",
        position_side: "BOTH",
        notional: text(signed * position.mark),
        isolated_wallet: "0",
        update_time: now_ms,
        realized_pnl: text(amount(position.exact.realized_pnl)),
        funding_pnl: text(amount(position.exact.funding_pnl)),
    }
}

#[cfg(test)]
mod tests {
    use exchange_actors::model::AssetCode;

    use super::*;
    use crate::api::testing::markets;

    #[test]
    fn a_long_shows_binance_fields_and_its_cross_margin_liquidation_price() {
        let symbol = SymbolCode::new("BTCUSDT_PERP").unwrap();
        // Long 1 BTC (1,000 lots of 0.001) bought for 50,000 USDT (8 places), marked at 49,000.
        let position = Position {
            size_lots: 1_000,
            entry_cost: 50_000 * 100_000_000,
            realized_pnl: 400 * 100_000_000,
            funding_pnl: -150_000_000,
        };
        let view = PositionsView {
            positions: vec![(symbol, position, Some(Price(4_900_000)))],
            wallets: vec![(AssetCode::new("USDT").unwrap(), 10_000 * 100_000_000)],
        };
        let bodies = position_bodies(&view, &markets(), 7);
        let [(listed, body)] = bodies.as_slice() else { panic!("one position: {bodies:?}") };
        assert_eq!(*listed, symbol);
        assert_eq!(
            (body.position_amt.as_str(), body.entry_price.as_str(), body.mark_price.as_str()),
            ("1", "50000", "49000")
        );
        assert_eq!((body.un_realized_profit.as_str(), body.notional.as_str()), ("-1000", "49000"));
        // Wallet 10,000 + (p - 50,000) = 2.5% of p  =>  p = 40,000 / 0.975.
        assert_eq!(body.liquidation_price, "41025.64102564");
        assert_eq!((body.realized_pnl.as_str(), body.funding_pnl.as_str()), ("400", "-1.5"));
        assert_eq!(
            (body.leverage.as_str(), body.margin_type, body.position_side),
            ("20", "cross", "BOTH")
        );
    }

    #[test]
    fn a_flat_position_keeps_its_pnl_and_shows_no_liquidation() {
        let symbol = SymbolCode::new("BTCUSDT_PERP").unwrap();
        let position = Position { realized_pnl: -25_000_000, ..Position::default() };
        let view = PositionsView { positions: vec![(symbol, position, None)], wallets: vec![] };
        let bodies = position_bodies(&view, &markets(), 7);
        let body = &bodies[0].1;
        assert_eq!(
            (body.position_amt.as_str(), body.mark_price.as_str(), body.liquidation_price.as_str()),
            ("0", "0", "0")
        );
        assert_eq!(body.realized_pnl, "-0.25");
    }
}
