//! Configuration: `config/default.toml`, with each setting overridable later by environment
//! variables. Loading validates every symbol, so a bad spec stops the server at start with the
//! field and value at fault instead of refusing orders at run time.

use std::path::Path;

use anyhow::Context;
use exchange_actors::book::{BookCapacity, BookLimits};
use exchange_actors::model::SymbolSpec;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub book: BookConfig,
    pub symbols: Vec<SymbolSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BookConfig {
    pub orders_max: u32,
    pub account_orders_max: u32,
    pub orders_preallocated: u32,
}

impl BookConfig {
    pub fn capacity(&self) -> BookCapacity {
        BookCapacity {
            orders_max: self.orders_max,
            account_orders_max: self.account_orders_max,
            orders_preallocated: self.orders_preallocated,
        }
    }
}

/// A market ready to open: its spec and the integer limits its book enforces.
#[derive(Debug)]
pub struct Market {
    pub spec: SymbolSpec,
    pub limits: BookLimits,
}

impl Config {
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading configuration {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing configuration {}", path.display()))
    }

    /// Every configured symbol, validated; the first invalid one is the error.
    pub fn markets(&self) -> anyhow::Result<Vec<Market>> {
        let mut seen = std::collections::BTreeSet::new();
        self.symbols
            .iter()
            .map(|spec| {
                anyhow::ensure!(
                    seen.insert(&spec.symbol),
                    "symbol {} is defined twice",
                    spec.symbol
                );
                let limits = BookLimits::from_spec(spec, self.book.capacity())
                    .with_context(|| format!("symbol {}", spec.symbol))?;
                Ok(Market { spec: spec.clone(), limits })
            })
            .collect()
    }
}
