//! [`ApiError`]: every refusal the HTTP API gives, rendered as Binance's
//! `{"code": -NNNN, "msg": "..."}` with a 4xx status (5xx only when the exchange itself failed).
//! This file is the one place where the core's stable reasons ([`RejectReason`],
//! [`ConversionError`], [`AccountReject`], [`BookError`]) and the gateway's own
//! ([`AuthError`]) become codes; ccxt maps errors by these codes and messages
//! (BINANCE_COMPAT.md), so both are part of the API.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use exchange_actors::account::AccountReject;
use exchange_actors::book::actor::BookError;
use exchange_actors::model::{ConversionError, RejectReason};
use serde::Serialize;

use super::signing::AuthError;
use crate::control::{Action, Refusal};

/// Binance's error codes that this API answers with.
pub mod code {
    pub const UNKNOWN: i32 = -1000;
    pub const DISCONNECTED: i32 = -1001;
    pub const TOO_MANY_REQUESTS: i32 = -1003;
    pub const TIMEOUT: i32 = -1007;
    pub const SERVER_BUSY: i32 = -1008;
    pub const FILTER_FAILURE: i32 = -1013;
    pub const INVALID_TIMESTAMP: i32 = -1021;
    pub const INVALID_SIGNATURE: i32 = -1022;
    pub const ILLEGAL_CHARS: i32 = -1100;
    pub const TOO_MANY_PARAMETERS: i32 = -1101;
    pub const MANDATORY_PARAM_EMPTY_OR_MALFORMED: i32 = -1102;
    pub const PARAM_EMPTY: i32 = -1105;
    pub const PARAM_NOT_REQUIRED: i32 = -1106;
    pub const BAD_INTERVAL: i32 = -1120;
    pub const BAD_PRECISION: i32 = -1111;
    pub const INVALID_TIF: i32 = -1115;
    pub const INVALID_ORDER_TYPE: i32 = -1116;
    pub const INVALID_SIDE: i32 = -1117;
    pub const BAD_SYMBOL: i32 = -1121;
    pub const TIME_RANGE_TOO_LONG: i32 = -1127;
    pub const OPTIONAL_PARAMS_BAD_COMBO: i32 = -1128;
    pub const INVALID_PARAMETER: i32 = -1130;
    pub const BAD_RECV_WINDOW: i32 = -1131;
    pub const NEW_ORDER_REJECTED: i32 = -2010;
    pub const CANCEL_REJECTED: i32 = -2011;
    pub const NO_SUCH_ORDER: i32 = -2013;
    pub const CANCEL_REPLACE_PARTIALLY_FAILED: i32 = -2021;
    pub const CANCEL_REPLACE_FAILED: i32 = -2022;
    /// Binance USD-M futures' REDUCE_ONLY_REJECT (the same number as spot's cancel-replace).
    pub const REDUCE_ONLY_REJECTED: i32 = -2022;
    pub const BAD_API_KEY_FMT: i32 = -2014;
    pub const REJECTED_MBX_KEY: i32 = -2015;
}

/// The message ccxt maps to `InsufficientFunds`.
pub const INSUFFICIENT_BALANCE_MSG: &str = "Account has insufficient balance for requested action.";

