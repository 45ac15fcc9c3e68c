//! [`RateLimiter`]: request weight per minute per IP and per API key, new orders per 10 s and
//! per day per API key (governor's GCRA, one keyed limiter each), and the bans of clients that
//! keep going after 429s. Limits come from the environment ([`RateLimitSettings`]).
//!
//! Bounded: governor keeps one state per client seen; every [`PRUNE_EVERY_REQUESTS`] requests
//! the states that have fully refilled (idle clients) are dropped, so the maps hold only the
//! clients active within one window. The ban table has its own bound.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::Quota;
use governor::clock::{Clock as _, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;

use super::bans::BanTable;
use super::weights::RequestCost;
use crate::api::exchange_info::RateLimit;

/// Requests between two prunings of idle clients.
pub const PRUNE_EVERY_REQUESTS: u64 = 4_096;

type Keyed = governor::RateLimiter<
    String,
    DefaultKeyedStateStore<String>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// The limits (`RATE_LIMIT_*`); Binance's spot defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub ip_weight_per_minute: NonZeroU32,
    pub key_weight_per_minute: NonZeroU32,
    pub orders_per_10s: NonZeroU32,
    pub orders_per_day: NonZeroU32,
    /// Refusals within a minute that get a client banned.
    pub ban_after_refusals: NonZeroU32,
    pub ban_s: NonZeroU32,
}

const fn nonzero(value: u32) -> NonZeroU32 {
    match NonZeroU32::new(value) {
        Some(value) => value,
        None => panic!("a limit is positive"),
    }
}

impl Default for RateLimitSettings {
    fn default() -> RateLimitSettings {
        RateLimitSettings {
            ip_weight_per_minute: nonzero(6_000),
            key_weight_per_minute: nonzero(6_000),
            orders_per_10s: nonzero(100),
            orders_per_day: nonzero(200_000),
            ban_after_refusals: nonzero(50),
            ban_s: nonzero(120),
        }
    }
}

impl RateLimitSettings {
    /// From an environment; an unset variable keeps its default, a bad one is named.
    pub fn resolve(lookup: impl Fn(&str) -> Option<String>) -> Result<RateLimitSettings, String> {
        let mut settings = RateLimitSettings::default();
        let fields: [(&str, &mut NonZeroU32); 6] = [
            ("RATE_LIMIT_IP_WEIGHT_PER_MINUTE", &mut settings.ip_weight_per_minute),
            ("RATE_LIMIT_KEY_WEIGHT_PER_MINUTE", &mut settings.key_weight_per_minute),
            ("RATE_LIMIT_ORDERS_PER_10S", &mut settings.orders_per_10s),
            ("RATE_LIMIT_ORDERS_PER_DAY", &mut settings.orders_per_day),
            ("RATE_LIMIT_BAN_AFTER_REFUSALS", &mut settings.ban_after_refusals),
            ("RATE_LIMIT_BAN_S", &mut settings.ban_s),
        ];
        for (name, field) in fields {
            if let Some(text) = lookup(name).filter(|text| !text.trim().is_empty()) {
                *field = text
                    .trim()
                    .parse()
                    .map_err(|_| format!("{name} {text:?} is not a whole number from 1"))?;
            }
        }
        Ok(settings)
    }

    /// exchangeInfo's `rateLimits`: REQUEST_WEIGHT is the tighter of the IP and key limits
    /// (what a client with one key meets first).
    pub fn exchange_info(&self) -> Vec<RateLimit> {
        let limit = |rate_limit_type, interval, interval_num, limit: NonZeroU32| RateLimit {
            rate_limit_type,
            interval,
            interval_num,
            limit: limit.get(),
        };
        vec![
            limit(
                "REQUEST_WEIGHT",
                "MINUTE",
                1,
                self.ip_weight_per_minute.min(self.key_weight_per_minute),
            ),
            limit("ORDERS", "SECOND", 10, self.orders_per_10s),
            limit("ORDERS", "DAY", 1, self.orders_per_day),
        ]
    }
}

/// What the limiter says of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go on; the headers to answer with.
    Admitted { used_weight: u32, order_counts: Option<(u32, u32)> },
    /// 429: `code` -1003 (weight) or -1015 (orders).
    Limited { retry_after_s: u32, used_weight: u32, code: i32, msg: String },
    /// 418: the client is banned.
    Banned { retry_after_s: u32, msg: String },
}

#[derive(Debug)]
pub struct RateLimiter {
    settings: RateLimitSettings,
    ip_weight: Keyed,
    key_weight: Keyed,
    orders_10s: Keyed,
    orders_day: Keyed,
    bans: Mutex<BanTable>,
    requests: AtomicU64,
}

fn keyed(quota: Quota) -> Keyed {
    governor::RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>()
}

/// `limit` cells per `period`, all available at once.
fn quota(limit: NonZeroU32, period: Duration) -> Quota {
    let replenish = period / limit.get();
    Quota::with_period(replenish.max(Duration::from_nanos(1)))
        .expect("a positive period")
        .allow_burst(limit)
}

