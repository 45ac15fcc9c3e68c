//! Target `signature`: REST request signing. Fields: the query string, the body, the
//! `Content-Type`, the `X-MBX-APIKEY` header, and a tamper instruction (`[where, where,
//! byte]`: one byte of the signed request replaced).
//!
//! Properties, for the request as sent: nothing panics; a signature verifies exactly when it
//! is the HMAC-SHA256 of the canonical payload (either hex case); `authenticate` accepts only
//! the registered key whose secret signed that payload, with a timestamp inside its window.
//! For the same parameters signed by a client as Binance documents (the query string, then
//! the form body, without `signature`; the signature appended to the query or to the form
//! body): the server's canonical payload is exactly what the client signed, it verifies, and
//! `authenticate` refuses it for no key or signature reason. After one byte is tampered with,
//! it verifies exactly when the canonical payload and the signature are still the client's.

use exchange::api::{
    ApiError, AuthError, BodyKind, SignedRequest, authenticate, check_timestamp, sign,
    signed_payload, verify,
};

use super::fields::{field, text_field};
use super::fixture::{ACCOUNT, API_KEY, NOW_MS, SECRET, check_refusal, headers, with_state};

/// The refusals a correctly signed request with the registered key must never get.
pub const CREDENTIAL_REFUSALS: [AuthError; 6] = [
    AuthError::MissingApiKey,
    AuthError::MalformedApiKey,
    AuthError::UnknownApiKey,
    AuthError::BadSignature,
    AuthError::MissingSignature,
    AuthError::DuplicateSignature,
];

pub fn run(data: &[u8]) {
    let query = text_field(data, 0);
    let body = field(data, 1);
    let headers = headers(field(data, 2), field(data, 3));
    let request = SignedRequest::new(&headers, &query, body);
    check_as_sent(request);
    check_signed_by_client(request, field(data, 4));
}

/// Verification agrees with recomputing the HMAC, whatever the payload and signature.
fn verifies(payload: &[u8], signature: &str) -> bool {
    let verified = verify(SECRET, payload, signature).is_ok();
    assert_eq!(
        verified,
        signature.eq_ignore_ascii_case(&sign(SECRET, payload)),
        "verify disagrees with the HMAC of {payload:?} for {signature:?}"
    );
    verified
}

fn check_as_sent(request: SignedRequest<'_>) {
    let signed = signed_payload(request.query.as_bytes(), request.body, request.body_kind);
    let verified = signed.as_ref().is_ok_and(|signed| verifies(&signed.payload, &signed.signature));
    let authenticated = with_state(|state| authenticate(state, request));
    match authenticated {
        Ok(authenticated) => {
            assert_eq!(request.api_key, Some(API_KEY), "accepted without the registered key");
            assert!(verified, "accepted with a signature that does not verify");
            assert_eq!(authenticated.account_id, ACCOUNT);
            let params = &authenticated.params;
            let window = check_timestamp(params.get("timestamp"), params.get("recvWindow"), NOW_MS);
            assert_eq!(window, Ok(()), "accepted outside the timestamp window");
        }
        Err(error) => check_refusal(&error),
    }
}

/// `part` without its `signature=` pairs: the parameters a client signs.
fn unsigned(part: &[u8]) -> Vec<u8> {
    let pairs = part.split(|byte| *byte == b'&').filter(|pair| !pair.starts_with(b"signature="));
    pairs.collect::<Vec<_>>().join(&b'&')
}

/// `part` with `signature=<signature>` appended as its last pair.
fn with_signature(part: &[u8], signature: &str) -> Vec<u8> {
    let mut signed = part.to_vec();
    if !signed.is_empty() {
        signed.push(b'&');
    }
    signed.extend_from_slice(format!("signature={signature}").as_bytes());
    signed
}

fn check_signed_by_client(request: SignedRequest<'_>, tamper: &[u8]) {
    let query = unsigned(request.query.as_bytes());
    let body = match request.body_kind {
        BodyKind::Form => unsigned(request.body),
        BodyKind::Json => request.body.to_vec(),
    };
    let payload = [query.as_slice(), body.as_slice()].concat();
    let signature = sign(SECRET, &payload);
    let in_body = request.body_kind == BodyKind::Form
        && !body.is_empty()
        && tamper.first().is_some_and(|byte| byte % 2 == 1);
    let (query, body) = match in_body {
        true => (query, with_signature(&body, &signature)),
        false => (with_signature(&query, &signature), body),
    };
    let query = String::from_utf8(query).expect("the query was text and stays text");
    let sent = SignedRequest { api_key: Some(API_KEY), query: &query, body: &body, ..request };
    let signed = signed_payload(sent.query.as_bytes(), sent.body, sent.body_kind)
        .expect("a client's signed request has one signature");
    assert_eq!(signed.payload, payload, "the canonical payload is not what the client signed");
    assert_eq!(signed.signature, signature);
    assert!(verifies(&signed.payload, &signed.signature));
    if let Err(error) = with_state(|state| authenticate(state, sent)) {
        check_not_credential_refusal(&error);
    }
    check_tampered(sent, tamper, &payload, &signature);
}

/// One byte of the sent query or body replaced, at the place `tamper` names.
fn check_tampered(sent: SignedRequest<'_>, tamper: &[u8], payload: &[u8], signature: &str) {
    let [_, high, low, byte, ..] = *tamper else { return };
    let length = sent.query.len() + sent.body.len();
    if length == 0 {
        return;
    }
    let at = usize::from(u16::from_be_bytes([high, low])) % length;
    let mut query = sent.query.as_bytes().to_vec();
    let mut body = sent.body.to_vec();
    match at.checked_sub(query.len()) {
        None => query[at] = byte,
        Some(at) => body[at] = byte,
    }
    let query = String::from_utf8_lossy(&query);
    let Ok(signed) = signed_payload(query.as_bytes(), &body, sent.body_kind) else { return };
    let unchanged = signed.payload == payload && signed.signature.eq_ignore_ascii_case(signature);
    assert_eq!(verifies(&signed.payload, &signed.signature), unchanged);
}

/// A refusal that is not about the key or the signature.
pub fn check_not_credential_refusal(error: &ApiError) {
    check_refusal(error);
    for refusal in CREDENTIAL_REFUSALS {
        let refused = ApiError::from(refusal);
        let same = (error.code(), error.msg()) == (refused.code(), refused.msg());
        assert!(!same, "a correctly signed request refused: {error:?}");
    }
}
