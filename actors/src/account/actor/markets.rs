//! Listing a symbol while the shard runs (`POST /admin/symbols`): the shard learns its ledger
//! units before the book opens, so the first order on it finds the market.

use actix::prelude::*;

use super::AccountShard;
use crate::account::MarketSpec;

#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct AddMarket(pub MarketSpec);

impl Handler<AddMarket> for AccountShard {
    type Result = ();

    fn handle(&mut self, AddMarket(market): AddMarket, _ctx: &mut Self::Context) {
        if self.state.add_market(market) {
            self.symbols.push(market.symbol);
            tracing::info!(shard_index = self.shard_index, symbol = %market.symbol, "market added");
        }
    }
}
