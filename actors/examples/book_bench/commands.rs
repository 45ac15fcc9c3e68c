//! The book configuration every workload runs against and small builders for its commands.

use exchange_actors::book::{BookCapacity, BookLimits, ORDER_ID_SHARD_BITS};
use exchange_actors::model::{
    AccountId, AmendOrder, BookCommand, BookInput, CancelOrder, ClientOrderId, FeeRate,
    MarketTerms, Notional, OrderId, OrderQuantity, OrderType, PlaceOrder, Price, Qty,
    SelfTradePrevention, Side, TimeInForce,
};

/// Fake nanoseconds between two inputs: the engine only copies `ts_ns` into its events.
const INPUT_SPACING_NS: u64 = 100;

/// No price band, 1-lot minimum, and storage reserved for `orders_preallocated` resting orders,
/// so that the measured steady state never grows a vector or a hash table.
pub fn bench_limits(orders_preallocated: u32) -> BookLimits {
    BookLimits {
        terms: MarketTerms {
            min_price: Price(1),
            max_price: Price(1 << 40),
            min_qty: Qty(1),
            max_qty: Qty(1 << 40),
            min_notional: Notional(1),
            max_notional: Notional(i128::MAX),
            price_band_bps: 0,
            maker_fee: FeeRate::ZERO,
            taker_fee: FeeRate::ZERO,
        },
        capacity: BookCapacity {
            orders_max: 64_000_000,
            account_orders_max: 64_000_000,
            orders_preallocated,
        },
    }
}

/// Account shards the benchmark's accounts belong to (`account % SHARDS`).
pub const SHARDS: u64 = 16;
const _: () = assert!(SHARDS == 16, "OrderIds holds one counter per shard");

/// Order ids as the exchange issues them: each account shard numbers its orders with its own
/// counter, `counter << ORDER_ID_SHARD_BITS | shard`. So ids grow per shard, not overall, and
/// the ids of one shard are 1,024 apart.
#[derive(Debug, Default)]
pub struct OrderIds {
    /// One counter per shard.
    counters: [u64; 16],
}

impl OrderIds {
    pub fn next(&mut self, account_id: u64) -> OrderId {
        let shard = account_id % SHARDS;
        let counter = &mut self.counters[usize::try_from(shard).expect("shard < 16")];
        *counter += 1;
        OrderId(*counter << ORDER_ID_SHARD_BITS | shard)
    }
}

/// Numbers inputs in journal order, as the sequencer in front of a book would.
#[derive(Debug, Default)]
pub struct InputLog {
    last_input_seq: u64,
}

impl InputLog {
    pub fn next(&mut self, command: BookCommand) -> BookInput {
        self.last_input_seq += 1;
        BookInput {
            input_seq: self.last_input_seq,
            ts_ns: self.last_input_seq * INPUT_SPACING_NS,
            command,
        }
    }
}

/// A limit order by base quantity with no client id and no self-trade prevention.
pub fn limit(
    order_id: u64,
    account_id: u64,
    side: Side,
    price_ticks: i64,
    qty_lots: u64,
    time_in_force: TimeInForce,
) -> BookCommand {
    BookCommand::Place(PlaceOrder {
        order_id: OrderId(order_id),
        account_id: AccountId(account_id),
        client_order_id: ClientOrderId::NONE,
        side,
        order_type: OrderType::Limit,
        time_in_force,
        price: Some(Price(price_ticks)),
        quantity: OrderQuantity::Base(Qty(qty_lots)),
        self_trade_prevention: SelfTradePrevention::None,
        reduce_only: false,
        spend_limit: None,
    })
}

pub fn cancel(order_id: OrderId, account_id: AccountId) -> BookCommand {
    BookCommand::Cancel(CancelOrder { account_id, order_id })
}

/// Moves a resting order to `new_price` keeping its open quantity.
pub fn amend(order_id: OrderId, account_id: AccountId, new_price: Price, qty: Qty) -> BookCommand {
    BookCommand::Amend(AmendOrder { account_id, order_id, new_price, new_qty: qty })
}
