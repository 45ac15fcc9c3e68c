//! Implementations of the [`EventBus`](exchange_actors::ports::EventBus) port: the in-process
//! bus of the embedded profile and the RabbitMQ bus ([`amqp`]), chosen by `AMQP_URL`.

pub mod amqp;
mod in_process;

pub use amqp::AmqpBus;
pub use in_process::InProcessBus;

/// Which bus the system runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BusSettings {
    /// The embedded profile: everything in this process.
    InProcess,
    /// RabbitMQ at `url` (`AMQP_URL`), publishing to `exchange` (`AMQP_EXCHANGE`).
    Amqp { url: String, exchange: String },
}