/// A refusal as the client sees it. Nothing was changed by the request that got it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: i32,
    msg: String,
    retry_after_s: Option<u32>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: i32,
    msg: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: i32, msg: impl Into<String>) -> ApiError {
        debug_assert!(code < 0, "Binance error codes are negative");
        ApiError { status, code, msg: msg.into(), retry_after_s: None }
    }

    /// A 400 with `code`.
    pub fn bad_request(code: i32, msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, msg)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> i32 {
        self.code
    }

    pub fn msg(&self) -> &str {
        &self.msg
    }

    pub fn retry_after_s(&self) -> Option<u32> {
        self.retry_after_s
    }

    /// A required parameter is absent or empty.
    pub fn mandatory(param: &str) -> ApiError {
        ApiError::bad_request(
            code::MANDATORY_PARAM_EMPTY_OR_MALFORMED,
            format!("Mandatory parameter '{param}' was not sent, was empty/null, or malformed."),
        )
    }

    /// Neither of two alternative parameters was sent.
    pub fn mandatory_one_of(first: &str, second: &str) -> ApiError {
        ApiError::bad_request(
            code::MANDATORY_PARAM_EMPTY_OR_MALFORMED,
            format!("Param '{first}' or '{second}' must be sent, but both were empty/null!"),
        )
    }

    pub fn illegal_characters(param: &str, legal_range: &str) -> ApiError {
        ApiError::bad_request(
            code::ILLEGAL_CHARS,
            format!(
                "Illegal characters found in parameter '{param}'; legal range is '{legal_range}'."
            ),
        )
    }

    pub fn duplicate_parameter(param: &str) -> ApiError {
        ApiError::bad_request(
            code::TOO_MANY_PARAMETERS,
            format!("Duplicate values for parameter '{param}'."),
        )
    }

    pub fn too_many_parameters(count_max: usize) -> ApiError {
        ApiError::bad_request(
            code::TOO_MANY_PARAMETERS,
            format!("Too many parameters; at most {count_max} are allowed."),
        )
    }

    pub fn empty_parameter(param: &str) -> ApiError {
        ApiError::bad_request(code::PARAM_EMPTY, format!("Parameter '{param}' was empty."))
    }

    pub fn not_required(param: &str) -> ApiError {
        ApiError::bad_request(
            code::PARAM_NOT_REQUIRED,
            format!("Parameter '{param}' sent when not required."),
        )
    }

    pub fn too_much_precision(param: &str) -> ApiError {
        ApiError::bad_request(
            code::BAD_PRECISION,
            format!("Parameter '{param}' has too much precision."),
        )
    }

    pub fn invalid_parameter(param: &str) -> ApiError {
        ApiError::bad_request(
            code::INVALID_PARAMETER,
            format!("Data sent for parameter '{param}' is not valid."),
        )
    }

    pub fn bad_combination() -> ApiError {
        ApiError::bad_request(
            code::OPTIONAL_PARAMS_BAD_COMBO,
            "Combination of optional parameters invalid.",
        )
    }

    pub fn invalid_symbol() -> ApiError {
        ApiError::bad_request(code::BAD_SYMBOL, "Invalid symbol.")
    }

    pub fn invalid_side() -> ApiError {
        ApiError::bad_request(code::INVALID_SIDE, "Invalid side.")
    }

    pub fn invalid_order_type() -> ApiError {
        ApiError::bad_request(code::INVALID_ORDER_TYPE, "Invalid orderType.")
    }

    pub fn invalid_time_in_force() -> ApiError {
        ApiError::bad_request(code::INVALID_TIF, "Invalid timeInForce.")
    }

    /// A query for an order this account does not have (including another account's).
    pub fn no_such_order() -> ApiError {
        ApiError::bad_request(code::NO_SUCH_ORDER, "Order does not exist.")
    }

    /// A cancel of an order this account does not have open.
    pub fn unknown_order_sent() -> ApiError {
        ApiError::bad_request(code::CANCEL_REJECTED, "Unknown order sent.")
    }

    /// A cancel refused by the order's `cancelRestrictions`.
    pub fn cancel_restricted() -> ApiError {
        ApiError::bad_request(
            code::CANCEL_REJECTED,
            "Order was not canceled due to cancel restrictions.",
        )
    }

    /// A list parameter with more entries than the route takes.
    pub fn too_many_values(param: &str, count_max: usize) -> ApiError {
        ApiError::bad_request(
            code::TOO_MANY_PARAMETERS,
            format!("Parameter '{param}' has too many values; at most {count_max} are allowed."),
        )
    }

    /// The request cannot be served now; the client should retry after `retry_after_s`.
    pub fn overloaded(msg: impl Into<String>, retry_after_s: u32) -> ApiError {
        ApiError {
            retry_after_s: Some(retry_after_s),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code::SERVER_BUSY, msg)
        }
    }

    /// A rate limit (-1003, 429) with `Retry-After`.
    pub fn rate_limited(msg: impl Into<String>, retry_after_s: u32) -> ApiError {
        ApiError {
            retry_after_s: Some(retry_after_s),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code::TOO_MANY_REQUESTS, msg)
        }
    }

    /// The exchange failed (not the client): a 5xx the client may retry.
    pub fn internal(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code::DISCONNECTED, msg)
    }

    /// Binance's answer when the request reached the engine but its outcome was lost: the
    /// order may have been placed; the client asks for it by client order id, or sends it
    /// again with the same one (a duplicate is refused, never placed twice).
    pub fn status_unknown() -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code::TIMEOUT,
            "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
        )
    }

    fn new_order_rejected(msg: impl Into<String>) -> ApiError {
        ApiError::bad_request(code::NEW_ORDER_REJECTED, msg)
    }

    fn filter_failure(msg: impl Into<String>) -> ApiError {
        ApiError::bad_request(code::FILTER_FAILURE, msg)
    }

    fn unauthorized(code: i32, msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code, msg)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} {}", self.code, self.msg)
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if let Some(seconds) = self.retry_after_s {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(seconds)));
        }
        response.json(Body { code: self.code, msg: &self.msg })
    }
}

