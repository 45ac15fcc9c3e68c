//! [`Authenticated`]: the actix-web extractor for signed endpoints. It reads the body (at most
//! [`BODY_BYTES_MAX`]), then checks, in this order: the `X-MBX-APIKEY` header names a
//! registered key, the signature over the received bytes is that key's, the parameters parse,
//! and the `timestamp` is inside its `recvWindow` of the server's clock. A handler that takes
//! an `Authenticated` runs only for a request that passed all four.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderMap};
use actix_web::{FromRequest, HttpRequest, web};
use exchange_actors::model::AccountId;

use super::errors::{ApiError, code};
use super::keys::{ApiCredential, is_well_formed};
use super::metrics::count_auth_failure;
use super::param_set::Params;
use super::signing::{
    AuthError, BodyKind, SIGNATURE_PARAM, check_timestamp, signed_payload, verify,
};
use super::state::ApiState;

/// The header carrying the API key.
pub const API_KEY_HEADER: &str = "X-MBX-APIKEY";
/// Largest request body read (a bulk cancel of 10,000 ids fits with room to spare).
pub const BODY_BYTES_MAX: usize = 1 << 20;

/// A request whose signature, key and timestamp checked out: who sent it and what it asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    pub account_id: AccountId,
    pub params: Params,
}

/// The parts of a request that authentication reads.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequest<'a> {
    pub api_key: Option<&'a str>,
    pub query: &'a str,
    pub body: &'a [u8],
    pub body_kind: BodyKind,
}

impl<'a> SignedRequest<'a> {
    pub fn new(headers: &'a HeaderMap, query: &'a str, body: &'a [u8]) -> SignedRequest<'a> {
        // A value that is not visible ASCII reads as empty, which is malformed.
        let api_key = headers.get(API_KEY_HEADER).map(|value| value.to_str().unwrap_or_default());
        let json = headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.trim_start().starts_with("application/json"));
        let body_kind = if json { BodyKind::Json } else { BodyKind::Form };
        SignedRequest { api_key, query, body, body_kind }
    }
}

/// Checks `request` against the key registry and the clock of `state`. Each credential
/// refusal is counted by reason ([`count_auth_failure`]); a malformed parameter is not one.
pub fn authenticate(
    state: &ApiState,
    request: SignedRequest<'_>,
) -> Result<Authenticated, ApiError> {
    let credential = signer(state, request).map_err(refuse)?;
    let params = Params::from_request(request.query, request.body, request.body_kind)?;
    check_timestamp(params.get("timestamp"), params.get("recvWindow"), state.now_ms())
        .map_err(refuse)?;
    Ok(Authenticated { account_id: credential.account_id, params })
}

/// Checks a WebSocket API request's `params` (a JSON object; Binance's scheme: `apiKey`
/// among them, `signature` the HMAC-SHA256 of every other member sorted by name and joined
/// as `k=v&...` without URL encoding) against the key registry and the clock. The same
/// refusals, in the same order, with the same codes, as [`authenticate`].
pub fn authenticate_json(
    state: &ApiState,
    params: serde_json::Map<String, serde_json::Value>,
) -> Result<Authenticated, ApiError> {
    let signature = match params.get(SIGNATURE_PARAM) {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(text)) => Some(text.clone()),
        Some(other) => Some(other.to_string()),
    };
    let params = Params::from_json_object(params)?;
    let credential = json_signer(state, &params, signature.as_deref()).map_err(refuse)?;
    check_timestamp(params.get("timestamp"), params.get("recvWindow"), state.now_ms())
        .map_err(refuse)?;
    Ok(Authenticated { account_id: credential.account_id, params })
}

fn json_signer(
    state: &ApiState,
    params: &Params,
    signature: Option<&str>,
) -> Result<ApiCredential, AuthError> {
    let api_key = params.get("apiKey").ok_or(AuthError::MissingApiKey)?;
    if !is_well_formed(api_key) {
        return Err(AuthError::MalformedApiKey);
    }
    let credential = state.keys.lookup(api_key).ok_or(AuthError::UnknownApiKey)?;
    let signature = signature.filter(|text| !text.is_empty()).ok_or(AuthError::MissingSignature)?;
    verify(credential.secret(), sorted_payload(params).as_bytes(), signature)?;
    Ok(credential)
}

/// The WebSocket API's signed text: every parameter but `signature`, sorted by name, `k=v`
/// joined by `&`, values as sent (not URL-encoded).
pub fn sorted_payload(params: &Params) -> String {
    let mut pairs: Vec<(&str, &str)> = params.iter().collect();
    pairs.sort_unstable();
    let pairs: Vec<String> = pairs.iter().map(|(name, value)| format!("{name}={value}")).collect();
    pairs.join("&")
}

/// The registered key of `request` whose secret signed its bytes.
fn signer(state: &ApiState, request: SignedRequest<'_>) -> Result<ApiCredential, AuthError> {
    let api_key = request.api_key.ok_or(AuthError::MissingApiKey)?;
    if !is_well_formed(api_key) {
        return Err(AuthError::MalformedApiKey);
    }
    let credential = state.keys.lookup(api_key).ok_or(AuthError::UnknownApiKey)?;
    let signed = signed_payload(request.query.as_bytes(), request.body, request.body_kind)?;
    verify(credential.secret(), &signed.payload, &signed.signature)?;
    Ok(credential)
}

fn refuse(error: AuthError) -> ApiError {
    count_auth_failure(error.reason());
    error.into()
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Authenticated, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let payload = web::Payload::from_request(request, payload);
        let request = request.clone();
        Box::pin(async move {
            let payload = payload.await.map_err(|error| read_failed(&error))?;
            let state = request
                .app_data::<web::Data<ApiState>>()
                .ok_or_else(|| ApiError::internal("the API state is not configured"))?;
            let body = match payload.to_bytes_limited(BODY_BYTES_MAX).await {
                Ok(Ok(body)) => body,
                Ok(Err(error)) => return Err(read_failed(&error)),
                Err(_too_large) => {
                    return Err(ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        code::TOO_MANY_PARAMETERS,
                        format!("Request body is larger than {BODY_BYTES_MAX} bytes."),
                    ));
                }
            };
            let signed = SignedRequest::new(request.headers(), request.query_string(), &body);
            authenticate(state, signed)
        })
    }
}

fn read_failed(error: &dyn std::fmt::Display) -> ApiError {
    ApiError::bad_request(code::UNKNOWN, format!("Request body could not be read: {error}"))
}

#[cfg(test)]
mod tests;
