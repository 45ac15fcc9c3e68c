//! API keys: which account a key belongs to and the secret its requests are signed with.
//! [`ApiKeyRegistry`] is what the gateway asks on every signed request; [`InMemoryApiKeys`] is
//! the real registry (loaded from the database at start, updated by the admin API), a map
//! behind a read-write lock that is held only for a point lookup or an insert, never across an
//! `.await`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use exchange_actors::model::AccountId;

/// Longest API key accepted (Binance's are 64 characters).
pub const API_KEY_LEN_MAX: usize = 128;
/// Most keys the registry holds.
pub const API_KEYS_MAX: usize = 1_000_000;

/// An API key's owner and secret. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiCredential {
    pub account_id: AccountId,
    secret: Arc<[u8]>,
}

impl ApiCredential {
    pub fn new(account_id: AccountId, secret: &[u8]) -> ApiCredential {
        ApiCredential { account_id, secret: secret.into() }
    }

    pub fn secret(&self) -> &[u8] {
        &self.secret
    }
}

impl fmt::Debug for ApiCredential {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ApiCredential")
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// Looks up API keys; implemented over whatever holds them.
pub trait ApiKeyRegistry: Send + Sync + 'static {
    fn lookup(&self, api_key: &str) -> Option<ApiCredential>;
}

/// Whether `api_key` has the shape of a key: 1 to [`API_KEY_LEN_MAX`] ASCII letters and digits.
pub fn is_well_formed(api_key: &str) -> bool {
    !api_key.is_empty()
        && api_key.len() <= API_KEY_LEN_MAX
        && api_key.bytes().all(|byte| byte.is_ascii_alphanumeric())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyRegistryError {
    #[error("an API key must be 1 to {API_KEY_LEN_MAX} ASCII letters and digits")]
    Malformed,
    #[error("the API key is already registered")]
    Exists,
    #[error("the registry holds {API_KEYS_MAX} keys already")]
    Full,
}

/// The key registry in memory.
#[derive(Debug, Default)]
pub struct InMemoryApiKeys {
    keys: RwLock<HashMap<String, ApiCredential>>,
}

impl InMemoryApiKeys {
    pub fn new() -> Arc<InMemoryApiKeys> {
        Arc::new(InMemoryApiKeys::default())
    }

    /// Registers a new key; an existing key is never overwritten.
    pub fn insert(&self, api_key: &str, credential: ApiCredential) -> Result<(), KeyRegistryError> {
        if !is_well_formed(api_key) {
            return Err(KeyRegistryError::Malformed);
        }
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        if keys.contains_key(api_key) {
            return Err(KeyRegistryError::Exists);
        }
        if keys.len() >= API_KEYS_MAX {
            return Err(KeyRegistryError::Full);
        }
        keys.insert(api_key.to_owned(), credential);
        Ok(())
    }

    /// Revokes a key; true when it was registered.
    pub fn remove(&self, api_key: &str) -> bool {
        self.keys.write().unwrap_or_else(PoisonError::into_inner).remove(api_key).is_some()
    }

    pub fn len(&self) -> usize {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ApiKeyRegistry for InMemoryApiKeys {
    fn lookup(&self, api_key: &str) -> Option<ApiCredential> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner).get(api_key).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_lookup_remove() {
        let keys = InMemoryApiKeys::new();
        let credential = ApiCredential::new(AccountId(7), b"secret");
        assert_eq!(keys.insert("abcDEF123", credential.clone()), Ok(()));
        assert_eq!(keys.lookup("abcDEF123"), Some(credential.clone()));
        assert_eq!(keys.lookup("abcdef123"), None);
        assert_eq!(keys.insert("abcDEF123", credential.clone()), Err(KeyRegistryError::Exists));
        assert!(keys.remove("abcDEF123"));
        assert!(!keys.remove("abcDEF123"));
        assert!(keys.is_empty());
    }

    #[test]
    fn malformed_keys_are_refused_and_secrets_not_printed() {
        let keys = InMemoryApiKeys::new();
        let credential = ApiCredential::new(AccountId(1), b"hunter2");
        for bad in ["", "has space", "é", &"k".repeat(API_KEY_LEN_MAX + 1)] {
            assert_eq!(keys.insert(bad, credential.clone()), Err(KeyRegistryError::Malformed));
        }
        assert!(!format!("{credential:?}").contains("hunter2"));
    }
}
