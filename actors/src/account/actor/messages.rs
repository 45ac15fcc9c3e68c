//! What callers send an `AccountShard` and what it answers. Every mutating message is answered
//! only after its effect is journaled; a placed order only after the book journaled it too.

use actix::Message;

use crate::account::{AccountReject, Balance, InvariantViolation, OrderRecord, PlaceRequest};
use crate::book::actor::{BookError, CommandOutcome};
use crate::model::{AccountId, AssetCode, ClientOrderId, OrderId, SymbolCode};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error(transparent)]
    Rejected(#[from] AccountReject),
    /// The book refused or lost the order before journaling it; the hold was released.
    #[error(transparent)]
    Book(#[from] BookError),
    #[error("no book trades {0}")]
    NoBook(SymbolCode),
    #[error("the account shard could not journal: {0}")]
    JournalFailed(String),
    #[error("the account shard is stopping")]
    Stopping,
    #[error("a message held {count} orders; at most {count_max} are allowed")]
    TooManyOrders { count: usize, count_max: usize },
}

#[derive(Debug, Message)]
#[rtype(result = "Result<(), ShardError>")]
pub struct OpenAccount(pub AccountId);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferDirection {
    Deposit,
    Withdrawal,
    /// A correction into the user's available balance; `reference` is the corrected entry.
    CorrectionCredit,
    /// A correction out of the user's available balance; `reference` is the corrected entry.
    CorrectionDebit,
}

/// A deposit from, or withdrawal to, the outside world, or an operator's correction; answers
/// the new balance.
#[derive(Debug, Message)]
#[rtype(result = "Result<Balance, ShardError>")]
pub struct Transfer {
    pub direction: TransferDirection,
    pub account_id: AccountId,
    pub asset: AssetCode,
    /// Minor units, positive.
    pub amount: i128,
    pub reference: u64,
}

/// New orders, each checked and held, then forwarded to its book in order.
#[derive(Debug, Message)]
#[rtype(result = "Vec<Result<PlacedOrder, ShardError>>")]
pub struct PlaceOrders(pub Vec<PlaceRequest>);

/// A placed order as its book answered it (journaled there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacedOrder {
    pub order_id: OrderId,
    pub client_order_id: ClientOrderId,
    /// The order as the shard recorded it before forwarding (PENDING, its hold taken).
    pub pending: OrderRecord,
    pub outcome: CommandOutcome,
}

#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<(AssetCode, Balance)>, ShardError>")]
pub struct GetBalances(pub AccountId);

/// One order of `account_id`, by id or by client order id (open or recent).
#[derive(Debug, Message)]
#[rtype(result = "Result<OrderRecord, ShardError>")]
pub struct GetOrder {
    pub account_id: AccountId,
    pub order_id: Option<OrderId>,
    pub client_order_id: Option<ClientOrderId>,
}

#[derive(Debug, Message)]
#[rtype(result = "Vec<OrderRecord>")]
pub struct GetOpenOrders {
    pub account_id: AccountId,
    pub symbol: Option<SymbolCode>,
}

/// The markets where the account has open or pending orders (which books a cancel-all of
/// every market asks), without copying the orders.
#[derive(Debug, Message)]
#[rtype(result = "Vec<SymbolCode>")]
pub struct GetOpenSymbols {
    pub account_id: AccountId,
}

/// The shard's money invariants, checked now (reconciliation and tests).
#[derive(Debug, Message)]
#[rtype(result = "Result<ShardAudit, InvariantViolation>")]
pub struct AuditShard;

/// What an audit saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardAudit {
    pub watermarks: Vec<(SymbolCode, u64)>,
    pub open_orders: usize,
    pub pending_orders: usize,
    /// A batch is being committed or waits to be: the database is behind memory.
    pub busy: bool,
}
