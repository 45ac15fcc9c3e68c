//! Identifiers. Order, account and trade ids are plain integers assigned outside the engine
//! (they come in with the command, so replay is deterministic). A client order id is the
//! client's own string, at most 36 characters of Binance's alphabet, stored inline so that
//! carrying it never allocates.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Exchange-wide order id.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct OrderId(pub u64);

/// Exchange-wide account id.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct AccountId(pub u64);

/// Per-symbol trade id, assigned by the matching engine in trade order.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct TradeId(pub u64);

/// Binance's limit on `newClientOrderId` (`^[.A-Z:/a-z0-9_-]{1,36}$`).
pub const CLIENT_ORDER_ID_LEN_MAX: usize = 36;

/// A client order id: 0 to 36 bytes of `[.A-Z:/a-z0-9_-]`, inline. Empty means "none given".
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientOrderId {
    len: u8,
    bytes: [u8; CLIENT_ORDER_ID_LEN_MAX],
}

/// Why a string is not a valid client order id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientOrderIdError {
    #[error("client order id is {len} characters; at most 36 are allowed")]
    TooLong { len: usize },
    #[error("client order id has a character outside [.A-Z:/a-z0-9_-] at position {position}")]
    BadCharacter { position: usize },
}

impl ClientOrderId {
    pub const NONE: ClientOrderId = ClientOrderId { len: 0, bytes: [0; CLIENT_ORDER_ID_LEN_MAX] };

    pub fn new(text: &str) -> Result<Self, ClientOrderIdError> {
        let raw = text.as_bytes();
        if raw.len() > CLIENT_ORDER_ID_LEN_MAX {
            return Err(ClientOrderIdError::TooLong { len: raw.len() });
        }
        if let Some(position) = raw.iter().position(|byte| !is_allowed(*byte)) {
            return Err(ClientOrderIdError::BadCharacter { position });
        }
        let mut bytes = [0; CLIENT_ORDER_ID_LEN_MAX];
        bytes[..raw.len()].copy_from_slice(raw);
        let len = u8::try_from(raw.len()).expect("checked against CLIENT_ORDER_ID_LEN_MAX above");
        Ok(ClientOrderId { len, bytes })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored (checked in `new`), so this cannot fail.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    pub fn is_none(&self) -> bool {
        self.len == 0
    }
}

fn is_allowed(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b':' | b'/' | b'_' | b'-')
}

impl Default for ClientOrderId {
    fn default() -> Self {
        ClientOrderId::NONE
    }
}

impl fmt::Debug for ClientOrderId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "ClientOrderId({:?})", self.as_str())
    }
}

impl fmt::Display for ClientOrderId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl Serialize for ClientOrderId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ClientOrderId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        ClientOrderId::new(&text).map_err(serde::de::Error::custom)
    }
}

/// Longest asset code (`BTC`, `USDT`, `1000SATS`).
pub const ASSET_CODE_LEN_MAX: usize = 12;

/// Longest symbol code (`BTCUSDT`, `ETH_PERP`).
pub const SYMBOL_CODE_LEN_MAX: usize = 20;

