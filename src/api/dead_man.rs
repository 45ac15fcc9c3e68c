//! [`DeadManSwitch`]: the actor shell of the countdown cancel-all. It owns the pure
//! [`Countdowns`] table, arms and disarms it on [`SetCountdown`], and every [`TICK`] asks it
//! which countdowns ran out; for each, it cancels the guarded orders through the REST API's
//! bulk cancel path ([`cancel_account_orders`]: one book command per symbol), in a task of its
//! own so the timer never waits on a book.
//!
//! Time: the table is fed the [`ApiState`] clock (ms), by the route when arming and by the tick
//! when expiring, so both read the same clock. A countdown fires at most [`TICK`] after its
//! deadline. Metrics: `exchange_dead_man_switch_triggers_total` (label `scope`: `symbol` or
//! `account`), `exchange_dead_man_switch_canceled_orders_total`,
//! `exchange_dead_man_switch_armed` (gauge), `exchange_dead_man_switch_refused_total` (label
//! `reason`: `range`, `account_full`, `table_full`).

use std::time::Duration;

use actix::prelude::*;
use actix_web::web;
use exchange_actors::deadman::{CountdownError, CountdownKey, Countdowns};

use super::core::TradingCore;
use super::state::ApiState;
use super::trading::cancel_account_orders;

/// How often the table is asked for expired countdowns.
pub const TICK: Duration = Duration::from_millis(50);

/// When after a countdown ran out its orders are canceled: at once, one bulk cancel per
/// market; then again, order by order, for any order that was still on its way to its book
/// (PENDING) the first time. Only orders created before the countdown ran out.
const CANCEL_AFTER: [Duration; 2] = [Duration::ZERO, Duration::from_millis(200)];

const NANOS_PER_MILLI: u64 = 1_000_000;

/// Arms (`countdown_ms > 0`), refreshes or disarms (`countdown_ms == 0`) one countdown at
/// `now_ms`; the answer is [`Countdowns::set`]'s.
#[derive(Debug, Message)]
#[rtype(result = "Result<Option<u64>, CountdownError>")]
pub struct SetCountdown {
    pub key: CountdownKey,
    pub countdown_ms: u64,
    pub now_ms: u64,
}

pub struct DeadManSwitch {
    countdowns: Countdowns,
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
}

impl std::fmt::Debug for DeadManSwitch {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DeadManSwitch")
            .field("armed", &self.countdowns.armed())
            .finish_non_exhaustive()
    }
}

impl DeadManSwitch {
    pub fn new(state: web::Data<ApiState>, core: web::Data<TradingCore>) -> DeadManSwitch {
        DeadManSwitch { countdowns: Countdowns::new(), state, core }
    }

    fn tick(&mut self) {
        let now_ns = self.state.clock.now_ns();
        let now_ms = now_ns / NANOS_PER_MILLI;
        for key in self.countdowns.expire(now_ms) {
            let scope = if key.symbol.is_some() { "symbol" } else { "account" };
            metrics::counter!("exchange_dead_man_switch_triggers_total", "scope" => scope)
                .increment(1);
            let symbol = key.symbol.map(|symbol| symbol.to_string());
            tracing::info!(account = key.account_id.0, ?symbol, now_ms, "dead man's switch fired");
            let (state, core) = (self.state.clone(), self.core.clone());
            actix::spawn(cancel_guarded(state, core, key, now_ns));
        }
        self.publish_armed();
    }

    fn publish_armed(&self) {
        // At most COUNTDOWNS_MAX: exact in an f64.
        let armed = self.countdowns.armed() as f64;
        metrics::gauge!("exchange_dead_man_switch_armed").set(armed);
    }
}

impl Actor for DeadManSwitch {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.publish_armed();
        ctx.run_interval(TICK, |switch, _ctx| switch.tick());
    }
}

impl Handler<SetCountdown> for DeadManSwitch {
    type Result = Result<Option<u64>, CountdownError>;

    fn handle(&mut self, command: SetCountdown, _ctx: &mut Self::Context) -> Self::Result {
        let answer = self.countdowns.set(command.key, command.countdown_ms, command.now_ms);
        if let Err(error) = &answer {
            let reason = match error {
                CountdownError::OutOfRange { .. } => "range",
                CountdownError::AccountFull { .. } => "account_full",
                CountdownError::TableFull => "table_full",
            };
            metrics::counter!("exchange_dead_man_switch_refused_total", "reason" => reason)
                .increment(1);
        }
        self.publish_armed();
        answer
    }
}

/// Cancels the orders `key` guards that were created at or before `fired_ns`.
async fn cancel_guarded(
    state: web::Data<ApiState>,
    core: web::Data<TradingCore>,
    key: CountdownKey,
    fired_ns: u64,
) {
    let account_id = key.account_id;
    for (pass, pause) in CANCEL_AFTER.into_iter().enumerate() {
        tokio::time::sleep(pause).await;
        let bulk = pass == 0;
        match cancel_account_orders(&state, &core, account_id, key.symbol, fired_ns, bulk).await {
            Ok(0) => {}
            Ok(count) => {
                metrics::counter!("exchange_dead_man_switch_canceled_orders_total")
                    .increment(u64::try_from(count).unwrap_or(u64::MAX));
                tracing::info!(account = account_id.0, count, "canceled by dead man's switch");
            }
            Err(error) => {
                tracing::warn!(account = account_id.0, ?error, "dead man's switch cancel failed");
            }
        }
    }
}
