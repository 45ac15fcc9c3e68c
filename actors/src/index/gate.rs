//! [`EpochGate`]: the fencing every consumer of index prices applies. A leader paused past its
//! lease (a long GC, SIGSTOP, a VM migration) does not know it lost the lease and may publish
//! once more when it wakes; its epoch is older than the new leader's, so it is refused here.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ports::Epoch;

/// One index price as the leader publishes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedIndex {
    pub index: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
    /// Per (epoch, index), from 1; a new leader starts again at 1.
    pub seq: u64,
    /// The publishing leader's fencing epoch.
    pub epoch: Epoch,
    /// When the leader computed it (ms since the epoch).
    pub at_ms: u64,
    /// Sources the price is the median of.
    pub sources: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GateRefusal {
    #[error("epoch {epoch} is older than the current epoch {current}")]
    StaleEpoch { epoch: u64, current: u64 },
    #[error("seq {seq} is not after the last accepted seq {last}")]
    Replayed { seq: u64, last: u64 },
    #[error("the index is not known here")]
    UnknownIndex,
}

impl GateRefusal {
    pub fn reason(self) -> &'static str {
        match self {
            GateRefusal::StaleEpoch { .. } => "stale_epoch",
            GateRefusal::Replayed { .. } => "replayed",
            GateRefusal::UnknownIndex => "unknown_index",
        }
    }
}

/// The newest accepted price of each known index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpochGate {
    accepted: BTreeMap<String, Option<PublishedIndex>>,
}

impl EpochGate {
    /// A gate for these indexes; prices of any other index are refused (the map stays bounded).
    pub fn new<'a>(indexes: impl IntoIterator<Item = &'a str>) -> Self {
        EpochGate { accepted: indexes.into_iter().map(|name| (name.to_owned(), None)).collect() }
    }

    /// Accepts `price` when its epoch is the newest seen for its index and, within that epoch,
    /// its seq is newer than the last accepted.
    pub fn accept(&mut self, price: PublishedIndex) -> Result<(), GateRefusal> {
        let Some(slot) = self.accepted.get_mut(&price.index) else {
            return Err(GateRefusal::UnknownIndex);
        };
        if let Some(last) = slot {
            if price.epoch < last.epoch {
                return Err(GateRefusal::StaleEpoch {
                    epoch: price.epoch.0,
                    current: last.epoch.0,
                });
            }
            if price.epoch == last.epoch && price.seq <= last.seq {
                return Err(GateRefusal::Replayed { seq: price.seq, last: last.seq });
            }
        }
        *slot = Some(price);
        Ok(())
    }

    /// The newest accepted price of `index`.
    pub fn latest(&self, index: &str) -> Option<&PublishedIndex> {
        self.accepted.get(index).and_then(Option::as_ref)
    }

    /// Every index with its newest accepted price, if any.
    pub fn all(&self) -> impl Iterator<Item = (&str, Option<&PublishedIndex>)> {
        self.accepted.iter().map(|(name, latest)| (name.as_str(), latest.as_ref()))
    }
}