fn whole_seconds_up(wait: Duration) -> u32 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    u32::try_from(seconds.max(1)).unwrap_or(u32::MAX)
}

/// One client's check against `limiter` for `cells`: `Ok(used)` or `Err(wait)`.
enum Check {
    Ok(u32),
    Refused(Duration),
}

impl RateLimiter {
    pub fn new(settings: RateLimitSettings) -> RateLimiter {
        let minute = Duration::from_secs(60);
        RateLimiter {
            ip_weight: keyed(quota(settings.ip_weight_per_minute, minute)),
            key_weight: keyed(quota(settings.key_weight_per_minute, minute)),
            orders_10s: keyed(quota(settings.orders_per_10s, Duration::from_secs(10))),
            orders_day: keyed(quota(settings.orders_per_day, Duration::from_secs(86_400))),
            bans: Mutex::new(BanTable::new(
                settings.ban_after_refusals.get(),
                Duration::from_secs(u64::from(settings.ban_s.get())),
            )),
            settings,
            requests: AtomicU64::new(0),
        }
    }

    pub fn settings(&self) -> &RateLimitSettings {
        &self.settings
    }

    fn check(&self, limiter: &Keyed, limit: NonZeroU32, client: &str, cells: u32) -> Check {
        let Some(cells) = NonZeroU32::new(cells) else { return Check::Ok(0) };
        match limiter.check_key_n(&client.to_owned(), cells) {
            Ok(Ok(snapshot)) => Check::Ok(limit.get() - snapshot.remaining_burst_capacity()),
            Ok(Err(not_until)) => Check::Refused(not_until.wait_time_from(limiter.clock().now())),
            // More than the whole quota at once: never possible, wait a full window.
            Err(_) => Check::Refused(Duration::from_secs(60)),
        }
    }

    /// The verdict on a request of `cost` from `ip` (with `api_key` when it carries one).
    pub fn admit(&self, ip: &str, api_key: Option<&str>, cost: RequestCost) -> Verdict {
        self.prune_now_and_then();
        let now = Instant::now();
        let ip_client = format!("ip:{ip}");
        let key_client = api_key.map(|key| format!("key:{key}"));
        if let Some(banned) = self.banned(&ip_client, key_client.as_deref(), now) {
            return banned;
        }
        let settings = &self.settings;
        let ip_used = match self.check(
            &self.ip_weight,
            settings.ip_weight_per_minute,
            &ip_client,
            cost.weight,
        ) {
            Check::Ok(used) => used,
            Check::Refused(wait) => {
                let limit = settings.ip_weight_per_minute.get();
                return self.refuse(&ip_client, wait, limit, -1003, weight_msg(limit), now);
            }
        };
        let Some(key_client) = key_client else {
            return Verdict::Admitted { used_weight: ip_used, order_counts: None };
        };
        let limit = settings.key_weight_per_minute;
        let key_used = match self.check(&self.key_weight, limit, &key_client, cost.weight) {
            Check::Ok(used) => used,
            Check::Refused(wait) => {
                let limit = limit.get();
                return self.refuse(&key_client, wait, limit, -1003, weight_msg(limit), now);
            }
        };
        let used_weight = ip_used.max(key_used);
        if !cost.places_orders {
            return Verdict::Admitted { used_weight, order_counts: None };
        }
        let per_10s = match self.check(&self.orders_10s, settings.orders_per_10s, &key_client, 1) {
            Check::Ok(count) => count,
            Check::Refused(wait) => {
                let msg = orders_msg(settings.orders_per_10s.get(), "10 SECOND");
                return self.refuse(&key_client, wait, used_weight, -1015, msg, now);
            }
        };
        let per_day = match self.check(&self.orders_day, settings.orders_per_day, &key_client, 1) {
            Check::Ok(count) => count,
            Check::Refused(wait) => {
                let msg = orders_msg(settings.orders_per_day.get(), "1 DAY");
                return self.refuse(&key_client, wait, used_weight, -1015, msg, now);
            }
        };
        Verdict::Admitted { used_weight, order_counts: Some((per_10s, per_day)) }
    }

    fn banned(&self, ip_client: &str, key_client: Option<&str>, now: Instant) -> Option<Verdict> {
        let bans = self.bans.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let wait = [Some(ip_client), key_client]
            .into_iter()
            .flatten()
            .filter_map(|client| bans.banned_for(client, now))
            .max()?;
        Some(banned_verdict(wait))
    }

    /// A 429, or a 418 when this refusal is one too many.
    fn refuse(
        &self,
        client: &str,
        wait: Duration,
        used_weight: u32,
        code: i32,
        msg: String,
        now: Instant,
    ) -> Verdict {
        let mut bans = self.bans.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(ban) = bans.strike(client, now) {
            return banned_verdict(ban);
        }
        Verdict::Limited { retry_after_s: whole_seconds_up(wait), used_weight, code, msg }
    }

