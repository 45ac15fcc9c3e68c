//! Binance request signing, pure: which bytes a signature covers, HMAC-SHA256 verification in
//! constant time, and the `timestamp` / `recvWindow` check against a given server time.
//!
//! The signed payload is the query string followed directly by the form body (no `&` between
//! them, as Binance defines it), each exactly as received, with the `signature=...` pair taken
//! out of whichever part carries it. A JSON body is signed as its raw bytes; its signature must
//! be in the query string.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub const SIGNATURE_PARAM: &str = "signature";
/// `recvWindow` when the request has none.
pub const RECV_WINDOW_DEFAULT_MS: u64 = 5_000;
/// The largest `recvWindow` accepted.
pub const RECV_WINDOW_MAX_MS: u64 = 60_000;
/// How far ahead of the server's clock a `timestamp` may be.
pub const TIMESTAMP_AHEAD_MAX_MS: u64 = 1_000;

/// Why a signed request was refused. Each maps to one Binance code in `errors.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("API-key format invalid.")]
    MissingApiKey,
    #[error("API-key format invalid.")]
    MalformedApiKey,
    #[error("Invalid API-key, IP, or permissions for action.")]
    UnknownApiKey,
    #[error("Signature for this request is not valid.")]
    BadSignature,
    #[error("Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")]
    MissingSignature,
    #[error("Duplicate values for parameter 'signature'.")]
    DuplicateSignature,
    #[error("Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")]
    MissingTimestamp,
    #[error("Illegal characters found in parameter 'timestamp'; legal range is '^[0-9]{{1,20}}$'.")]
    MalformedTimestamp,
    #[error("recvWindow must be a whole number of milliseconds.")]
    MalformedRecvWindow,
    #[error("recvWindow must be less than {RECV_WINDOW_MAX_MS}")]
    RecvWindowTooLarge { recv_window_ms: u64 },
    #[error(
        "Timestamp for this request was {TIMESTAMP_AHEAD_MAX_MS}ms ahead of the server's time."
    )]
    TimestampAhead { ahead_ms: u64 },
    #[error("Timestamp for this request is outside of the recvWindow.")]
    TimestampExpired,
}

impl AuthError {
    /// The `reason` label of the auth-failure counter: stable, one per variant.
    pub fn reason(self) -> &'static str {
        match self {
            AuthError::MissingApiKey => "missing_api_key",
            AuthError::MalformedApiKey => "malformed_api_key",
            AuthError::UnknownApiKey => "unknown_api_key",
            AuthError::BadSignature => "bad_signature",
            AuthError::MissingSignature => "missing_signature",
            AuthError::DuplicateSignature => "duplicate_signature",
            AuthError::MissingTimestamp => "missing_timestamp",
            AuthError::MalformedTimestamp => "malformed_timestamp",
            AuthError::MalformedRecvWindow => "malformed_recv_window",
            AuthError::RecvWindowTooLarge { .. } => "recv_window_too_large",
            AuthError::TimestampAhead { .. } => "timestamp_ahead",
            AuthError::TimestampExpired => "timestamp_expired",
        }
    }
}

/// How the body's bytes are laid out, which decides whether a signature can be inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/x-www-form-urlencoded` (or no content type): `k=v&k=v`.
    Form,
    /// `application/json`: signed as raw bytes, never carries the signature.
    Json,
}

/// What a signature covers and the signature itself (hex text as sent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedPayload {
    pub payload: Vec<u8>,
    pub signature: String,
}

/// Takes the signature out of `query` (and of a form `body`) and returns the signed bytes.
pub fn signed_payload(
    query: &[u8],
    body: &[u8],
    body_kind: BodyKind,
) -> Result<SignedPayload, AuthError> {
    let mut signature = None;
    let mut payload = Vec::with_capacity(query.len() + body.len());
    strip_signature(query, &mut payload, &mut signature)?;
    match body_kind {
        BodyKind::Form => strip_signature(body, &mut payload, &mut signature)?,
        BodyKind::Json => payload.extend_from_slice(body),
    }
    let signature = signature.filter(|text| !text.is_empty()).ok_or(AuthError::MissingSignature)?;
    Ok(SignedPayload { payload, signature })
}

