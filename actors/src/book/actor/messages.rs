//! What callers send a `SymbolBook` and what it answers.

use actix::Message;

use crate::model::{BookCommand, BookEvent, OrderId, RejectReason};

/// Commands for the book, applied in order, answered once they are journaled. A message holding
/// only cancels goes through the priority lane, ahead of every queued new order or amend. An
/// empty message is a barrier: it is answered once everything the book received before it is
/// journaled.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<CommandOutcome>, BookError>")]
pub struct SubmitCommands(pub Vec<BookCommand>);

/// What one command did, after it was journaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutcome {
    pub input_seq: u64,
    /// The engine's refusal, if any (a refused place still emitted its `Rejected` event).
    pub result: Result<(), RejectReason>,
    /// The events this command produced, in order.
    pub events: Vec<BookEvent>,
    /// For a bulk cancel: the ids that could not be canceled, with why.
    pub cancel_failures: Vec<(OrderId, RejectReason)>,
}

/// Why a book could not take or confirm commands. `Overloaded`, `Stopping` and
/// `TooManyCommands` mean the commands were not journaled, so a caller may send them again;
/// after `JournalFailed` or `OutcomeUnknown` they may or may not be (a commit whose answer was
/// lost may have happened), and only the journal, read after the book's next barrier, tells.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    #[error(
        "the book of {symbol} has {queued} commands queued (at most {queued_max}); retry later"
    )]
    Overloaded { symbol: String, queued: usize, queued_max: usize },
    #[error("the book of {symbol} could not journal: {detail}")]
    JournalFailed { symbol: String, detail: String },
    #[error("the book of {symbol} is stopping")]
    Stopping { symbol: String },
    #[error("a message held {count} commands; at most {count_max} are allowed")]
    TooManyCommands { count: usize, count_max: usize },
    #[error("the book of {symbol} stopped before answering; the outcome is unknown")]
    OutcomeUnknown { symbol: String },
}

impl BookError {
    /// Whether the commands may have been journaled despite the error: then sending them
    /// again could apply them twice, and abandoning them could forget an order the book has.
    pub fn may_be_journaled(&self) -> bool {
        match self {
            BookError::JournalFailed { .. } | BookError::OutcomeUnknown { .. } => true,
            BookError::Overloaded { .. }
            | BookError::Stopping { .. }
            | BookError::TooManyCommands { .. } => false,
        }
    }
}

/// Read-only view of the book, answered from memory (no journal round trip).
#[derive(Debug, Message)]
#[rtype(result = "BookView")]
pub struct GetBookView {
    pub depth_levels: usize,
}

/// The top `levels_max` levels a side and the event seq they reflect: what REST depth serves.
/// Unlike [`GetBookView`] it costs O(levels), not a snapshot and hash of the whole book, so a
/// public endpoint can ask for it without slowing the book.
#[derive(Debug, Message)]
#[rtype(result = "crate::book::Depth")]
pub struct GetDepth {
    pub levels_max: usize,
}

/// The terms the book enforces now (its filters and fees, as changed by `SetTerms`).
#[derive(Debug, Message)]
#[rtype(result = "crate::model::MarketTerms")]
pub struct GetTerms;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookView {
    pub depth: crate::book::Depth,
    pub open_order_count: u32,
    pub last_input_seq: u64,
    pub last_event_seq: u64,
    pub state_hash: [u8; 32],
}
