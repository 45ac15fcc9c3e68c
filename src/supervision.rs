//! `[supervisor]` of the configuration: how fast failed or stalled actors are replaced, and
//! how long an order may stay in each transient state before its account shard re-drives it.

use std::time::Duration;

use exchange_actors::account::actor::FORWARD_RETRY_FOR;
use exchange_actors::supervisor::{Deadlines, SupervisorSettings};
use serde::Deserialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupervisorConfig {
    /// How often the supervisors look at heartbeats and the shards at deadlines.
    pub check_interval_ms: u64,
    /// How often each book reports it is alive.
    pub book_heartbeat_interval_ms: u64,
    /// A book that misses this many heartbeats in a row is replaced.
    pub book_missed_heartbeats_max: u32,
    /// An account shard that has not beaten for this long is replaced.
    pub shard_stall_timeout_ms: u64,
    /// Funds held, the book's confirmation missing.
    pub pending_deadline_ms: u64,
    /// A cancel requested, the book's answer missing.
    pub canceling_deadline_ms: u64,
    /// A liquidation under way (perpetuals).
    pub liquidating_deadline_ms: u64,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        let settings = SupervisorSettings::default();
        let ms = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        SupervisorConfig {
            check_interval_ms: ms(settings.check_interval),
            book_heartbeat_interval_ms: ms(settings.book_heartbeat_interval),
            book_missed_heartbeats_max: settings.book_missed_heartbeats_max,
            shard_stall_timeout_ms: ms(settings.stall_timeout),
            pending_deadline_ms: ms(settings.deadlines.pending),
            canceling_deadline_ms: ms(settings.deadlines.canceling),
            liquidating_deadline_ms: ms(settings.deadlines.liquidating),
        }
    }
}

impl SupervisorConfig {
    /// The settings, checked: every interval positive, and the PENDING deadline past the
    /// shards' forward retries (a PENDING order is abandoned only once no forward can still
    /// reach a book).
    pub fn settings(&self) -> anyhow::Result<SupervisorSettings> {
        let positive = [
            ("check_interval_ms", self.check_interval_ms),
            ("book_heartbeat_interval_ms", self.book_heartbeat_interval_ms),
            ("book_missed_heartbeats_max", u64::from(self.book_missed_heartbeats_max)),
            ("shard_stall_timeout_ms", self.shard_stall_timeout_ms),
            ("canceling_deadline_ms", self.canceling_deadline_ms),
            ("liquidating_deadline_ms", self.liquidating_deadline_ms),
        ];
        for (name, value) in positive {
            anyhow::ensure!(value > 0, "supervisor.{name} must be positive");
        }
        let pending = Duration::from_millis(self.pending_deadline_ms);
        anyhow::ensure!(
            pending > FORWARD_RETRY_FOR,
            "supervisor.pending_deadline_ms must exceed the forward retry window of {} ms, got {}",
            FORWARD_RETRY_FOR.as_millis(),
            self.pending_deadline_ms
        );
        Ok(SupervisorSettings {
            check_interval: Duration::from_millis(self.check_interval_ms),
            stall_timeout: Duration::from_millis(self.shard_stall_timeout_ms),
            book_heartbeat_interval: Duration::from_millis(self.book_heartbeat_interval_ms),
            book_missed_heartbeats_max: self.book_missed_heartbeats_max,
            deadlines: Deadlines {
                pending,
                canceling: Duration::from_millis(self.canceling_deadline_ms),
                liquidating: Duration::from_millis(self.liquidating_deadline_ms),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_round_trip() {
        let settings = SupervisorConfig::default().settings().unwrap();
        assert_eq!(settings, SupervisorSettings::default());
    }

    #[test]
    fn a_pending_deadline_inside_the_forward_retries_is_refused() {
        let config = SupervisorConfig { pending_deadline_ms: 3_000, ..SupervisorConfig::default() };
        let error = config.settings().unwrap_err().to_string();
        assert!(error.contains("pending_deadline_ms"), "{error}");
    }

    #[test]
    fn a_zero_interval_is_refused() {
        let config =
            SupervisorConfig { book_missed_heartbeats_max: 0, ..SupervisorConfig::default() };
        let error = config.settings().unwrap_err().to_string();
        assert!(error.contains("book_missed_heartbeats_max"), "{error}");
    }
}
