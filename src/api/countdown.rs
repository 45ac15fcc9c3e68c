//! `POST /api/v3/countdownCancelAll` (extension, after Binance futures): the dead man's
//! switch. The route only reads the parameters and hands them to the [`DeadManSwitch`] actor.

use actix::Addr;
use actix_web::{HttpResponse, web};
use exchange_actors::deadman::{
    COUNTDOWN_MS_MAX, COUNTDOWN_MS_MIN, COUNTDOWNS_PER_ACCOUNT_MAX, CountdownError, CountdownKey,
};
use exchange_actors::model::AccountId;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::core::mailbox_error;
use super::dead_man::{DeadManSwitch, SetCountdown};
use super::errors::{ApiError, code};
use super::openapi::{ErrorBody, SIGNED, SIGNED_401, UNAVAILABLE, refused};
use super::param_set::Params;
use super::params::market;
use super::request_schemas::SignedFields;
use super::state::ApiState;

/// The answer: the countdown as set.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CountdownBody {
    /// The market the countdown guards; `null` for all the account's markets.
    symbol: Option<String>,
    /// The countdown armed, in ms; 0 when disarmed.
    countdown_time: u64,
}

/// Countdown cancel-all (dead man's switch).
///
/// Arms a countdown of `countdownTime` ms (1000 to 600000) for the account's orders in
/// `symbol`, or in every market when `symbol` is absent; each call re-arms it from now. If it
/// runs out before the next call, every open order it guards is canceled (one bulk cancel per
/// market, within 50 ms of the deadline). `countdownTime=0` disarms it. A symbol's countdown
/// and the all-markets countdown are independent. At most 64 countdowns per account.
/// Countdowns are not persisted: after a restart of the exchange every switch is disarmed.
#[utoipa::path(
    post,
    path = "/api/v3/countdownCancelAll",
    tag = "trading",
    params(
        ("symbol" = Option<String>, Query,
            description = "One market; without it, every market of the account."),
        ("countdownTime" = u64, Query,
            description = "Milliseconds, 1000 to 600000; 0 disarms."),
        SignedFields,
    ),
    responses(
        (status = 200, description = "The countdown as set.", body = CountdownBody),
        (status = 400, description = refused(&[SIGNED, &[
            code::BAD_SYMBOL, code::INVALID_PARAMETER,
        ]]), body = ErrorBody),
        (status = 401, description = refused(&[SIGNED_401]), body = ErrorBody),
        (status = 503, description = UNAVAILABLE, body = ErrorBody),
    ),
    security(("apiKey" = [], "signature" = []))
)]
pub(super) async fn countdown_cancel_all(
    auth: Authenticated,
    state: web::Data<ApiState>,
    switch: web::Data<Addr<DeadManSwitch>>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .json(set_countdown(&state, &switch, auth.account_id, &auth.params).await?))
}

/// `POST /api/v3/countdownCancelAll` for a checked request.
pub async fn set_countdown(
    state: &ApiState,
    switch: &Addr<DeadManSwitch>,
    account_id: AccountId,
    params: &Params,
) -> Result<CountdownBody, ApiError> {
    let symbol = match params.get("symbol") {
        Some(_) => Some(market(params, &state.markets())?.symbol()),
        None => None,
    };
    let countdown_ms =
        params.whole("countdownTime")?.ok_or_else(|| ApiError::mandatory("countdownTime"))?;
    let command = SetCountdown {
        key: CountdownKey { account_id, symbol },
        countdown_ms,
        now_ms: state.now_ms(),
    };
    switch
        .send(command)
        .await
        .map_err(|error| mailbox_error(&error))?
        .map_err(|error| countdown_refused(&error))?;
    Ok(CountdownBody {
        symbol: symbol.map(|symbol| symbol.to_string()),
        countdown_time: countdown_ms,
    })
}

/// -1130 with the reason: a countdown out of range, or too many armed.
fn countdown_refused(error: &CountdownError) -> ApiError {
    let msg = match error {
        CountdownError::OutOfRange { .. } => format!(
            "Data sent for parameter 'countdownTime' is not valid: 0 (disarm) or \
             {COUNTDOWN_MS_MIN} to {COUNTDOWN_MS_MAX}."
        ),
        CountdownError::AccountFull { .. } => format!(
            "Too many countdowns armed; at most {COUNTDOWNS_PER_ACCOUNT_MAX} per account \
             (disarm one with countdownTime=0)."
        ),
        CountdownError::TableFull => "Too many countdowns armed on the exchange.".to_owned(),
    };
    ApiError::bad_request(code::INVALID_PARAMETER, msg)
}
