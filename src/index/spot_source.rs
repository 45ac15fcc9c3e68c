//! Our own spot books as index sources: each interval, the mid price of each configured spot
//! symbol's replica (best bid and ask, both present and the replica not resyncing) is a quote
//! named `spot:<SYMBOL>`.

use std::collections::BTreeMap;
use std::time::Duration;

use actix::Addr;
use exchange_actors::index::{IndexOracle, ObserveQuote, Quote};
use exchange_actors::market::actor::{DepthReplicas, GetReplicaDepth};
use exchange_actors::model::SymbolSpec;
use rust_decimal::Decimal;

/// (index, spot spec) pairs to sample.
pub type SpotSources = Vec<(String, SymbolSpec)>;

pub fn start_spot_sources(
    sources: SpotSources,
    replicas: Addr<DepthReplicas>,
    oracle: Addr<IndexOracle>,
    interval: Duration,
) {
    if sources.is_empty() {
        return;
    }
    actix::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        loop {
            ticks.tick().await;
            for (index, spec) in &sources {
                let Some(mid) = mid_price(&replicas, spec).await else { continue };
                let quote = Quote { price: mid, observed_at_ms: super::wall_clock_ms() };
                let source = format!("spot:{}", spec.symbol);
                if oracle.send(ObserveQuote { index: index.clone(), source, quote }).await.is_err()
                {
                    return;
                }
            }
        }
    });
}

pub(crate) async fn mid_price(
    replicas: &Addr<DepthReplicas>,
    spec: &SymbolSpec,
) -> Option<Decimal> {
    let request = GetReplicaDepth { symbol: spec.symbol.clone(), levels_max: 1 };
    let (depth, behind) = replicas.send(request).await.ok()??;
    if behind {
        return None;
    }
    let (bid, _) = depth.bids.first()?;
    let (ask, _) = depth.asks.first()?;
    Some((spec.ticks_to_price(*bid) + spec.ticks_to_price(*ask)) / Decimal::TWO)
}

/// Index name -> the specs of its spot symbols, from the configured ones.
pub fn spot_sources(
    indexes: &[crate::config::IndexConfig],
    specs: &BTreeMap<String, SymbolSpec>,
) -> SpotSources {
    indexes
        .iter()
        .flat_map(|index| {
            index.spot_symbols.iter().filter_map(|symbol| {
                specs.get(symbol).map(|spec| (index.name.clone(), spec.clone()))
            })
        })
        .collect()
}
