//! Implementations of the [`EventBus`](exchange_actors::ports::EventBus) port: the in-process
//! bus of the embedded profile and the RabbitMQ bus ([`amqp`]), chosen by `AMQP_URL`.

pub mod amqp;
mod in_process;

use std::sync::Arc;
use std::time::Duration;

pub use amqp::AmqpBus;
pub use in_process::InProcessBus;

/// How readiness checks the bus the system runs on.
#[derive(Clone, Debug)]
pub enum BusProbe {
    /// In this process: up as long as the process is.
    InProcess,
    Amqp(Arc<AmqpBus>),
}

impl BusProbe {
    /// `Ok` when the bus can carry events now, else why not, within `limit`.
    pub async fn check(&self, limit: Duration) -> Result<(), String> {
        match self {
            BusProbe::InProcess => Ok(()),
            BusProbe::Amqp(bus) => bus.probe(limit).await,
        }
    }
}

/// Which bus the system runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusSettings {
    /// The embedded profile: everything in this process.
    InProcess,
    /// RabbitMQ at `url` (`AMQP_URL`), publishing to `exchange` (`AMQP_EXCHANGE`).
    Amqp { url: String, exchange: String },
}
