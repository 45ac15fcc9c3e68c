//! The WebSocket API's framing, pure: a request `{"id":..,"method":..,"params":{..}}` and the
//! answers `{"id":..,"status":200,"result":..}` / `{"id":..,"status":4xx,"error":{..}}`, and a
//! pushed event `{"subscriptionId":0,"event":{..}}`, as Binance's WebSocket API frames them.

use serde_json::{Map, Value, json};

use crate::api::{WsError, code};

/// The only user data subscription a session has.
pub const SUBSCRIPTION_ID: u64 = 0;

/// A request as sent; `id` is echoed in the answer whatever its type (string, number, null).
#[derive(Clone, Debug, PartialEq)]
pub struct WsRequest {
    pub id: Value,
    pub method: String,
    pub params: Map<String, Value>,
}

/// Parses one text frame; a frame that is not a request is answered with `id` null (or the
/// id it had) and the error.
pub fn parse_request(text: &str) -> Result<WsRequest, (Value, WsError)> {
    let refuse = |id: Value, msg: &str| {
        let error = json!({ "code": code::ILLEGAL_CHARS, "msg": msg });
        (id, WsError { status: 400, error })
    };
    let Ok(Value::Object(mut object)) = serde_json::from_str::<Value>(text) else {
        return Err(refuse(Value::Null, "Request is not a JSON object."));
    };
    let id = object.remove("id").unwrap_or(Value::Null);
    let method = match object.remove("method") {
        Some(Value::String(method)) if !method.is_empty() => method,
        _ => {
            return Err(refuse(
                id,
                "Mandatory parameter 'method' was not sent or is not a string.",
            ));
        }
    };
    let params = match object.remove("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(params)) => params,
        Some(_) => return Err(refuse(id, "Parameter 'params' must be a JSON object.")),
    };
    Ok(WsRequest { id, method, params })
}

/// `{"id":..,"status":200,"result":..}`.
pub fn result_frame(id: &Value, result: &Value) -> String {
    json!({ "id": id, "status": 200, "result": result }).to_string()
}

/// `{"id":..,"status":..,"error":{"code":..,"msg":..}}`.
pub fn error_frame(id: &Value, error: &WsError) -> String {
    json!({ "id": id, "status": error.status, "error": error.error }).to_string()
}

/// `{"subscriptionId":0,"event":..}`.
pub fn event_frame(event: &Value) -> String {
    json!({ "subscriptionId": SUBSCRIPTION_ID, "event": event }).to_string()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[test]
    fn a_request_keeps_its_id_method_and_params() {
        let text =
            r#"{"id":"a1","method":"order.status","params":{"symbol":"BTCUSDT","orderId":5}}"#;
        let request = parse_request(text).unwrap();
        assert_eq!(request.id, json!("a1"));
        assert_eq!(request.method, "order.status");
        assert_eq!(request.params.get("orderId"), Some(&json!(5)));
        let bare = parse_request(r#"{"id":7,"method":"session.status"}"#).unwrap();
        assert!(bare.params.is_empty());
    }

    #[rstest]
    #[case::not_json("hello", Value::Null)]
    #[case::array("[1]", Value::Null)]
    #[case::no_method(r#"{"id":3}"#, json!(3))]
    #[case::params_not_object(r#"{"id":"x","method":"m","params":[1]}"#, json!("x"))]
    fn malformed_requests_are_answered_400(#[case] text: &str, #[case] id: Value) {
        let (got_id, error) = parse_request(text).unwrap_err();
        assert_eq!(got_id, id);
        assert_eq!(error.status, 400);
        let frame: Value = serde_json::from_str(&error_frame(&got_id, &error)).unwrap();
        assert_eq!(frame["status"], 400);
        assert_eq!(frame["error"]["code"], code::ILLEGAL_CHARS);
    }

    #[test]
    fn answers_and_events_are_framed_as_binance() {
        let ok: Value = serde_json::from_str(&result_frame(&json!(1), &json!({"a": 1}))).unwrap();
        assert_eq!(ok, json!({"id": 1, "status": 200, "result": {"a": 1}}));
        let event: Value = serde_json::from_str(&event_frame(&json!({"e": "x"}))).unwrap();
        assert_eq!(event, json!({"subscriptionId": 0, "event": {"e": "x"}}));
    }
}
