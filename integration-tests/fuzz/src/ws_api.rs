//! Target `ws_api`: one `/ws-api/v3` connection. Every NUL-separated field is one text
//! frame, queued in the pure session state (`ApiSessionState`) and answered in order: the
//! envelope (`parse_request`), its JSON signature (`authenticate_json`) as sent and as a
//! client with the registered key would sign the same params (Binance's scheme: every param
//! but `signature`, sorted by name, `k=v` joined by `&`, values not URL-encoded), then the
//! order parameters of the order methods (`place_params`, `order_lookup`) as `call` reads
//! them after authentication.
//!
//! Properties: nothing panics; a malformed envelope is a 400 with a negative code that echoes
//! the id it could read; a request is accepted only when signed by the registered key's
//! secret over exactly that text; the client's re-signed request is never refused for its key
//! or signature; accepted order parameters convert exactly (as in `order_params`).

use exchange::api::{Params, authenticate_json, order_lookup, place_params, sign};
use exchange::ws::api::{WsRequest, parse_request};
use exchange_actors::session::ApiSessionState;
use serde_json::{Map, Value};

use super::fixture::{ACCOUNT, API_KEY, NOW_MS, NOW_NS, SECRET, check_refusal, with_state};
use super::order_params::check_placed;
use super::signature::check_not_credential_refusal;

/// A small buffer, so that the bound is reached by short inputs.
const OUTBOUND_MAX: usize = 16;

pub fn run(data: &[u8]) {
    let mut session = ApiSessionState::with_bound(OUTBOUND_MAX, 0);
    for (index, frame) in data.split(|byte| *byte == 0).enumerate() {
        // actix-ws hands on only UTF-8 text frames; anything else is not a request.
        let Ok(text) = std::str::from_utf8(frame) else { continue };
        let now_ms = u64::try_from(index).unwrap_or(u64::MAX);
        if session.on_request(text.to_owned(), now_ms).is_err() {
            continue;
        }
        let request = session.next_request().expect("nothing else is being answered");
        assert_eq!(request, text, "requests are answered in the order received");
        answer(&mut session, &request);
        session.answered();
        if session.push_frame(String::from("answer"), 0).is_err() {
            return; // the outbound buffer overflowed: the connection closes
        }
        if index % 2 == 1 {
            session.next_frame();
        }
    }
}

fn answer(session: &mut ApiSessionState, text: &str) {
    let WsRequest { method, params, .. } = match parse_request(text) {
        Ok(request) => request,
        Err((id, error)) => {
            assert_eq!(error.status, 400);
            assert!(error.error["code"].as_i64().is_some_and(|code| code < 0), "{error:?}");
            let sent = serde_json::from_str::<Value>(text).ok();
            let sent_id = sent.as_ref().and_then(|value| value.get("id")).cloned();
            assert_eq!(id, sent_id.unwrap_or(Value::Null), "the id is not echoed");
            return;
        }
    };
    assert!(!method.is_empty());
    if let Err(error) = Params::from_json_object(params.clone()) {
        check_refusal(&error);
    }
    check_as_sent(params.clone());
    let params = signed_by_client(params);
    let authenticated = with_state(|state| authenticate_json(state, params));
    match authenticated {
        Ok(authenticated) => {
            assert_eq!(authenticated.account_id, ACCOUNT);
            apply(session, &method, &authenticated.params);
        }
        Err(error) => check_not_credential_refusal(&error),
    }
}

/// Accepted only with the registered key and its secret's signature of the sorted params.
fn check_as_sent(params: Map<String, Value>) {
    let api_key = params.get("apiKey").cloned();
    let signature = params.get("signature").cloned();
    let payload = sorted_payload(&params);
    match with_state(|state| authenticate_json(state, params)) {
        Ok(authenticated) => {
            assert_eq!(authenticated.account_id, ACCOUNT);
            assert_eq!(api_key, Some(Value::from(API_KEY)), "accepted without the registered key");
            let signature = signature.as_ref().and_then(Value::as_str).unwrap_or_default();
            let expected = sign(SECRET, payload.as_bytes());
            assert!(signature.eq_ignore_ascii_case(&expected), "accepted a wrong signature");
        }
        Err(error) => check_refusal(&error),
    }
}

/// The params as a client with [`API_KEY`] signs them at [`NOW_MS`].
fn signed_by_client(mut params: Map<String, Value>) -> Map<String, Value> {
    params.remove("signature");
    params.insert(String::from("apiKey"), Value::from(API_KEY));
    params.insert(String::from("timestamp"), Value::from(NOW_MS));
    let signature = sign(SECRET, sorted_payload(&params).as_bytes());
    params.insert(String::from("signature"), Value::from(signature));
    params
}

/// Binance's WebSocket API signed text, written from its documentation (not the server's
/// function): every param but `signature`, sorted by name, `name=value` joined by `&`; a
/// string as it is, null as empty, anything else as its JSON text.
fn sorted_payload(params: &Map<String, Value>) -> String {
    let mut pairs: Vec<(&str, String)> = params
        .iter()
        .filter(|(name, _)| name.as_str() != "signature")
        .map(|(name, value)| match value {
            Value::String(text) => (name.as_str(), text.clone()),
            Value::Null => (name.as_str(), String::new()),
            other => (name.as_str(), other.to_string()),
        })
        .collect();
    // By name, not by the joined text: `apiKey` sorts before `apiKey6`, although
    // `apiKey6=` sorts before `apiKey=` ('6' < '=').
    pairs.sort_unstable();
    let pairs: Vec<String> = pairs.iter().map(|(name, value)| format!("{name}={value}")).collect();
    pairs.join("&")
}

/// The pure part of each method after authentication (`exchange::api::call`).
fn apply(session: &mut ApiSessionState, method: &str, params: &Params) {
    let cancel_on_disconnect = params.get("cancelOnDisconnect") == Some("true");
    with_state(|state| {
        let markets = state.markets();
        match method {
            "order.place" | "order.cancelReplace" => {
                match place_params(params, &markets, ACCOUNT, NOW_NS) {
                    Ok(placed) => check_placed(params, &markets, &placed),
                    Err(error) => check_refusal(&error),
                }
            }
            "order.cancel" | "order.status" | "order.amend.keepPriority" => {
                if let Err(error) = order_lookup(params, &markets) {
                    check_refusal(&error);
                }
            }
            "session.logon" => session.log_on(ACCOUNT, cancel_on_disconnect),
            "session.logout" => session.log_out(),
            "userDataStream.subscribe.signature" => {
                session.subscribe(ACCOUNT, cancel_on_disconnect);
            }
            "userDataStream.unsubscribe" => {
                session.unsubscribe();
            }
            _ => {}
        }
    });
    if let Some(account) = session.cancel_on_disconnect() {
        assert_eq!(account, ACCOUNT);
    }
}
