use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};

use super::*;
use crate::api::errors::code;
use crate::api::signing::sign;
use crate::api::testing::{ACCOUNT, API_KEY, NOW_MS, SECRET, state};

/// Echoes who signed and what they sent.
async fn echo(auth: Authenticated) -> HttpResponse {
    let params: Vec<(String, String)> =
        auth.params.iter().map(|(name, value)| (name.to_owned(), value.to_owned())).collect();
    HttpResponse::Ok().json(serde_json::json!({ "account": auth.account_id.0, "params": params }))
}

fn signed_query(query: &str) -> String {
    format!("{query}&signature={}", sign(SECRET, query.as_bytes()))
}

async fn call(request: test::TestRequest) -> (StatusCode, serde_json::Value) {
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(state()))
            .route("/signed", web::get().to(echo))
            .route("/signed", web::post().to(echo))
            .route("/signed", web::delete().to(echo)),
    )
    .await;
    let response = test::call_service(&app, request.to_request()).await;
    let status = response.status();
    let body = test::read_body(response).await;
    (status, serde_json::from_slice(&body).expect("JSON body"))
}

fn get(query: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri(&format!("/signed?{query}"))
        .insert_header((API_KEY_HEADER, API_KEY))
}

fn error_code(body: &serde_json::Value) -> i64 {
    body["code"].as_i64().expect("an error body has a code")
}

#[actix::test]
async fn valid_signature_is_accepted() {
    let query = signed_query(&format!("symbol=BTCUSDT&orderId=5&timestamp={NOW_MS}"));
    let (status, body) = call(get(&query)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["account"], ACCOUNT.0);
    assert_eq!(
        body["params"],
        serde_json::json!([
            ["symbol", "BTCUSDT"],
            ["orderId", "5"],
            ["timestamp", NOW_MS.to_string()]
        ])
    );
}

#[actix::test]
async fn one_changed_byte_is_refused() {
    let query = signed_query(&format!("symbol=BTCUSDT&orderId=5&timestamp={NOW_MS}"));
    let tampered = query.replacen("orderId=5", "orderId=6", 1);
    let (status, body) = call(get(&tampered)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), i64::from(code::INVALID_SIGNATURE));
    assert_eq!(body["msg"], "Signature for this request is not valid.");
}

