//! Implementations of the [`EventBus`](exchange_actors::ports::EventBus) port: the in-process
//! bus of the embedded profile (RabbitMQ arrives with its own adapter).

mod in_process;

pub use in_process::InProcessBus;
