//! The projector: one task per account shard (started at the shard's first commit through
//! this store) that writes committed `shard_batches` into `ledger_entries` and `orders`
//! rows off the acknowledgement path, in steps of up to `PROJECTION_BATCHES_MAX` batches.
//!
//! Bounded: a shard's commit waits while its journal is more than [`PROJECTION_LAG_MAX`]
//! batches ahead of its projection, so the tables trail the journal by a bounded amount and
//! a restart (which finishes the projection before loading) has bounded work. A failed step
//! is logged and retried at the next commit or wait.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::Store;
use crate::safety_metrics::{WriteComponent, count_write_failure};

/// Batches a shard's journal may be ahead of its projection before commits wait.
pub(super) const PROJECTION_LAG_MAX: u64 = 64;

/// Pause after a failed projection step before the task waits for the next wake-up.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// One shard's projection: what has been committed, what has been projected, and the wake-up.
#[derive(Debug)]
struct Lane {
    committed: AtomicU64,
    projected: watch::Sender<u64>,
    wake: Notify,
}

#[derive(Debug, Default)]
pub(super) struct Projector {
    lanes: Mutex<BTreeMap<u16, Arc<Lane>>>,
}

impl Projector {
    fn lane(&self, store: &Store, shard_index: u16) -> Arc<Lane> {
        let mut lanes = self.lanes.lock().expect("projector lanes lock");
        lanes
            .entry(shard_index)
            .or_insert_with(|| {
                let lane = Arc::new(Lane {
                    committed: AtomicU64::new(0),
                    projected: watch::Sender::new(0),
                    wake: Notify::new(),
                });
                tokio::spawn(run(store.clone(), shard_index, lane.clone()));
                lane
            })
            .clone()
    }

    /// Batch `batch_seq` of `shard_index` is committed: project it soon.
    pub(super) fn committed(&self, store: &Store, shard_index: u16, batch_seq: u64) {
        let lane = self.lane(store, shard_index);
        lane.committed.fetch_max(batch_seq, Ordering::Release);
        lane.wake.notify_one();
    }

    /// Waits while `shard_index`'s journal is more than [`PROJECTION_LAG_MAX`] batches ahead
    /// of its projection.
    pub(super) async fn wait_for_room(&self, store: &Store, shard_index: u16) {
        let lane = self.lane(store, shard_index);
        let committed = lane.committed.load(Ordering::Acquire);
        let mut projected = lane.projected.subscribe();
        if committed.saturating_sub(*projected.borrow()) <= PROJECTION_LAG_MAX {
            return;
        }
        // Also wakes a task whose last step failed.
        lane.wake.notify_one();
        let room = projected.wait_for(|done| committed.saturating_sub(*done) <= PROJECTION_LAG_MAX);
        // The sender lives in the lane we hold, so the wait ends only with room.
        let _room = room.await;
    }
}

async fn run(store: Store, shard_index: u16, lane: Arc<Lane>) {
    loop {
        lane.wake.notified().await;
        loop {
            match store.project_shard_step(shard_index).await {
                Ok(step) => {
                    lane.projected.send_replace(step.cursor);
                    if step.batches == 0 {
                        break;
                    }
                }
                Err(error) => {
                    count_write_failure(WriteComponent::Projector);
                    tracing::error!(shard = shard_index, %error, "shard projection failed");
                    tokio::time::sleep(RETRY_PAUSE).await;
                    break;
                }
            }
        }
    }
}