    fn prune_now_and_then(&self) {
        if !self.requests.fetch_add(1, Ordering::Relaxed).is_multiple_of(PRUNE_EVERY_REQUESTS) {
            return;
        }
        for limiter in [&self.ip_weight, &self.key_weight, &self.orders_10s, &self.orders_day] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

fn banned_verdict(wait: Duration) -> Verdict {
    let until_ms = std::time::SystemTime::now()
        .checked_add(wait)
        .and_then(|until| until.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_millis());
    Verdict::Banned {
        retry_after_s: whole_seconds_up(wait),
        msg: format!(
            "Way too much request weight used; banned until {until_ms}. Please use WebSocket \
             Streams for live updates to avoid bans."
        ),
    }
}

fn weight_msg(limit: u32) -> String {
    format!(
        "Too much request weight used; current limit is {limit} request weight per 1 MINUTE. \
         Please use WebSocket Streams for live updates to avoid polling the API."
    )
}

fn orders_msg(limit: u32, interval: &str) -> String {
    format!("Too many new orders; current limit is {limit} orders per {interval}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(key_weight: u32, ban_after: u32) -> RateLimitSettings {
        RateLimitSettings {
            key_weight_per_minute: nonzero(key_weight),
            ban_after_refusals: nonzero(ban_after),
            orders_per_10s: nonzero(3),
            ..RateLimitSettings::default()
        }
    }

    const READ: RequestCost = RequestCost { weight: 4, places_orders: false };
    const ORDER: RequestCost = RequestCost { weight: 1, places_orders: true };

    #[test]
    fn a_key_over_its_weight_is_limited_and_another_key_is_not() {
        let limiter = RateLimiter::new(settings(10, 100));
        assert_eq!(
            limiter.admit("1.2.3.4", Some("a"), READ),
            Verdict::Admitted { used_weight: 4, order_counts: None }
        );
        assert!(matches!(
            limiter.admit("1.2.3.4", Some("a"), READ),
            Verdict::Admitted { used_weight: 8, .. }
        ));
        let Verdict::Limited { retry_after_s, code, msg, .. } =
            limiter.admit("1.2.3.4", Some("a"), READ)
        else {
            panic!("the third read is over 10");
        };
        assert_eq!(code, -1003);
        assert!((1..=60).contains(&retry_after_s), "{retry_after_s}");
        assert!(msg.contains("10 request weight per 1 MINUTE"), "{msg}");
        assert!(matches!(limiter.admit("1.2.3.4", Some("b"), READ), Verdict::Admitted { .. }));
    }

    #[test]
    fn new_orders_are_counted_and_limited_per_ten_seconds() {
        let limiter = RateLimiter::new(settings(1_000, 100));
        for count in 1..=3 {
            let verdict = limiter.admit("ip", Some("k"), ORDER);
            assert_eq!(
                verdict,
                Verdict::Admitted { used_weight: count, order_counts: Some((count, count)) }
            );
        }
        let Verdict::Limited { code, msg, .. } = limiter.admit("ip", Some("k"), ORDER) else {
            panic!("the fourth order in 10 s is over 3");
        };
        assert_eq!(
            (code, msg.as_str()),
            (-1015, "Too many new orders; current limit is 3 orders per 10 SECOND.")
        );
    }

    #[test]
    fn repeated_refusals_ban_the_client_only() {
        let limiter = RateLimiter::new(settings(4, 3));
        assert!(matches!(limiter.admit("ip", Some("a"), READ), Verdict::Admitted { .. }));
        assert!(matches!(limiter.admit("ip", Some("a"), READ), Verdict::Limited { .. }));
        assert!(matches!(limiter.admit("ip", Some("a"), READ), Verdict::Limited { .. }));
        let Verdict::Banned { retry_after_s, msg } = limiter.admit("ip", Some("a"), READ) else {
            panic!("the third refusal bans");
        };
        assert_eq!(retry_after_s, 120);
        assert!(msg.starts_with("Way too much request weight used; banned until"), "{msg}");
        assert!(matches!(limiter.admit("ip", Some("a"), READ), Verdict::Banned { .. }));
        assert!(matches!(limiter.admit("ip", Some("b"), READ), Verdict::Admitted { .. }));
    }

    #[test]
    fn settings_come_from_the_environment_and_bad_ones_are_named() {
        let lookup =
            |name: &str| (name == "RATE_LIMIT_KEY_WEIGHT_PER_MINUTE").then(|| "50".to_owned());
        let settings = RateLimitSettings::resolve(lookup).expect("valid");
        assert_eq!(settings.key_weight_per_minute.get(), 50);
        assert_eq!(settings.ip_weight_per_minute.get(), 6_000);
        let zero = |name: &str| (name == "RATE_LIMIT_BAN_S").then(|| "0".to_owned());
        assert!(RateLimitSettings::resolve(zero).unwrap_err().contains("RATE_LIMIT_BAN_S"));
        let limits = settings.exchange_info();
        assert_eq!((limits[0].rate_limit_type, limits[0].limit), ("REQUEST_WEIGHT", 50));
        let orders = &limits[1];
        assert_eq!(
            (orders.rate_limit_type, orders.interval, orders.limit),
            ("ORDERS", "SECOND", 100)
        );
    }
}