impl From<RejectReason> for ApiError {
    fn from(reason: RejectReason) -> ApiError {
        use RejectReason as R;
        let msg = reason.to_string();
        match reason {
            R::PriceNotTickMultiple
            | R::PriceOutOfRange
            | R::QtyNotStepMultiple
            | R::QtyBelowMin
            | R::QtyAboveMax
            | R::NotionalBelowMin
            | R::NotionalAboveMax
            | R::OutsidePriceBand
            | R::TooManyOpenOrders
            | R::ZeroQuantity => ApiError::filter_failure(msg),
            R::QuoteAmountNotMultiple => ApiError::bad_request(code::BAD_PRECISION, msg),
            R::PostOnlyWouldTake | R::FokCannotFill | R::DuplicateOrderId | R::BookFull => {
                ApiError::new_order_rejected(msg)
            }
            R::UnknownOrder | R::NotOwner => ApiError::unknown_order_sent(),
            R::InvalidClientOrderId => ApiError::bad_request(code::ILLEGAL_CHARS, msg),
            R::MissingPrice => ApiError::mandatory("price"),
            R::UnexpectedPrice => ApiError::not_required("price"),
            R::QuoteQuantityNotAllowed => ApiError::not_required("quoteOrderQty"),
            R::InvalidTimeInForce => ApiError::bad_request(code::INVALID_TIF, msg),
            R::InvalidTerms => ApiError::bad_request(code::INVALID_PARAMETER, msg),
            // Set by the exchange itself, never by a client: reaching a client is a bug here.
            R::InvalidSpendLimit | R::InputOutOfSequence => ApiError::internal(msg),
        }
    }
}

impl From<ConversionError> for ApiError {
    /// The message names the filter and the values (`Filter failure: LOT_SIZE: quantity ...`).
    fn from(error: ConversionError) -> ApiError {
        match error {
            ConversionError::QuoteNotMultiple { .. } => {
                ApiError::bad_request(code::BAD_PRECISION, error.to_string())
            }
            _ => ApiError::filter_failure(error.to_string()),
        }
    }
}

