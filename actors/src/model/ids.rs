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
}
