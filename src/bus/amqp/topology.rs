//! The broker objects the bus uses, named from one exchange name so that several exchanges
//! (or tests) share a broker without meeting:
//!
//! - `{exchange}`: durable topic exchange; a batch of symbol S is routed by `book.S`.
//! - `{exchange}.{consumer}`: one durable quorum queue per consumer group, bound by
//!   `book.*` (every symbol, also one listed while running), single active consumer (order kept when a consumer is
//!   replaced), rejected messages dead-lettered.
//! - `{exchange}.dead-letter`: fanout exchange and durable queue receiving what consumers
//!   rejected (poison messages), kept for an operator to inspect.
//!
//! Declaring is idempotent: every (re)connection declares what it uses before using it.

use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, ExchangeKind};

/// Names of the objects of one bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    pub exchange: String,
    /// The symbols open at start: the relay sweeps their journals (it adds the symbols it is
    /// handed later). Queues are bound for every symbol ([`Topology::EVERY_SYMBOL`]), so a
    /// symbol listed while running is routed like the others.
    pub symbols: Vec<String>,
}

impl Topology {
    pub fn new(exchange: &str, symbols: Vec<String>) -> Topology {
        Topology { exchange: exchange.to_owned(), symbols }
    }

    /// The binding that matches every symbol's routing key.
    pub const EVERY_SYMBOL: &'static str = "book.*";

    pub fn routing_key(symbol: &str) -> String {
        format!("book.{symbol}")
    }

    pub fn consumer_queue(&self, consumer: &str) -> String {
        format!("{}.{consumer}", self.exchange)
    }

    /// Both the dead-letter exchange and its queue (exchanges and queues are apart).
    pub fn dead_letter(&self) -> String {
        format!("{}.dead-letter", self.exchange)
    }

    /// The exchanges and the dead-letter queue: what a publisher needs.
    pub async fn declare_exchanges(&self, channel: &Channel) -> lapin::Result<()> {
        let durable = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
        let no_arguments = FieldTable::default();
        channel
            .exchange_declare(
                self.exchange.as_str().into(),
                ExchangeKind::Topic,
                durable,
                no_arguments.clone(),
            )
            .await?;
        let dead_letter = self.dead_letter();
        channel
            .exchange_declare(
                dead_letter.as_str().into(),
                ExchangeKind::Fanout,
                durable,
                no_arguments.clone(),
            )
            .await?;
        channel
            .queue_declare(
                dead_letter.as_str().into(),
                QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() },
                quorum_arguments(None),
            )
            .await?;
        channel
            .queue_bind(
                dead_letter.as_str().into(),
                dead_letter.as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                no_arguments,
            )
            .await
    }

    /// The exchanges and `consumer`'s queue, bound for every symbol.
    pub async fn declare_consumer_group(
        &self,
        channel: &Channel,
        consumer: &str,
    ) -> lapin::Result<()> {
        self.declare_exchanges(channel).await?;
        let queue = self.consumer_queue(consumer);
        let dead_letter = self.dead_letter();
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() },
                quorum_arguments(Some(&dead_letter)),
            )
            .await?;
        channel
            .queue_bind(
                queue.as_str().into(),
                self.exchange.as_str().into(),
                Self::EVERY_SYMBOL.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok(())
    }

    /// Deletes the consumer groups' queues, the dead-letter queue and the exchanges (tests
    /// clean up with this; production never deletes).
    pub async fn delete(&self, channel: &Channel, consumers: &[&str]) -> lapin::Result<()> {
        let dead_letter = self.dead_letter();
        let queues = consumers.iter().map(|consumer| self.consumer_queue(consumer));
        for queue in queues.chain([dead_letter.clone()]) {
            channel.queue_delete(queue.as_str().into(), QueueDeleteOptions::default()).await?;
        }
        for exchange in [&self.exchange, &dead_letter] {
            channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await?;
        }
        Ok(())
    }
}

/// A quorum queue (replicated, durable), with single active consumer, dead-lettering into
/// `dead_letter_exchange` when given.
fn quorum_arguments(dead_letter_exchange: Option<&str>) -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert("x-queue-type".into(), AMQPValue::LongString(LongString::from("quorum")));
    arguments.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
    if let Some(exchange) = dead_letter_exchange {
        arguments.insert("x-dead-letter-exchange".into(), AMQPValue::LongString(exchange.into()));
    }
    arguments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_from_the_exchange() {
        let topology = Topology::new("ex", vec!["BTCUSDT".to_owned()]);
        assert_eq!(Topology::routing_key("BTCUSDT"), "book.BTCUSDT");
        assert_eq!(topology.consumer_queue("shard:3"), "ex.shard:3");
        assert_eq!(topology.dead_letter(), "ex.dead-letter");
    }
}
