//! L2 depth: the top levels of each side with the event sequence they reflect (REST depth's
//! `lastUpdateId`), best first.

use serde::{Deserialize, Serialize};

use super::engine::MatchingEngine;
use crate::model::{Price, Qty, Side};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Depth {
    pub last_event_seq: u64,
    pub bids: Vec<(Price, Qty)>,
    pub asks: Vec<(Price, Qty)>,
}

impl MatchingEngine {
    /// The top `levels_max` levels a side, into a reused `Depth`.
    pub fn depth_into(&self, levels_max: usize, depth: &mut Depth) {
        depth.last_event_seq = self.last_event_seq();
        for (side, out) in [(Side::Buy, &mut depth.bids), (Side::Sell, &mut depth.asks)] {
            out.clear();
            let levels = self.ladder(side).best_first().map(|level| &self.levels[level]);
            out.extend(levels.take(levels_max).map(|level| (level.price, level.total_qty)));
        }
    }

    pub fn depth(&self, levels_max: usize) -> Depth {
        let mut depth = Depth::default();
        self.depth_into(levels_max, &mut depth);
        depth
    }

    /// Number of price levels on `side`.
    pub fn level_count(&self, side: Side) -> usize {
        self.ladder(side).len()
    }
}
