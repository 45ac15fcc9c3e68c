//! What the index oracle runs with: the configured indexes, validated, and the environment's
//! overrides (`REDIS_URL`, `INDEX_LEASE_TTL_MS`, `INDEX_LOCK_KEY`, `INTERNAL_TOKEN`). A pure
//! function over an environment lookup, so the rules are unit-tested without the process
//! environment.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context as _, ensure};
use exchange_actors::index::{IndexRules, SOURCES_MAX};

use crate::config::{Config, IndexConfig};

/// The shortest lease: below this a loaded machine's scheduling hiccup costs the leadership.
const LEASE_TTL_MS_MIN: u64 = 500;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSettings {
    pub indexes: Vec<IndexConfig>,
    pub publish_interval: Duration,
    pub lease_ttl_ms: u64,
    pub lock_key: String,
    /// `REDIS_URL`: the lease and the price channel live there; `None` = in-process.
    pub redis_url: Option<String>,
    /// `INTERNAL_TOKEN`: what pushed prices must carry; `None` = pushing is disabled.
    pub internal_token: Option<String>,
}

impl IndexSettings {
    pub fn resolve(
        config: &Config,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<IndexSettings> {
        let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let oracle = &config.index_oracle;
        let lease_ttl_ms = match set("INDEX_LEASE_TTL_MS") {
            Some(text) => text
                .parse()
                .with_context(|| format!("INDEX_LEASE_TTL_MS {text:?} is not milliseconds"))?,
            None => oracle.lease_ttl_ms,
        };
        let settings = IndexSettings {
            indexes: config.indexes.clone(),
            publish_interval: Duration::from_millis(oracle.publish_interval_ms),
            lease_ttl_ms,
            lock_key: set("INDEX_LOCK_KEY").unwrap_or_else(|| oracle.lock_key.clone()),
            redis_url: set("REDIS_URL"),
            internal_token: set("INTERNAL_TOKEN"),
        };
        settings.validate(config)?;
        Ok(settings)
    }

    fn validate(&self, config: &Config) -> anyhow::Result<()> {
        let interval_ms = u64::try_from(self.publish_interval.as_millis()).unwrap_or(u64::MAX);
        ensure!(interval_ms >= 10, "index_oracle.publish_interval_ms must be at least 10");
        ensure!(
            self.lease_ttl_ms >= LEASE_TTL_MS_MIN && self.lease_ttl_ms >= 3 * interval_ms,
            "the index lease ttl ({} ms) must be at least {LEASE_TTL_MS_MIN} ms and 3 publish \
             intervals ({interval_ms} ms), or a leader loses it between renewals",
            self.lease_ttl_ms
        );
        ensure!(!self.lock_key.is_empty(), "index_oracle.lock_key is empty");
        let symbols: BTreeSet<&str> =
            config.symbols.iter().map(|spec| spec.symbol.as_str()).collect();
        let mut names = BTreeSet::new();
        for index in &self.indexes {
            let name = &index.name;
            ensure!(names.insert(name.as_str()), "index {name} is defined twice");
            ensure!(index.staleness_ms > 0, "index {name}: staleness_ms must be positive");
            ensure!(
                (1..=SOURCES_MAX).contains(&index.min_sources),
                "index {name}: min_sources must be 1..={SOURCES_MAX}"
            );
            ensure!(
                index.outlier_bps > 0 && index.outlier_bps <= 10_000,
                "index {name}: outlier_bps must be 1..=10000"
            );
            for symbol in &index.spot_symbols {
                ensure!(
                    symbols.contains(symbol.as_str()),
                    "index {name}: spot symbol {symbol} is not a configured symbol"
                );
            }
            for url in &index.feed_urls {
                ensure!(
                    url.starts_with("ws://") || url.starts_with("wss://"),
                    "index {name}: feed url {url:?} is not ws:// or wss://"
                );
            }
        }
        Ok(())
    }

    /// Index name -> its rules.
    pub fn rules(&self) -> BTreeMap<String, IndexRules> {
        self.indexes.iter().map(|index| (index.name.clone(), index.rules())).collect()
    }

    /// The Redis key of the fencing counter, beside the lease.
    pub fn epoch_key(&self) -> String {
        format!("{}:epoch", self.lock_key)
    }

    /// The Redis channel of published prices, beside the lease.
    pub fn price_channel(&self) -> String {
        format!("{}:prices", self.lock_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml");
        Config::load(std::path::Path::new(path)).unwrap()
    }

    fn resolve(config: &Config, env: &[(&str, &str)]) -> anyhow::Result<IndexSettings> {
        IndexSettings::resolve(config, |name| {
            env.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn the_shipped_configuration_gives_in_process_indexes_without_pushing() {
        let settings = resolve(&config(), &[]).unwrap();
        assert_eq!(settings.rules().keys().collect::<Vec<_>>(), ["BTCUSDT", "ETHUSDT"]);
        assert_eq!((settings.redis_url, settings.internal_token), (None, None));
        assert_eq!(settings.lease_ttl_ms, 3_000);
    }

    #[test]
    fn the_environment_overrides_the_lease_and_key() {
        let env = [
            ("INDEX_LEASE_TTL_MS", "1000"),
            ("INDEX_LOCK_KEY", "test:lock"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("INTERNAL_TOKEN", "secret"),
        ];
        let settings = resolve(&config(), &env).unwrap();
        assert_eq!(settings.lease_ttl_ms, 1_000);
        assert_eq!(settings.price_channel(), "test:lock:prices");
        assert_eq!(settings.epoch_key(), "test:lock:epoch");
        assert_eq!(settings.internal_token.as_deref(), Some("secret"));
    }

    #[test]
    fn bad_settings_are_named() {
        let error = resolve(&config(), &[("INDEX_LEASE_TTL_MS", "400")]).unwrap_err();
        assert!(error.to_string().contains("lease ttl (400 ms)"), "{error}");
        let mut unknown_spot = config();
        unknown_spot.indexes[0].spot_symbols.push("DOGEUSDT".to_owned());
        let error = resolve(&unknown_spot, &[]).unwrap_err();
        assert!(error.to_string().contains("spot symbol DOGEUSDT"), "{error}");
        let mut twice = config();
        twice.indexes[1].name = "BTCUSDT".to_owned();
        assert!(resolve(&twice, &[]).unwrap_err().to_string().contains("defined twice"));
    }
}
