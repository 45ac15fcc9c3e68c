//! [`SymbolOrderLimits`]: the per-symbol rate override of the kill switches
//! (`requestWeightPerMinute` of `PUT /admin/switches/symbols/{symbol}`): new orders on that
//! symbol (weight 1 each) per minute and account, on top of the per-key limits. One governor
//! limiter per symbol with an override, rebuilt when the override changes; bounded by the
//! listed symbols, and each limiter prunes idle accounts like the others.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::Quota;
use governor::clock::Clock as _;

type PerAccount = governor::DefaultKeyedRateLimiter<u64>;

/// Checks between two prunings of one symbol's idle accounts.
const PRUNE_EVERY_CHECKS: u64 = 4_096;

/// One symbol's override and its limiter.
#[derive(Debug)]
struct SymbolLimit {
    per_minute: u32,
    limiter: Arc<PerAccount>,
    checks: u64,
}

impl SymbolLimit {
    fn new(per_minute: NonZeroU32) -> SymbolLimit {
        SymbolLimit {
            per_minute: per_minute.get(),
            limiter: Arc::new(limiter(per_minute)),
            checks: 0,
        }
    }
}

#[derive(Debug, Default)]
pub struct SymbolOrderLimits {
    by_symbol: Mutex<BTreeMap<String, SymbolLimit>>,
}

impl SymbolOrderLimits {
    /// `Err(seconds to wait)` when `account` placed `per_minute` orders on `symbol` within
    /// the last minute already.
    pub fn check(&self, symbol: &str, per_minute: NonZeroU32, account: u64) -> Result<(), u32> {
        let limiter = {
            let mut by_symbol =
                self.by_symbol.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let entry =
                by_symbol.entry(symbol.to_owned()).or_insert_with(|| SymbolLimit::new(per_minute));
            if entry.per_minute != per_minute.get() {
                *entry = SymbolLimit::new(per_minute);
            }
            entry.checks += 1;
            if entry.checks.is_multiple_of(PRUNE_EVERY_CHECKS) {
                entry.limiter.retain_recent();
            }
            entry.limiter.clone()
        };
        limiter.check_key(&account).map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            u32::try_from(seconds.max(1)).unwrap_or(u32::MAX)
        })
    }
}

fn limiter(per_minute: NonZeroU32) -> PerAccount {
    let replenish = Duration::from_secs(60) / per_minute.get();
    let quota = Quota::with_period(replenish.max(Duration::from_nanos(1)))
        .expect("a positive period")
        .allow_burst(per_minute);
    governor::RateLimiter::keyed(quota)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_override_limits_each_account_on_its_symbol_only() {
        let limits = SymbolOrderLimits::default();
        let two = NonZeroU32::new(2).expect("positive");
        assert_eq!(limits.check("BTCUSDT", two, 1), Ok(()));
        assert_eq!(limits.check("BTCUSDT", two, 1), Ok(()));
        let wait = limits.check("BTCUSDT", two, 1).unwrap_err();
        assert!((1..=30).contains(&wait), "{wait}");
        assert_eq!(limits.check("BTCUSDT", two, 2), Ok(()), "another account");
        assert_eq!(limits.check("ETHUSDT", two, 1), Ok(()), "another symbol");
        let three = NonZeroU32::new(3).expect("positive");
        assert_eq!(limits.check("BTCUSDT", three, 1), Ok(()), "a new override starts afresh");
    }
}
