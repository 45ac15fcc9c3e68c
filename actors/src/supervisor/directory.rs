//! Where each symbol's book currently lives. The supervisor swaps in a new address when it
//! replaces a book; callers look the address up per request, so after a restart they reach the
//! new instance without holding any lock (reads are an atomic pointer load).

use std::collections::BTreeMap;
use std::sync::Arc;

use actix::Addr;
use arc_swap::ArcSwap;

use crate::book::actor::SymbolBook;

#[derive(Debug, Default)]
pub struct BookDirectory {
    books: ArcSwap<BTreeMap<String, Addr<SymbolBook>>>,
}

impl BookDirectory {
    pub fn new() -> Arc<BookDirectory> {
        Arc::new(BookDirectory::default())
    }

    /// The current book of `symbol`, if it trades here.
    pub fn book(&self, symbol: &str) -> Option<Addr<SymbolBook>> {
        self.books.load().get(symbol).cloned()
    }

    pub fn symbols(&self) -> Vec<String> {
        self.books.load().keys().cloned().collect()
    }

    /// Points `symbol` at `address` (a new book or its replacement).
    pub fn set(&self, symbol: &str, address: Addr<SymbolBook>) {
        self.books.rcu(|books| {
            let mut books = BTreeMap::clone(books);
            books.insert(symbol.to_owned(), address.clone());
            books
        });
    }
}
