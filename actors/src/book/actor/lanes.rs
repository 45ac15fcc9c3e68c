//! The book's two input lanes. Cancels wait in their own lane and every batch takes them first,
//! so a flood of new orders can never delay a cancel by more than the batch being committed.
//! Both lanes together hold at most `queued_max` commands; past that a message is refused.

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
    queued: usize,
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
        Lanes { cancels: VecDeque::new(), others: VecDeque::new(), queued: 0, queued_max }
    }

    /// Queues a message, or hands it back if the lanes are full.
    pub fn push(&mut self, message: Queued) -> Result<(), Queued> {
        if self.queued + message.commands.len() > self.queued_max {
            return Err(message);
        }
        self.queued += message.commands.len();
        if message.is_cancel() {
            self.cancels.push_back(message);
        } else {
            self.others.push_back(message);
        }
        Ok(())
    }

    pub fn queued(&self) -> usize {
        self.queued
    }

    pub fn queued_max(&self) -> usize {
        self.queued_max
    }

    pub fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// The next batch: whole messages, cancels first, until adding one more would pass
    /// `commands_max` (a single larger message still goes alone).
    pub fn take_batch(&mut self, commands_max: usize) -> Vec<Queued> {
        let mut batch = Vec::new();
        let mut commands = 0;
        loop {
            let lane = if self.cancels.is_empty() { &mut self.others } else { &mut self.cancels };
            let Some(next) = lane.front() else { break };
            if !batch.is_empty() && commands + next.commands.len() > commands_max {
                break;
            }
            let next = lane.pop_front().expect("front exists");
            commands += next.commands.len();
            self.queued -= next.commands.len();
            batch.push(next);
        }
        batch
    }

    /// Everything still queued, for failing it when the book stops.
    pub fn drain(&mut self) -> impl Iterator<Item = Queued> + '_ {
        self.queued = 0;
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
    fn cancels_overtake_earlier_orders() {
        let mut lanes = Lanes::new(100);
        lanes.push(queued(vec![other(), other()])).unwrap();
        lanes.push(queued(vec![cancel(7)])).unwrap();
        let batch = lanes.take_batch(1);
        assert_eq!(batch.len(), 1);
        assert_eq!(batch[0].commands, vec![cancel(7)]);
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
    fn a_batch_stops_before_passing_the_limit() {
        let mut lanes = Lanes::new(100);
        for _ in 0..3 {
            lanes.push(queued(vec![other(), other()])).unwrap();
        }
        assert_eq!(lanes.take_batch(5).len(), 2);
        assert_eq!(lanes.queued(), 2);
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
