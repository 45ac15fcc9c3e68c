//! [`Params`]: a request's parameters (query string, then a form or JSON body) as name/value
//! strings, with Binance's refusals for what is missing, repeated or malformed. Typed
//! readers for the shapes every endpoint shares (decimals, whole numbers) live here; the order
//! vocabulary is in `params.rs`.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::errors::ApiError;
use super::signing::{BodyKind, SIGNATURE_PARAM};

/// Most parameters one request may carry (a list of ids travels as one JSON-array parameter).
pub const PARAMS_MAX: usize = 64;

/// Binance's legal range for a decimal parameter.
pub const DECIMAL_LEGAL_RANGE: &str = r"^([0-9]{1,20})(\.[0-9]{1,20})?$";
/// Binance's legal range for an id or a count.
pub const WHOLE_LEGAL_RANGE: &str = "^[0-9]{1,20}$";

/// Parameters in the order received; names are unique. `signature` is never among them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Refuses a repeated name or more than [`PARAMS_MAX`]; drops `signature`.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Params, ApiError> {
        let mut kept: Vec<(String, String)> = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            if name == SIGNATURE_PARAM {
                continue;
            }
            if kept.iter().any(|(seen, _)| *seen == name) {
                return Err(ApiError::duplicate_parameter(&name));
            }
            if kept.len() == PARAMS_MAX {
                return Err(ApiError::too_many_parameters(PARAMS_MAX));
            }
            kept.push((name, value));
        }
        Ok(Params { pairs: kept })
    }

    /// The parameters of a query string (`a=1&b=2`, percent-decoded).
    pub fn from_query(query: &str) -> Result<Params, ApiError> {
        Params::from_pairs(form_pairs(query.as_bytes()))
    }

    /// The parameters of the query string followed by those of the body.
    pub fn from_request(query: &str, body: &[u8], body_kind: BodyKind) -> Result<Params, ApiError> {
        let mut pairs = form_pairs(query.as_bytes());
        match body_kind {
            BodyKind::Form => pairs.extend(form_pairs(body)),
            BodyKind::Json if body.iter().all(u8::is_ascii_whitespace) => {}
            BodyKind::Json => pairs.extend(json_pairs(body)?),
        }
        Params::from_pairs(pairs)
    }

    /// The members of one JSON object as parameters (an entry of a batch of orders).
    pub fn from_json_object(
        object: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Params, ApiError> {
        Params::from_pairs(object_pairs(object))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// The raw value of `name`, if sent (possibly empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(seen, _)| seen == name).map(|(_, value)| value.as_str())
    }

    /// An optional parameter: absent is `None`, sent empty is refused (-1105).
    pub fn optional(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            Some("") => Err(ApiError::empty_parameter(name)),
            value => Ok(value),
        }
    }

    /// A mandatory parameter: absent or empty is refused (-1102).
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).filter(|value| !value.is_empty()).ok_or_else(|| ApiError::mandatory(name))
    }

    /// An optional non-negative decimal in Binance's form (`123.45`), parsed exactly.
    pub fn decimal(&self, name: &str) -> Result<Option<Decimal>, ApiError> {
        self.optional(name)?.map(|text| parse_decimal(name, text)).transpose()
    }

    /// An optional whole number of at most 20 digits.
    pub fn whole(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.optional(name)?.map(|text| parse_whole(name, text)).transpose()
    }
}

/// `text` as an exact decimal: digits with an optional fraction, nothing else (no sign,
/// exponent or separator), refused with -1100; more digits than a `Decimal` holds, -1111.
pub fn parse_decimal(name: &str, text: &str) -> Result<Decimal, ApiError> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let digits =
        |part: &str| (1..=20).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return Err(ApiError::illegal_characters(name, DECIMAL_LEGAL_RANGE));
    }
    Decimal::from_str_exact(text).map_err(|_| ApiError::too_much_precision(name))
}

/// `text` as a whole number: 1 to 20 digits that fit a `u64`, else -1100.
pub fn parse_whole(name: &str, text: &str) -> Result<u64, ApiError> {
    let digits = (1..=20).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    digits
        .then(|| u64::from_str(text).ok())
        .flatten()
        .ok_or_else(|| ApiError::illegal_characters(name, WHOLE_LEGAL_RANGE))
}

fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    // Decoding is lossy (invalid UTF-8 becomes U+FFFD), so it never fails; the typed
    // readers then refuse what is not in their alphabet.
    serde_urlencoded::from_bytes(bytes).unwrap_or_default()
}

