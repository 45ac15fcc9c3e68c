//! The book's two input lanes. Cancels wait in their own lane and the next batch takes them
//! alone, so a flood of new orders can never delay a cancel by more than the batches already
//! applied. Each lane holds at most `queued_max` commands; past that a message is refused, so a
//! flood of new orders can fill its own lane but never refuse a cancel.

use std::collections::VecDeque;
use std::time::Instant;

use tokio::sync::oneshot;

use super::messages::{BookError, CommandOutcome};
use crate::model::BookCommand;

pub(super) type ReplySender = oneshot::Sender<Result<Vec<CommandOutcome>, BookError>>;

/// One caller's message waiting for its batch.
#[derive(Debug)]
pub(super) struct Queued {
    pub commands: Vec<BookCommand>,
    pub reply: ReplySender,
    /// When the book took the message: its latency metrics start here.
    pub arrived_at: Instant,
}

impl Queued {
    /// A message the cancel lane takes.
    pub fn is_cancel(&self) -> bool {
        !self.commands.is_empty() && self.commands.iter().all(is_cancel)
    }
}

#[derive(Debug)]
pub(super) struct Lanes {
    cancels: VecDeque<Queued>,
    others: VecDeque<Queued>,
    cancels_queued: usize,
    others_queued: usize,
    queued_max: usize,
}

/// Cancels of any shape: they only ever remove orders, so they may overtake everything else.
pub(super) fn is_cancel(command: &BookCommand) -> bool {
    matches!(
        command,
        BookCommand::Cancel(_) | BookCommand::CancelMany(_) | BookCommand::CancelAll(_)
    )
}

impl Lanes {
    pub fn new(queued_max: usize) -> Self {
        Lanes {
            cancels: VecDeque::new(),
            others: VecDeque::new(),
            cancels_queued: 0,
            others_queued: 0,
            queued_max,
        }
    }

    /// Queues a message, or hands it back if its lane is full.
    pub fn push(&mut self, message: Queued) -> Result<(), Queued> {
        let (lane, queued) = if message.is_cancel() {
            (&mut self.cancels, &mut self.cancels_queued)
        } else {
            (&mut self.others, &mut self.others_queued)
        };
        if *queued + message.commands.len() > self.queued_max {
            return Err(message);
        }
        *queued += message.commands.len();
        lane.push_back(message);
        Ok(())
    }

    /// Commands waiting in both lanes.
    pub fn queued(&self) -> usize {
        self.cancels_queued + self.others_queued
    }

    pub fn queued_max(&self) -> usize {
        self.queued_max
    }

    /// No message waits (an empty message, a barrier, counts: it has no commands).
    pub fn is_empty(&self) -> bool {
        self.cancels.is_empty() && self.others.is_empty()
    }

    /// The next batch: whole messages of one lane (cancels while any wait, so a cancel's batch
    /// and its commit stay small), until adding one more would pass `commands_max` (a single
    /// larger message still goes alone).
    pub fn take_batch(&mut self, commands_max: usize) -> Vec<Queued> {
        let (lane, queued) = if self.cancels.is_empty() {
            (&mut self.others, &mut self.others_queued)
        } else {
            (&mut self.cancels, &mut self.cancels_queued)
        };
        let mut batch = Vec::new();
        let mut commands = 0;
        while let Some(next) = lane.front() {
            if !batch.is_empty() && commands + next.commands.len() > commands_max {
                break;
            }
            let next = lane.pop_front().expect("front exists");
            commands += next.commands.len();
            *queued -= next.commands.len();
            batch.push(next);
        }
        batch
    }

    /// Everything still queued, for failing it when the book stops.
    pub fn drain(&mut self) -> impl Iterator<Item = Queued> + '_ {
        self.cancels_queued = 0;
        self.others_queued = 0;
        self.cancels.drain(..).chain(self.others.drain(..))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AccountId, CancelOrder, OrderId, Price};

    fn queued(commands: Vec<BookCommand>) -> Queued {
        Queued { commands, reply: oneshot::channel().0, arrived_at: Instant::now() }
    }

    fn cancel(id: u64) -> BookCommand {
        BookCommand::Cancel(CancelOrder { account_id: AccountId(1), order_id: OrderId(id) })
    }

    fn other() -> BookCommand {
        BookCommand::SetReferencePrice(Price(100))
    }

    #[test]
    fn cancels_overtake_earlier_orders_in_a_batch_of_their_own() {
        let mut lanes = Lanes::new(100);
        lanes.push(queued(vec![other(), other()])).unwrap();
        lanes.push(queued(vec![cancel(7)])).unwrap();
        lanes.push(queued(vec![cancel(8)])).unwrap();
        let batch = lanes.take_batch(10);
        let commands: Vec<_> = batch.iter().flat_map(|queued| queued.commands.clone()).collect();
        assert_eq!(commands, vec![cancel(7), cancel(8)]);
        assert_eq!(lanes.take_batch(10).len(), 1);
        assert!(lanes.is_empty());
    }

    #[test]
    fn a_full_lane_refuses_and_keeps_count() {
        let mut lanes = Lanes::new(3);
        lanes.push(queued(vec![other(), other()])).unwrap();
        assert!(lanes.push(queued(vec![other(), other()])).is_err());
        assert_eq!(lanes.queued(), 2);
    }

    #[test]
    fn a_flood_of_new_orders_never_refuses_a_cancel() {
        let mut lanes = Lanes::new(3);
        lanes.push(queued(vec![other(), other(), other()])).unwrap();
        assert!(lanes.push(queued(vec![other()])).is_err());
        lanes.push(queued(vec![cancel(1)])).unwrap();
        assert_eq!(lanes.queued(), 4);
        assert_eq!(lanes.take_batch(10)[0].commands, vec![cancel(1)]);
    }

    #[test]
    fn a_batch_stops_before_passing_the_limit() {
        let mut lanes = Lanes::new(100);
        for _ in 0..3 {
            lanes.push(queued(vec![other(), other()])).unwrap();
        }
        assert_eq!(lanes.take_batch(5).len(), 2);
        assert_eq!(lanes.queued(), 2);
    }

    #[test]
    fn an_empty_message_waits_for_its_batch() {
        let mut lanes = Lanes::new(100);
        lanes.push(queued(Vec::new())).unwrap();
        assert!(!lanes.is_empty());
        assert_eq!(lanes.take_batch(10).len(), 1);
        assert!(lanes.is_empty());
    }

    #[test]
    fn a_mixed_message_waits_in_the_ordinary_lane() {
        let mut lanes = Lanes::new(100);
        lanes.push(queued(vec![other()])).unwrap();
        lanes.push(queued(vec![cancel(1), other()])).unwrap();
        let batch = lanes.take_batch(1);
        assert_eq!(batch[0].commands, vec![other()]);
    }
}