/// Appends `part` to `out` without its `signature=` pair, which goes to `signature`.
fn strip_signature(
    part: &[u8],
    out: &mut Vec<u8>,
    signature: &mut Option<String>,
) -> Result<(), AuthError> {
    let prefix = b"signature=";
    let mut first = true;
    for pair in part.split(|byte| *byte == b'&') {
        if let Some(value) = pair.strip_prefix(prefix) {
            if signature.is_some() {
                return Err(AuthError::DuplicateSignature);
            }
            *signature = Some(String::from_utf8_lossy(value).into_owned());
            continue;
        }
        if !first {
            out.push(b'&');
        }
        out.extend_from_slice(pair);
        first = false;
    }
    // An empty part splits into one empty pair; nothing was appended for it.
    Ok(())
}

/// The lowercase hex HMAC-SHA256 of `payload` under `secret` (what a client sends).
pub fn sign(secret: &[u8], payload: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(payload);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks `signature_hex` (either case) against `payload` under `secret`, in constant time.
pub fn verify(secret: &[u8], payload: &[u8], signature_hex: &str) -> Result<(), AuthError> {
    let signature = hex::decode(signature_hex).map_err(|_| AuthError::BadSignature)?;
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(payload);
    mac.verify_slice(&signature).map_err(|_| AuthError::BadSignature)
}

/// Refuses a request whose `timestamp` (ms) is more than [`TIMESTAMP_AHEAD_MAX_MS`] ahead of
/// `now_ms` or older than its `recvWindow` (default 5000, at most 60000).
pub fn check_timestamp(
    timestamp: Option<&str>,
    recv_window: Option<&str>,
    now_ms: u64,
) -> Result<(), AuthError> {
    let timestamp = timestamp.filter(|text| !text.is_empty()).ok_or(AuthError::MissingTimestamp)?;
    let timestamp_ms = parse_ms(timestamp).ok_or(AuthError::MalformedTimestamp)?;
    let recv_window_ms = match recv_window {
        None => RECV_WINDOW_DEFAULT_MS,
        Some(text) => parse_ms(text).ok_or(AuthError::MalformedRecvWindow)?,
    };
    if recv_window_ms > RECV_WINDOW_MAX_MS {
        return Err(AuthError::RecvWindowTooLarge { recv_window_ms });
    }
    if timestamp_ms > now_ms.saturating_add(TIMESTAMP_AHEAD_MAX_MS) {
        return Err(AuthError::TimestampAhead { ahead_ms: timestamp_ms - now_ms });
    }
    if now_ms.saturating_sub(timestamp_ms) > recv_window_ms {
        return Err(AuthError::TimestampExpired);
    }
    Ok(())
}

/// 1 to 20 ASCII digits as a `u64`.
fn parse_ms(text: &str) -> Option<u64> {
    let digits = !text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    /// Binance's documented example key, secret and signature.
    const SECRET: &[u8] = b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
    const QUERY: &str = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
    const SIGNATURE: &str = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71";

    #[test]
    fn binance_documented_signature_is_reproduced_and_accepted() {
        assert_eq!(sign(SECRET, QUERY.as_bytes()), SIGNATURE);
        let query = format!("{QUERY}&signature={SIGNATURE}");
        let signed = signed_payload(query.as_bytes(), b"", BodyKind::Form).unwrap();
        assert_eq!(signed.payload, QUERY.as_bytes());
        assert_eq!(verify(SECRET, &signed.payload, &signed.signature), Ok(()));
        assert_eq!(verify(SECRET, &signed.payload, &SIGNATURE.to_uppercase()), Ok(()));
    }

    #[test]
    fn any_changed_byte_is_refused() {
        for index in 0..QUERY.len() {
            let mut payload = QUERY.as_bytes().to_vec();
            payload[index] ^= 0x01;
            assert_eq!(verify(SECRET, &payload, SIGNATURE), Err(AuthError::BadSignature));
        }
        let mut signature = SIGNATURE.to_owned();
        signature.replace_range(0..1, "d");
        assert_eq!(verify(SECRET, QUERY.as_bytes(), &signature), Err(AuthError::BadSignature));
        assert_eq!(verify(b"other", QUERY.as_bytes(), SIGNATURE), Err(AuthError::BadSignature));
    }

    #[rstest]
    #[case::not_hex("zz")]
    #[case::short("c8db")]
    #[case::odd_length("c8d")]
    #[case::empty_after_prefix("")]
    fn malformed_signatures_are_refused(#[case] signature: &str) {
        assert_eq!(verify(SECRET, QUERY.as_bytes(), signature), Err(AuthError::BadSignature));
    }

    #[test]
    fn query_and_body_are_concatenated_as_binance_documents() {
        // Binance's "mixed query string and request body" example.
        let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC";
        let body = "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        let expected = format!("{query}{body}");
        let signature = sign(SECRET, expected.as_bytes());
        assert_eq!(signature, "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77");
        let body_signed = format!("{body}&signature={signature}");
        let signed = signed_payload(query.as_bytes(), body_signed.as_bytes(), BodyKind::Form);
        let signed = signed.unwrap();
        assert_eq!(signed.payload, expected.as_bytes());
        assert_eq!(verify(SECRET, &signed.payload, &signed.signature), Ok(()));
    }

    #[rstest]
    #[case::middle_of_query("a=1&signature=ff&b=2", "", "a=1&b=2")]
    #[case::start_of_body("a=1", "signature=ff&b=2", "a=1b=2")]
    #[case::end_of_body("", "b=2&signature=ff", "b=2")]
    fn signature_is_removed_from_where_it_stands(
        #[case] query: &str,
        #[case] body: &str,
        #[case] payload: &str,
    ) {
        let signed = signed_payload(query.as_bytes(), body.as_bytes(), BodyKind::Form).unwrap();
        assert_eq!(String::from_utf8(signed.payload).unwrap(), payload);
        assert_eq!(signed.signature, "ff");
    }

    #[test]
    fn json_body_is_signed_raw_and_signature_stays_in_the_query() {
        let body = br#"{"symbol":"BTCUSDT","orderIds":[1,2],"signature=x":1}"#;
        let signed = signed_payload(b"timestamp=1&signature=ab", body, BodyKind::Json).unwrap();
        assert_eq!(signed.payload, [b"timestamp=1".as_slice(), body].concat());
    }

    #[rstest]
    #[case::missing("a=1", "b=2", AuthError::MissingSignature)]
    #[case::empty("a=1&signature=", "", AuthError::MissingSignature)]
    #[case::twice("signature=aa", "signature=bb", AuthError::DuplicateSignature)]
    fn missing_or_repeated_signature(
        #[case] query: &str,
        #[case] body: &str,
        #[case] expected: AuthError,
    ) {
        let signed = signed_payload(query.as_bytes(), body.as_bytes(), BodyKind::Form);
        assert_eq!(signed, Err(expected));
    }

    const NOW_MS: u64 = 1_700_000_000_000;

    #[rstest]
    #[case::now(Some("1700000000000"), None, Ok(()))]
    #[case::edge_of_default_window(Some("1699999995000"), None, Ok(()))]
    #[case::expired(Some("1699999994999"), None, Err(AuthError::TimestampExpired))]
    #[case::wider_window(Some("1699999994999"), Some("60000"), Ok(()))]
    #[case::window_too_large(
        Some("1700000000000"),
        Some("60001"),
        Err(AuthError::RecvWindowTooLarge { recv_window_ms: 60_001 })
    )]
    #[case::one_second_ahead(Some("1700000001000"), None, Ok(()))]
    #[case::future(
        Some("1700000001001"),
        None,
        Err(AuthError::TimestampAhead { ahead_ms: 1_001 })
    )]
    #[case::missing(None, None, Err(AuthError::MissingTimestamp))]
    #[case::empty(Some(""), None, Err(AuthError::MissingTimestamp))]
    #[case::not_digits(Some("17e11"), None, Err(AuthError::MalformedTimestamp))]
    #[case::negative(Some("-1"), None, Err(AuthError::MalformedTimestamp))]
    #[case::overflow(Some("99999999999999999999"), None, Err(AuthError::MalformedTimestamp))]
    #[case::bad_window(Some("1700000000000"), Some("5s"), Err(AuthError::MalformedRecvWindow))]
    fn timestamp_window(
        #[case] timestamp: Option<&str>,
        #[case] recv_window: Option<&str>,
        #[case] expected: Result<(), AuthError>,
    ) {
        assert_eq!(check_timestamp(timestamp, recv_window, NOW_MS), expected);
    }
}