/// A JSON object's members as strings: strings as they are, other scalars and arrays or
/// objects as their JSON text (`[1,2]`), null as empty.
fn json_pairs(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
        .map_err(|_| ApiError::invalid_parameter("body (a JSON object of parameters)"))?;
    Ok(object_pairs(object))
}

fn object_pairs(object: serde_json::Map<String, serde_json::Value>) -> Vec<(String, String)> {
    let pairs = object.into_iter().map(|(name, value)| {
        let text = match value {
            serde_json::Value::String(text) => text,
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        (name, text)
    });
    pairs.collect()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::api::errors::code;
    use crate::api::testing::dec;

    #[test]
    fn query_then_form_body_in_order_without_signature() {
        let params =
            Params::from_request("symbol=BTCUSDT&a=%41", b"b=2&signature=ff", BodyKind::Form)
                .unwrap();
        let pairs: Vec<_> = params.iter().collect();
        assert_eq!(pairs, [("symbol", "BTCUSDT"), ("a", "A"), ("b", "2")]);
    }

    #[test]
    fn json_body_members_become_strings() {
        let body = br#"{"symbol":"BTCUSDT","orderIds":[1,2],"quantity":"0.5","n":3,"x":null}"#;
        let params = Params::from_request("timestamp=1", body, BodyKind::Json).unwrap();
        assert_eq!(params.get("orderIds"), Some("[1,2]"));
        assert_eq!(params.get("n"), Some("3"));
        assert_eq!(params.get("x"), Some(""));
        assert_eq!(params.get("timestamp"), Some("1"));
        let error = Params::from_request("", b"[1]", BodyKind::Json).unwrap_err();
        assert_eq!(error.code(), code::INVALID_PARAMETER);
    }

    #[test]
    fn repeated_or_too_many_parameters_are_refused() {
        let error = Params::from_request("a=1", b"a=2", BodyKind::Form).unwrap_err();
        assert_eq!(error.code(), code::TOO_MANY_PARAMETERS);
        assert_eq!(error.msg(), "Duplicate values for parameter 'a'.");
        let many: Vec<_> = (0..=PARAMS_MAX).map(|n| format!("p{n}=1")).collect();
        let error = Params::from_query(&many.join("&")).unwrap_err();
        assert_eq!(error.code(), code::TOO_MANY_PARAMETERS);
    }

    #[test]
    fn required_and_optional() {
        let params = Params::from_query("a=&b=1").unwrap();
        assert_eq!(
            params.required("a").unwrap_err().code(),
            code::MANDATORY_PARAM_EMPTY_OR_MALFORMED
        );
        assert_eq!(
            params.required("c").unwrap_err().code(),
            code::MANDATORY_PARAM_EMPTY_OR_MALFORMED
        );
        assert_eq!(params.required("b"), Ok("1"));
        assert_eq!(params.optional("a").unwrap_err().code(), code::PARAM_EMPTY);
        assert_eq!(params.optional("c"), Ok(None));
    }

    #[rstest]
    #[case("0.5", Ok("0.5"))]
    #[case("100", Ok("100"))]
    #[case("0.00100000", Ok("0.001"))]
    #[case("12345678901234567890.12345678901234567890", Err(code::BAD_PRECISION))]
    #[case("-1", Err(code::ILLEGAL_CHARS))]
    #[case("1e5", Err(code::ILLEGAL_CHARS))]
    #[case("1_000", Err(code::ILLEGAL_CHARS))]
    #[case(".5", Err(code::ILLEGAL_CHARS))]
    #[case("5.", Err(code::ILLEGAL_CHARS))]
    #[case(" 5", Err(code::ILLEGAL_CHARS))]
    #[case("123456789012345678901", Err(code::ILLEGAL_CHARS))]
    fn decimals_are_exact_and_strict(#[case] text: &str, #[case] expected: Result<&str, i32>) {
        let parsed = parse_decimal("quantity", text).map_err(|error| error.code());
        assert_eq!(parsed, expected.map(dec));
    }

    #[rstest]
    #[case("42", Ok(42))]
    #[case("18446744073709551615", Ok(u64::MAX))]
    #[case("18446744073709551616", Err(code::ILLEGAL_CHARS))]
    #[case("-1", Err(code::ILLEGAL_CHARS))]
    #[case("1.0", Err(code::ILLEGAL_CHARS))]
    fn whole_numbers(#[case] text: &str, #[case] expected: Result<u64, i32>) {
        assert_eq!(parse_whole("orderId", text).map_err(|error| error.code()), expected);
    }
}
