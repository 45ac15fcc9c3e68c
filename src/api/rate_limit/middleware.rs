//! The rate limit as actix middleware (`actix_web::middleware::from_fn`), in front of every
//! route: weighs the request, asks the [`RateLimiter`], and either answers 429 / 418 with
//! `Retry-After` and Binance's `{code, msg}`, or lets it through and adds
//! `X-MBX-USED-WEIGHT-1M` (and on new orders `X-MBX-ORDER-COUNT-10S` / `-1D`) to the answer.
//!
//! The client's IP is the peer address (a proxy in front must be trusted to limit by itself).
//! Only a registered API key gets a key budget, so a made-up key cannot grow the maps.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use super::limiter::{RateLimiter, Verdict};
use super::weights::request_weight;
use crate::api::{API_KEY_HEADER, ApiState};

pub const USED_WEIGHT_HEADER: &str = "x-mbx-used-weight-1m";
pub const ORDER_COUNT_10S_HEADER: &str = "x-mbx-order-count-10s";
pub const ORDER_COUNT_1D_HEADER: &str = "x-mbx-order-count-1d";
/// Requests refused by the rate limit, by `status` (429, 418).
pub const RATE_LIMITED_TOTAL: &str = "exchange_rate_limited_total";

fn registered_key(request: &ServiceRequest) -> Option<&str> {
    let key = request.headers().get(API_KEY_HEADER)?.to_str().ok()?;
    let state = request.app_data::<web::Data<ApiState>>()?;
    state.keys.lookup(key).map(|_| key)
}

pub async fn limit_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    let Some(limiter) = request.app_data::<web::Data<RateLimiter>>().cloned() else {
        return next.call(request).await.map(ServiceResponse::map_into_left_body);
    };
    let cost = request_weight(request.method(), request.path(), request.query_string());
    let Some(cost) = cost else {
        return next.call(request).await.map(ServiceResponse::map_into_left_body);
    };
    let ip = request.peer_addr().map_or_else(|| "unknown".to_owned(), |peer| peer.ip().to_string());
    let verdict = limiter.admit(&ip, registered_key(&request), cost);
    let (used_weight, order_counts) = match verdict {
        Verdict::Admitted { used_weight, order_counts } => (used_weight, order_counts),
        Verdict::Limited { retry_after_s, used_weight, code, msg } => {
            let response = refusal(StatusCode::TOO_MANY_REQUESTS, retry_after_s, code, &msg).map(
                |mut response| {
                    set(&mut response, USED_WEIGHT_HEADER, used_weight);
                    response
                },
            );
            return Ok(request.into_response(response?).map_into_right_body());
        }
        Verdict::Banned { retry_after_s, msg } => {
            let response = refusal(StatusCode::IM_A_TEAPOT, retry_after_s, -1003, &msg)?;
            return Ok(request.into_response(response).map_into_right_body());
        }
    };
    let mut response = next.call(request).await?;
    let headers = response.headers_mut();
    headers.insert(HeaderName::from_static(USED_WEIGHT_HEADER), HeaderValue::from(used_weight));
    if let Some((per_10s, per_day)) = order_counts {
        headers.insert(HeaderName::from_static(ORDER_COUNT_10S_HEADER), HeaderValue::from(per_10s));
        headers.insert(HeaderName::from_static(ORDER_COUNT_1D_HEADER), HeaderValue::from(per_day));
    }
    Ok(response.map_into_left_body())
}

fn set(response: &mut HttpResponse, name: &'static str, value: u32) {
    response.headers_mut().insert(HeaderName::from_static(name), HeaderValue::from(value));
}

fn refusal(
    status: StatusCode,
    retry_after_s: u32,
    code: i32,
    msg: &str,
) -> Result<HttpResponse, actix_web::Error> {
    metrics::counter!(RATE_LIMITED_TOTAL, "status" => status.as_str().to_owned()).increment(1);
    Ok(HttpResponse::build(status)
        .insert_header((header::RETRY_AFTER, HeaderValue::from(retry_after_s)))
        .json(serde_json::json!({ "code": code, "msg": msg })))
}