impl From<AccountReject> for ApiError {
    fn from(reject: AccountReject) -> ApiError {
        use AccountReject as A;
        match reject {
            A::UnknownSymbol(_) => ApiError::invalid_symbol(),
            // A key that names no open account is as good as no key.
            A::UnknownAccount(_) => AuthError::UnknownApiKey.into(),
            A::InsufficientFunds { .. } => ApiError::new_order_rejected(INSUFFICIENT_BALANCE_MSG),
            A::DuplicateClientOrderId => ApiError::new_order_rejected("Duplicate order sent."),
            A::ReservedClientOrderId { .. } => {
                ApiError::bad_request(code::ILLEGAL_CHARS, reject.to_string())
            }
            A::TooManyOpenOrders => ApiError::filter_failure(reject.to_string()),
            A::InvalidOrder(reason) => reason.into(),
            // Another account's order is answered exactly like one that does not exist.
            A::UnknownOrder(_) | A::NotOwner(_) => ApiError::no_such_order(),
            A::OrderNotOpen { .. } => ApiError::unknown_order_sent(),
            A::AccountExists(_)
            | A::UnknownAsset(_)
            | A::NonPositiveAmount(_)
            | A::SupplyExceeded { .. } => {
                ApiError::bad_request(code::INVALID_PARAMETER, reject.to_string())
            }
            A::OrderIdsExhausted => ApiError::internal(reject.to_string()),
            A::ReduceOnlyRejected => {
                ApiError::bad_request(code::REDUCE_ONLY_REJECTED, reject.to_string())
            }
            A::NoMarkPrice(_) | A::Liquidating(_) => {
                ApiError::new_order_rejected(reject.to_string())
            }
        }
    }
}

/// How long a client should wait before retrying an overloaded book.
pub const BOOK_OVERLOADED_RETRY_AFTER_S: u32 = 1;

impl From<BookError> for ApiError {
    fn from(error: BookError) -> ApiError {
        match error {
            BookError::Overloaded { .. } => {
                ApiError::overloaded(error.to_string(), BOOK_OVERLOADED_RETRY_AFTER_S)
            }
            BookError::TooManyCommands { .. } => {
                ApiError::bad_request(code::TOO_MANY_PARAMETERS, error.to_string())
            }
            BookError::Stopping { .. } => ApiError::internal(
                "Internal error; unable to process your request. Please try again.",
            ),
            BookError::JournalFailed { .. } | BookError::OutcomeUnknown { .. } => {
                ApiError::status_unknown()
            }
        }
    }
}

/// A kill switch's refusal: new orders (and withdrawals) -2010, cancels -2011, a price outside
/// the protection band -1013 (Binance's PERCENT_PRICE_BY_SIDE), a halted symbol's market data
/// -1013; the message names the switch.
impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        let msg = refusal.to_string();
        match refusal {
            Refusal::Mode { action: Action::Cancel, .. } => {
                ApiError::bad_request(code::CANCEL_REJECTED, msg)
            }
            Refusal::Mode { action: Action::MarketData, .. } | Refusal::PriceProtection { .. } => {
                ApiError::filter_failure(msg)
            }
            Refusal::Mode { action: Action::NewOrder | Action::Transfer, .. }
            | Refusal::OrderTypeDisabled { .. }
            | Refusal::WithdrawalsDisabled => ApiError::new_order_rejected(msg),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> ApiError {
        let msg = error.to_string();
        match error {
            AuthError::MissingApiKey | AuthError::MalformedApiKey => {
                ApiError::unauthorized(code::BAD_API_KEY_FMT, msg)
            }
            AuthError::UnknownApiKey => ApiError::unauthorized(code::REJECTED_MBX_KEY, msg),
            AuthError::BadSignature => ApiError::unauthorized(code::INVALID_SIGNATURE, msg),
            AuthError::MissingSignature => ApiError::mandatory("signature"),
            AuthError::MissingTimestamp => ApiError::mandatory("timestamp"),
            AuthError::MalformedTimestamp => {
                ApiError::illegal_characters("timestamp", "^[0-9]{1,20}$")
            }
            AuthError::MalformedRecvWindow | AuthError::RecvWindowTooLarge { .. } => {
                ApiError::bad_request(code::BAD_RECV_WINDOW, msg)
            }
            AuthError::TimestampAhead { .. } | AuthError::TimestampExpired => {
                ApiError::bad_request(code::INVALID_TIMESTAMP, msg)
            }
            AuthError::DuplicateSignature => ApiError::duplicate_parameter("signature"),
        }
    }
}

#[cfg(test)]
mod tests;