#[actix::test]
async fn expired_and_future_timestamps_are_refused() {
    for (timestamp, window) in
        [(NOW_MS - 5_001, ""), (NOW_MS - 2_001, "&recvWindow=2000"), (NOW_MS + 1_001, "")]
    {
        let query = signed_query(&format!("symbol=BTCUSDT&timestamp={timestamp}{window}"));
        let (status, body) = call(get(&query)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{timestamp}");
        assert_eq!(error_code(&body), i64::from(code::INVALID_TIMESTAMP), "{timestamp}");
    }
    let query = signed_query(&format!("timestamp={NOW_MS}&recvWindow=60001"));
    let (_, body) = call(get(&query)).await;
    assert_eq!(error_code(&body), i64::from(code::BAD_RECV_WINDOW));
    let query = signed_query("symbol=BTCUSDT");
    let (_, body) = call(get(&query)).await;
    assert_eq!(error_code(&body), i64::from(code::MANDATORY_PARAM_EMPTY_OR_MALFORMED));
}

#[actix::test]
async fn missing_malformed_or_unknown_key_is_refused() {
    let query = signed_query(&format!("timestamp={NOW_MS}"));
    let uri = format!("/signed?{query}");
    let cases = [
        (test::TestRequest::get().uri(&uri), code::BAD_API_KEY_FMT),
        (
            test::TestRequest::get().uri(&uri).insert_header((API_KEY_HEADER, "bad key!")),
            code::BAD_API_KEY_FMT,
        ),
        (
            test::TestRequest::get().uri(&uri).insert_header((API_KEY_HEADER, "unknownKey1")),
            code::REJECTED_MBX_KEY,
        ),
    ];
    for (request, expected) in cases {
        let (status, body) = call(request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(&body), i64::from(expected));
    }
}

#[actix::test]
async fn missing_signature_is_refused() {
    let (status, body) = call(get(&format!("timestamp={NOW_MS}"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), i64::from(code::MANDATORY_PARAM_EMPTY_OR_MALFORMED));
}

#[actix::test]
async fn query_and_form_body_are_signed_together() {
    let query = "symbol=BTCUSDT&side=BUY";
    let body = format!("type=LIMIT&quantity=1&timestamp={NOW_MS}");
    let signature = sign(SECRET, format!("{query}{body}").as_bytes());
    let request = test::TestRequest::post()
        .uri(&format!("/signed?{query}"))
        .insert_header((API_KEY_HEADER, API_KEY))
        .insert_header((CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .set_payload(format!("{body}&signature={signature}"));
    let (status, response) = call(request).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["params"][2], serde_json::json!(["type", "LIMIT"]));
    assert_eq!(response["params"].as_array().map(Vec::len), Some(5));

    // The same body signed alone (without the query) is refused.
    let alone = sign(SECRET, body.as_bytes());
    let request = test::TestRequest::post()
        .uri(&format!("/signed?{query}"))
        .insert_header((API_KEY_HEADER, API_KEY))
        .set_payload(format!("{body}&signature={alone}"));
    let (status, _) = call(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[actix::test]
async fn json_body_is_signed_as_received() {
    let body = format!(r#"{{"symbol":"BTCUSDT","orderIds":[1,2,3],"timestamp":{NOW_MS}}}"#);
    let query = "recvWindow=5000";
    let signature = sign(SECRET, format!("{query}{body}").as_bytes());
    let request = test::TestRequest::delete()
        .uri(&format!("/signed?{query}&signature={signature}"))
        .insert_header((API_KEY_HEADER, API_KEY))
        .insert_header((CONTENT_TYPE, "application/json"))
        .set_payload(body);
    let (status, response) = call(request).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    let params = response["params"].as_array().unwrap();
    assert!(params.contains(&serde_json::json!(["orderIds", "[1,2,3]"])), "{response}");
    assert!(params.contains(&serde_json::json!(["recvWindow", "5000"])), "{response}");
}

#[actix::test]
async fn oversized_body_is_refused() {
    let request = get(&format!("timestamp={NOW_MS}")).set_payload(vec![b'a'; BODY_BYTES_MAX + 1]);
    let (status, body) = call(request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(error_code(&body) < 0);
}

/// WebSocket API params: `members` plus `apiKey`, signed over the sorted `k=v` text.
fn ws_params(
    members: serde_json::Value,
    secret: &[u8],
) -> serde_json::Map<String, serde_json::Value> {
    let serde_json::Value::Object(mut params) = members else { panic!("an object") };
    params.insert("apiKey".into(), API_KEY.into());
    let unsigned = Params::from_json_object(params.clone()).unwrap();
    let signature = sign(secret, sorted_payload(&unsigned).as_bytes());
    params.insert("signature".into(), signature.into());
    params
}

#[test]
fn websocket_params_are_signed_sorted_without_url_encoding() {
    let members =
        serde_json::json!({"timestamp": NOW_MS, "symbol": "BTCUSDT", "note": "a b&c", "n": 5});
    let params = Params::from_json_object(ws_params(members.clone(), SECRET)).unwrap();
    assert_eq!(
        sorted_payload(&params),
        format!("apiKey={API_KEY}&n=5&note=a b&c&symbol=BTCUSDT&timestamp={NOW_MS}")
    );
    let signed = authenticate_json(&state(), ws_params(members.clone(), SECRET)).unwrap();
    assert_eq!((signed.account_id, signed.params.get("symbol")), (ACCOUNT, Some("BTCUSDT")));
    let forged = authenticate_json(&state(), ws_params(members.clone(), b"other")).unwrap_err();
    assert_eq!(
        (forged.status(), forged.code()),
        (StatusCode::UNAUTHORIZED, code::INVALID_SIGNATURE)
    );
    let mut unsigned = ws_params(members.clone(), SECRET);
    unsigned.remove("signature");
    let error = authenticate_json(&state(), unsigned).unwrap_err();
    assert_eq!(error.code(), code::MANDATORY_PARAM_EMPTY_OR_MALFORMED);
    let mut keyless = ws_params(members, SECRET);
    keyless.remove("apiKey");
    assert_eq!(authenticate_json(&state(), keyless).unwrap_err().code(), code::BAD_API_KEY_FMT);
    let stale = ws_params(serde_json::json!({"timestamp": NOW_MS - 60_000}), SECRET);
    assert_eq!(authenticate_json(&state(), stale).unwrap_err().code(), code::INVALID_TIMESTAMP);
}
