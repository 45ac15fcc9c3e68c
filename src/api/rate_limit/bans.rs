//! [`BanTable`]: which clients (an API key or an IP) are banned for repeated rate-limit
//! violations, Binance's 418. Pure: time comes in as an argument.
//!
//! A client that is refused `strikes_max` times within one [`STRIKE_WINDOW`] is banned for
//! `ban`; the ban expires by itself. Bounded: at most [`BAN_TABLE_MAX`] clients are tracked;
//! entries whose window and ban are over are dropped first, and when every tracked client is
//! still live a new violator is not tracked (it keeps getting 429s, never a ban).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Clients tracked at most.
pub const BAN_TABLE_MAX: usize = 10_000;
/// The window in which strikes add up.
pub const STRIKE_WINDOW: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug)]
struct Strikes {
    window_start: Instant,
    count: u32,
    banned_until: Option<Instant>,
}

impl Strikes {
    fn is_over(&self, now: Instant) -> bool {
        let window_over = now.duration_since(self.window_start) >= STRIKE_WINDOW;
        window_over && self.banned_until.is_none_or(|until| until <= now)
    }
}

#[derive(Debug)]
pub struct BanTable {
    strikes_max: u32,
    ban: Duration,
    clients: HashMap<String, Strikes>,
}

impl BanTable {
    pub fn new(strikes_max: u32, ban: Duration) -> BanTable {
        assert!(strikes_max > 0, "a ban needs at least one strike");
        BanTable { strikes_max, ban, clients: HashMap::new() }
    }

    /// How long `client` remains banned, if it is.
    pub fn banned_for(&self, client: &str, now: Instant) -> Option<Duration> {
        let until = self.clients.get(client)?.banned_until?;
        (until > now).then(|| until - now)
    }

    /// Records one refusal of `client`; the ban's length when this strike bans it.
    pub fn strike(&mut self, client: &str, now: Instant) -> Option<Duration> {
        if !self.clients.contains_key(client) && !self.make_room(now) {
            return None;
        }
        let strikes = self.clients.entry(client.to_owned()).or_insert(Strikes {
            window_start: now,
            count: 0,
            banned_until: None,
        });
        if now.duration_since(strikes.window_start) >= STRIKE_WINDOW {
            *strikes = Strikes { window_start: now, count: 0, banned_until: strikes.banned_until };
        }
        strikes.count += 1;
        if strikes.count < self.strikes_max {
            return None;
        }
        strikes.banned_until = Some(now + self.ban);
        strikes.count = 0;
        strikes.window_start = now;
        Some(self.ban)
    }

    /// Whether one more client fits (dropping what is over when full).
    fn make_room(&mut self, now: Instant) -> bool {
        if self.clients.len() >= BAN_TABLE_MAX {
            self.clients.retain(|_, strikes| !strikes.is_over(now));
        }
        self.clients.len() < BAN_TABLE_MAX
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.clients.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_strikes_ban_until_the_ban_expires() {
        let mut table = BanTable::new(3, Duration::from_secs(120));
        let start = Instant::now();
        assert_eq!(table.strike("key:a", start), None);
        assert_eq!(table.strike("key:a", start), None);
        assert_eq!(table.banned_for("key:a", start), None);
        assert_eq!(table.strike("key:a", start), Some(Duration::from_secs(120)));
        let later = start + Duration::from_secs(20);
        assert_eq!(table.banned_for("key:a", later), Some(Duration::from_secs(100)));
        assert_eq!(table.banned_for("key:b", later), None, "another client is not banned");
        assert_eq!(table.banned_for("key:a", start + Duration::from_secs(120)), None);
    }

    #[test]
    fn strikes_far_apart_never_ban() {
        let mut table = BanTable::new(2, Duration::from_secs(120));
        let start = Instant::now();
        assert_eq!(table.strike("ip:1", start), None);
        assert_eq!(table.strike("ip:1", start + STRIKE_WINDOW), None);
        assert_eq!(table.banned_for("ip:1", start + STRIKE_WINDOW), None);
    }

    #[test]
    fn the_table_is_bounded_and_drops_what_is_over_first() {
        let mut table = BanTable::new(5, Duration::from_secs(1));
        let start = Instant::now();
        for client in 0..BAN_TABLE_MAX {
            table.strike(&client.to_string(), start);
        }
        assert_eq!(table.len(), BAN_TABLE_MAX);
        // All live: a new violator is not tracked.
        assert_eq!(table.strike("new", start), None);
        assert_eq!(table.len(), BAN_TABLE_MAX);
        // A window later the old ones are dropped and the new one is tracked.
        table.strike("new", start + STRIKE_WINDOW);
        assert_eq!(table.len(), 1);
    }
}