/// Why a string is not a valid asset or symbol code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("{kind} code must not be empty")]
    Empty { kind: &'static str },
    #[error("{kind} code is {len} characters; at most {max} are allowed")]
    TooLong { kind: &'static str, len: usize, max: usize },
    #[error("{kind} code has a character outside {alphabet} at position {position}")]
    BadCharacter { kind: &'static str, alphabet: &'static str, position: usize },
}

/// Bytes of a short upper-case code, stored inline and zero padded (so the derived ordering
/// is the ordering of the strings).
fn code_bytes<const N: usize>(
    text: &str,
    kind: &'static str,
    alphabet: &'static str,
    allowed: fn(u8) -> bool,
) -> Result<[u8; N], CodeError> {
    let raw = text.as_bytes();
    if raw.is_empty() {
        return Err(CodeError::Empty { kind });
    }
    if raw.len() > N {
        return Err(CodeError::TooLong { kind, len: raw.len(), max: N });
    }
    if let Some(position) = raw.iter().position(|byte| !allowed(*byte)) {
        return Err(CodeError::BadCharacter { kind, alphabet, position });
    }
    let mut bytes = [0; N];
    bytes[..raw.len()].copy_from_slice(raw);
    Ok(bytes)
}

fn code_str(bytes: &[u8]) -> &str {
    let len = bytes.iter().position(|byte| *byte == 0).unwrap_or(bytes.len());
    // Only ASCII bytes are ever stored (checked in `code_bytes`), so this cannot fail.
    std::str::from_utf8(&bytes[..len]).unwrap_or_default()
}

/// Declares an inline, `Copy` code type with string serde, Debug and Display.
macro_rules! inline_code {
    ($(#[$doc:meta])* $name:ident, $len:expr, $kind:literal, $alphabet:literal, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Below and above every code: bounds of a range over keys that start with a
            /// code, never codes themselves.
            pub const MIN: Self = $name([0; $len]);
            pub const MAX: Self = $name([u8::MAX; $len]);

            pub fn new(text: &str) -> Result<Self, CodeError> {
                code_bytes(text, $kind, $alphabet, $allowed).map($name)
            }

            pub fn as_str(&self) -> &str {
                code_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = CodeError;

            fn from_str(text: &str) -> Result<Self, CodeError> {
                $name::new(text)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, "{}({:?})", stringify!($name), self.as_str())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                $name::new(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

inline_code!(
    /// An asset's code: 1 to 12 upper-case ASCII letters and digits, inline.
    AssetCode,
    ASSET_CODE_LEN_MAX,
    "asset",
    "[A-Z0-9]",
    |byte: u8| byte.is_ascii_uppercase() || byte.is_ascii_digit()
);

inline_code!(
    /// A symbol's code: 1 to 20 characters of `[A-Z0-9_]`, inline.
    SymbolCode,
    SYMBOL_CODE_LEN_MAX,
    "symbol",
    "[A-Z0-9_]",
    |byte: u8| byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'_'
);

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("")]
    #[case("x-Bf7a3Zq9.k:/_")]
    #[case("abcdefghijklmnopqrstuvwxyz0123456789")]
    fn accepts_binance_alphabet_up_to_36(#[case] text: &str) {
        assert_eq!(ClientOrderId::new(text).map(|id| id.as_str().to_owned()), Ok(text.to_owned()));
    }

    #[rstest]
    #[case("abcdefghijklmnopqrstuvwxyz0123456789X", ClientOrderIdError::TooLong { len: 37 })]
    #[case("bad id", ClientOrderIdError::BadCharacter { position: 3 })]
    #[case("é", ClientOrderIdError::BadCharacter { position: 0 })]
    fn refuses_long_or_foreign(#[case] text: &str, #[case] expected: ClientOrderIdError) {
        assert_eq!(ClientOrderId::new(text), Err(expected));
    }

    #[test]
    fn serde_round_trip_as_string() {
        let id = ClientOrderId::new("abc-1").unwrap();
        let bytes = postcard::to_stdvec(&id).unwrap();
        assert_eq!(postcard::from_bytes::<ClientOrderId>(&bytes).unwrap(), id);
    }

    #[rstest]
    #[case("BTC")]
    #[case("1000SATS")]
    #[case("ABCDEFGHIJKL")]
    fn asset_code_accepts_upper_alphanumerics(#[case] text: &str) {
        assert_eq!(AssetCode::new(text).map(|code| code.to_string()), Ok(text.to_owned()));
    }

    #[rstest]
    #[case("", CodeError::Empty { kind: "asset" })]
    #[case("ABCDEFGHIJKLM", CodeError::TooLong { kind: "asset", len: 13, max: 12 })]
    #[case("btc", CodeError::BadCharacter { kind: "asset", alphabet: "[A-Z0-9]", position: 0 })]
    #[case("BT_C", CodeError::BadCharacter { kind: "asset", alphabet: "[A-Z0-9]", position: 2 })]
    fn asset_code_refuses(#[case] text: &str, #[case] expected: CodeError) {
        assert_eq!(AssetCode::new(text), Err(expected));
    }

    #[rstest]
    #[case("BTCUSDT", true)]
    #[case("ETH_PERP", true)]
    #[case("ABCDEFGHIJ0123456789", true)]
    #[case("ABCDEFGHIJ0123456789X", false)]
    #[case("BTC-USDT", false)]
    #[case("", false)]
    fn symbol_code_alphabet_and_length(#[case] text: &str, #[case] valid: bool) {
        assert_eq!(SymbolCode::new(text).is_ok(), valid);
    }

    #[test]
    fn codes_order_like_strings_and_round_trip() {
        let short = AssetCode::new("BTC").unwrap();
        let long = AssetCode::new("BTCB").unwrap();
        assert!(short < long);
        let bytes = postcard::to_stdvec(&long).unwrap();
        assert_eq!(postcard::from_bytes::<AssetCode>(&bytes).unwrap(), long);
        let symbol = SymbolCode::new("BTCUSDT").unwrap();
        let bytes = postcard::to_stdvec(&symbol).unwrap();
        assert_eq!(postcard::from_bytes::<SymbolCode>(&bytes).unwrap(), symbol);
    }
}
