//! [`AppliedSeqs`]: per symbol, the last book event seq a consumer that is not an actor (the
//! history writer's tasks) has applied, for the lag sampler to read. One short lock per write
//! group; bounded by the listed symbols.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

#[derive(Debug, Default)]
pub struct AppliedSeqs {
    seqs: Mutex<BTreeMap<String, u64>>,
}

impl AppliedSeqs {
    /// `symbol` is applied up to `seq` (a writer rebuilt from its table may go back).
    pub fn set(&self, symbol: &str, seq: u64) {
        let mut seqs = self.seqs.lock().unwrap_or_else(PoisonError::into_inner);
        match seqs.get_mut(symbol) {
            Some(applied) => *applied = seq,
            None => {
                seqs.insert(symbol.to_owned(), seq);
            }
        }
    }

    pub fn all(&self) -> Vec<(String, u64)> {
        let seqs = self.seqs.lock().unwrap_or_else(PoisonError::into_inner);
        seqs.iter().map(|(symbol, seq)| (symbol.clone(), *seq)).collect()
    }
}
