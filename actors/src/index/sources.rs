//! [`IndexSources`]: the latest quote of each source of one index and the index they give.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

/// Sources one index may have (spot books, pushed publishers, external feeds together).
pub const SOURCES_MAX: usize = 16;

/// How one index is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexRules {
    /// A quote older than this is not used.
    pub staleness_ms: u64,
    /// Fewer fresh sources than this (after outliers are dropped) and there is no index.
    pub min_sources: usize,
    /// A quote further than this from the median of the fresh quotes, in basis points of the
    /// median, is an outlier.
    pub outlier_bps: u32,
}

impl Default for IndexRules {
    fn default() -> Self {
        IndexRules { staleness_ms: 2_000, min_sources: 1, outlier_bps: 500 }
    }
}

/// One source's price and when it was observed (ms since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    pub price: Decimal,
    pub observed_at_ms: u64,
}

/// The index at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexValue {
    pub price: Decimal,
    /// Fresh sources the price is the median of.
    pub sources_used: usize,
    /// Fresh sources dropped as outliers.
    pub outliers: usize,
}

/// Why there is no index now: liquidations must pause rather than act on a stale price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IndexUnavailable {
    #[error("{fresh} fresh sources, {needed} needed")]
    TooFewFreshSources { fresh: usize, needed: usize },
    #[error("{agreeing} sources agree within the outlier band, {needed} needed")]
    TooFewAgreeing { agreeing: usize, needed: usize },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSources {
    rules: IndexRules,
    latest: BTreeMap<String, Quote>,
}

impl IndexSources {
    pub fn new(rules: IndexRules) -> Self {
        IndexSources { rules, latest: BTreeMap::new() }
    }

    pub fn rules(&self) -> IndexRules {
        self.rules
    }

    /// Records `quote` as `source`'s latest. A quote older than the one held is ignored (feeds
    /// may deliver out of order); a new source past [`SOURCES_MAX`] is refused. Returns whether
    /// the quote was taken.
    pub fn observe(&mut self, source: &str, quote: Quote) -> bool {
        let full = self.latest.len() >= SOURCES_MAX;
        match self.latest.get_mut(source) {
            Some(held) if held.observed_at_ms > quote.observed_at_ms => false,
            Some(held) => {
                *held = quote;
                true
            }
            None if full => false,
            None => {
                self.latest.insert(source.to_owned(), quote);
                true
            }
        }
    }

    /// Each source's latest quote, by name.
    pub fn quotes(&self) -> impl Iterator<Item = (&str, Quote)> {
        self.latest.iter().map(|(source, quote)| (source.as_str(), *quote))
    }

    /// The index at `now_ms`: the median of the fresh quotes within the outlier band around the
    /// median of all fresh quotes.
    pub fn compute(&self, now_ms: u64) -> Result<IndexValue, IndexUnavailable> {
        let needed = self.rules.min_sources.max(1);
        let mut fresh: Vec<Decimal> = self
            .latest
            .values()
            .filter(|quote| now_ms.saturating_sub(quote.observed_at_ms) <= self.rules.staleness_ms)
            .map(|quote| quote.price)
            .collect();
        if fresh.len() < needed {
            return Err(IndexUnavailable::TooFewFreshSources { fresh: fresh.len(), needed });
        }
        fresh.sort_unstable();
        let center = median_of_sorted(&fresh);
        let band = center * Decimal::from(self.rules.outlier_bps) / Decimal::from(10_000);
        let agreeing: Vec<Decimal> =
            fresh.iter().copied().filter(|price| (*price - center).abs() <= band).collect();
        if agreeing.len() < needed {
            return Err(IndexUnavailable::TooFewAgreeing { agreeing: agreeing.len(), needed });
        }
        Ok(IndexValue {
            price: median_of_sorted(&agreeing),
            sources_used: agreeing.len(),
            outliers: fresh.len() - agreeing.len(),
        })
    }
}

/// The median of a sorted, non-empty slice (the mean of the middle two for an even length).
fn median_of_sorted(sorted: &[Decimal]) -> Decimal {
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / Decimal::TWO
    }
}
