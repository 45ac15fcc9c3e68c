//! Requests a market-stream client sends (`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`) and
//! Binance's answers: `{"result":null,"id":N}`, `{"result":[...],"id":N}`, or
//! `{"error":{"code":C,"msg":"..."},"id":N}` (code 2 an invalid request, 3 invalid JSON).

use serde_json::Value;

use super::streams::StreamName;

/// Longest request text read (Binance documents no limit; a subscription of the whole 1,024
/// streams stays far below this).
pub const REQUEST_LEN_MAX: usize = 64 * 1024;

/// Binance's code for a request it understood as JSON but refuses.
pub const INVALID_REQUEST: i64 = 2;
/// Binance's code for text that is not JSON.
pub const INVALID_JSON: i64 = 3;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    Subscribe(Vec<StreamName>),
    Unsubscribe(Vec<StreamName>),
    ListSubscriptions,
}

/// A parsed request with its id (a number, a string or null, echoed as sent).
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub id: Value,
    pub method: Method,
}

/// A refused request: the error frame's code, message and the id (null when unreadable).
#[derive(Clone, Debug, PartialEq)]
pub struct RequestError {
    pub id: Value,
    pub code: i64,
    pub msg: String,
}

impl RequestError {
    pub fn invalid(id: Value, msg: impl Into<String>) -> RequestError {
        RequestError { id, code: INVALID_REQUEST, msg: format!("Invalid request: {}", msg.into()) }
    }

    /// Keys in Binance's order (`serde_json` objects would sort them).
    pub fn render(&self) -> String {
        let msg = Value::String(self.msg.clone());
        format!(r#"{{"error":{{"code":{},"msg":{msg}}},"id":{}}}"#, self.code, self.id)
    }
}

/// `{"result":null,"id":N}`, exactly.
pub fn render_ok(id: &Value) -> String {
    format!(r#"{{"result":null,"id":{id}}}"#)
}

/// `{"result":["btcusdt@trade",...],"id":N}`.
pub fn render_list<'a>(names: impl Iterator<Item = &'a StreamName>, id: &Value) -> String {
    let names: Vec<Value> = names.map(|name| Value::String(name.to_string())).collect();
    format!(r#"{{"result":{},"id":{id}}}"#, Value::Array(names))
}

impl Request {
    pub fn parse(text: &str) -> Result<Request, RequestError> {
        if text.len() > REQUEST_LEN_MAX {
            let msg = format!("request of {} bytes, at most {REQUEST_LEN_MAX}", text.len());
            return Err(RequestError::invalid(Value::Null, msg));
        }
        let value: Value = serde_json::from_str(text).map_err(|error| RequestError {
            id: Value::Null,
            code: INVALID_JSON,
            msg: format!("Invalid JSON: {error}"),
        })?;
        let Value::Object(mut object) = value else {
            return Err(RequestError::invalid(Value::Null, "expected a JSON object"));
        };
        let id = object.remove("id").unwrap_or(Value::Null);
        let id_ok = match &id {
            Value::Null | Value::String(_) => true,
            Value::Number(number) => number.is_u64(),
            _ => false,
        };
        if !id_ok {
            return Err(RequestError::invalid(
                Value::Null,
                "request ID must be an unsigned integer, a string or null",
            ));
        }
        let method = match object.remove("method") {
            Some(Value::String(method)) => method,
            _ => return Err(RequestError::invalid(id, "missing or invalid field 'method'")),
        };
        let method = match method.as_str() {
            "SUBSCRIBE" => Method::Subscribe(stream_params(&id, object.remove("params"))?),
            "UNSUBSCRIBE" => Method::Unsubscribe(stream_params(&id, object.remove("params"))?),
            "LIST_SUBSCRIPTIONS" => Method::ListSubscriptions,
            other => return Err(RequestError::invalid(id, format!("unknown method {other:?}"))),
        };
        if let Some(field) = object.keys().find(|key| key.as_str() != "params") {
            return Err(RequestError::invalid(id, format!("unknown property {field:?}")));
        }
        Ok(Request { id, method })
    }
}

/// `params`: a non-empty array of stream names.
fn stream_params(id: &Value, params: Option<Value>) -> Result<Vec<StreamName>, RequestError> {
    let Some(Value::Array(params)) = params else {
        return Err(RequestError::invalid(id.clone(), "'params' must be an array of streams"));
    };
    if params.is_empty() {
        return Err(RequestError::invalid(id.clone(), "'params' is empty"));
    }
    params
        .iter()
        .map(|param| {
            let Value::String(text) = param else {
                return Err(RequestError::invalid(id.clone(), "a stream name must be a string"));
            };
            StreamName::parse(text)
                .map_err(|error| RequestError::invalid(id.clone(), error.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::session::streams::StreamKind;

    #[test]
    fn subscribe_parses_with_its_id() {
        let request =
            Request::parse(r#"{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":7}"#).unwrap();
        assert_eq!(request.id, json!(7));
        assert_eq!(
            request.method,
            Method::Subscribe(vec![StreamName::new("btcusdt", StreamKind::Trade)])
        );
        assert_eq!(render_ok(&request.id), r#"{"result":null,"id":7}"#);
    }

    #[test]
    fn bad_requests_get_binance_errors() {
        let error = Request::parse("nope").unwrap_err();
        assert_eq!(error.code, INVALID_JSON);
        let error = Request::parse(r#"{"method":"SUBSCRIBE","params":["x"],"id":3}"#).unwrap_err();
        assert_eq!((error.code, error.id.clone()), (INVALID_REQUEST, json!(3)));
        assert!(error.render().starts_with(r#"{"error":{"code":2,"msg":"Invalid request: "#));
        let error = Request::parse(r#"{"method":"FLY","id":4}"#).unwrap_err();
        assert_eq!(error.id, json!(4));
        let error = Request::parse(r#"{"method":"LIST_SUBSCRIPTIONS","id":-1}"#).unwrap_err();
        assert_eq!(error.id, Value::Null);
        let error = Request::parse(r#"{"method":"LIST_SUBSCRIPTIONS","id":1,"x":1}"#).unwrap_err();
        assert_eq!(error.code, INVALID_REQUEST);
    }
}
