//! The book side of the journal: epochs (fencing), batches, snapshots, and reading events back.
//!
//! A write transaction starts by touching its stream's epoch row with the writer's epoch
//! (`UPDATE … WHERE epoch = ?`). That both fences a stale writer (no row matches) and, on
//! PostgreSQL, locks the row until commit, so a takeover (`epoch + 1`) waits for an in-flight
//! commit and every later write of the old epoch fails. On SQLite the UPDATE takes the write
//! lock first, so a transaction never has to upgrade a read lock.

use exchange_actors::account::{Changes, RestoredState};
use exchange_actors::model::{BookEvent, BookInput};
use exchange_actors::ports::{
    BookBatch, Epoch, Journal, JournalError, PortFuture, StoredBookSnapshot, book_stream,
};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::Store;
use super::codec::{decode, encode, from_db, max_seq, store_error, to_db};

impl Journal for Store {
    fn acquire_epoch(&self, stream: String) -> PortFuture<Result<Epoch, JournalError>> {
        let store = self.clone();
        Box::pin(async move { store.acquire_epoch_now(&stream).await })
    }

    fn append_book_batches(&self, batches: Vec<BookBatch>) -> PortFuture<Result<(), JournalError>> {
        let store = self.clone();
        Box::pin(async move { store.append_book_batches_now(batches).await })
    }

    fn latest_book_snapshot(
        &self,
        symbol: String,
    ) -> PortFuture<Result<Option<StoredBookSnapshot>, JournalError>> {
        let store = self.clone();
        Box::pin(async move { store.latest_book_snapshot_now(&symbol).await })
    }

    fn book_batches_after(
        &self,
        symbol: String,
        after_input_seq: u64,
        limit: u32,
    ) -> PortFuture<Result<Vec<BookBatch>, JournalError>> {
        let store = self.clone();
        Box::pin(async move { store.book_batches_after_now(&symbol, after_input_seq, limit).await })
    }

    fn book_events_after(
        &self,
        symbol: String,
        after_event_seq: u64,
        limit: u32,
    ) -> PortFuture<Result<Vec<BookEvent>, JournalError>> {
        let store = self.clone();
        Box::pin(async move { store.book_events_after_now(&symbol, after_event_seq, limit).await })
    }

    fn commit_shard_changes(
        &self,
        shard_index: u16,
        epoch: Epoch,
        changes: Changes,
    ) -> PortFuture<Result<(), JournalError>> {
        let store = self.clone();
        Box::pin(async move { store.commit_shard_changes_now(shard_index, epoch, changes).await })
    }

    fn load_shard(
        &self,
        shard_index: u16,
        recent_closed_per_account: u32,
    ) -> PortFuture<Result<RestoredState, JournalError>> {
        let store = self.clone();
        Box::pin(async move { store.load_shard_now(shard_index, recent_closed_per_account).await })
    }
}

impl Store {
    async fn acquire_epoch_now(&self, stream: &str) -> Result<Epoch, JournalError> {
        let write = self.begin_write().await.map_err(store_error)?;
        let txn = &write.txn;
        let insert = Query::insert()
            .into_table("journal_streams")
            .columns(["stream", "epoch"])
            .values_panic([stream.into(), 0i64.into()])
            .on_conflict(OnConflict::column("stream").do_nothing().to_owned())
            .to_owned();
        txn.execute(&insert).await.map_err(store_error)?;
        let bump = Query::update()
            .table("journal_streams")
            .value("epoch", Expr::col("epoch").add(1))
            .and_where(Expr::col("stream").eq(stream))
            .to_owned();
        txn.execute(&bump).await.map_err(store_error)?;
        let select = Query::select()
            .column("epoch")
            .from("journal_streams")
            .and_where(Expr::col("stream").eq(stream))
            .to_owned();
        let row = txn.query_one(&select).await.map_err(store_error)?;
        let epoch: i64 = row
            .ok_or_else(|| JournalError::Store(format!("stream {stream} vanished")))?
            .try_get("", "epoch")
            .map_err(store_error)?;
        write.txn.commit().await.map_err(store_error)?;
        Ok(Epoch(from_db(epoch)?))
    }

    /// Refuses unless `epoch` is the stream's current one; locks the stream for the transaction.
    pub(super) async fn check_epoch(
        txn: &DatabaseTransaction,
        stream: &str,
        epoch: Epoch,
    ) -> Result<(), JournalError> {
        let touch = Query::update()
            .table("journal_streams")
            .value("epoch", Expr::col("epoch"))
            .and_where(Expr::col("stream").eq(stream))
            .and_where(Expr::col("epoch").eq(to_db(epoch.0)?))
            .to_owned();
        let touched = txn.execute(&touch).await.map_err(store_error)?.rows_affected();
        if touched != 1 {
            return Err(JournalError::Fenced { stream: stream.to_owned(), attempted: epoch.0 });
        }
        Ok(())
    }

    async fn last_input_seq(txn: &DatabaseTransaction, symbol: &str) -> Result<u64, JournalError> {
        max_seq(txn, "book_batches", "last_input_seq", ("symbol", symbol.into())).await
    }

    async fn append_book_batches_now(&self, batches: Vec<BookBatch>) -> Result<(), JournalError> {
        let Some(first) = batches.first() else { return Ok(()) };
        let (symbol, epoch) = (first.symbol.clone(), first.epoch);
        let stream = book_stream(&symbol);
        assert!(
            batches.iter().all(|batch| batch.symbol == symbol && batch.epoch == epoch),
            "one append holds one book's batches under one epoch"
        );
        let write = self.begin_write().await.map_err(store_error)?;
        let txn = &write.txn;
        Self::check_epoch(txn, &stream, epoch).await?;
        let mut last = Self::last_input_seq(txn, &symbol).await?;
        let committed_at_ms = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis(),
        )
        .unwrap_or(i64::MAX);
        let mut insert = Query::insert()
            .into_table("book_batches")
            .columns([
                "symbol",
                "first_input_seq",
                "last_input_seq",
                "first_event_seq",
                "last_event_seq",
                "epoch",
                "inputs",
                "events",
                "committed_at_ms",
            ])
            .to_owned();
        for batch in &batches {
            let (first_input, last_input) = (batch.first_input_seq(), batch.last_input_seq());
            if batch.inputs.is_empty() || first_input != last + 1 {
                let stream = stream.clone();
                return Err(JournalError::OutOfSequence { stream, first: first_input, last });
            }
            last = last_input;
            let (first_event, last_event) = (batch.first_event_seq(), batch.last_event_seq);
            insert.values_panic([
                symbol.as_str().into(),
                to_db(first_input)?.into(),
                to_db(last_input)?.into(),
                to_db(first_event)?.into(),
                to_db(last_event)?.into(),
                to_db(epoch.0)?.into(),
                encode(&batch.inputs).into(),
                encode(&batch.events[..]).into(),
                committed_at_ms.into(),
            ]);
        }
        txn.execute(&insert).await.map_err(store_error)?;
        for batch in &batches {
            if let Some(snapshot) = &batch.snapshot {
                Self::insert_snapshot(txn, &symbol, epoch, snapshot).await?;
            }
        }
        write.txn.commit().await.map_err(store_error)
    }

    async fn insert_snapshot(
        txn: &DatabaseTransaction,
        symbol: &str,
        epoch: Epoch,
        snapshot: &StoredBookSnapshot,
    ) -> Result<(), JournalError> {
        let insert = Query::insert()
            .into_table("book_snapshots")
            .columns([
                "symbol",
                "last_input_seq",
                "last_event_seq",
                "epoch",
                "state_hash",
                "payload",
            ])
            .values_panic([
                symbol.into(),
                to_db(snapshot.last_input_seq)?.into(),
                to_db(snapshot.last_event_seq)?.into(),
                to_db(epoch.0)?.into(),
                snapshot.state_hash.to_vec().into(),
                snapshot.payload.clone().into(),
            ])
            .to_owned();
        txn.execute(&insert).await.map_err(store_error)?;
        Ok(())
    }

    async fn latest_book_snapshot_now(
        &self,
        symbol: &str,
    ) -> Result<Option<StoredBookSnapshot>, JournalError> {
        let select = Query::select()
            .columns(["last_input_seq", "last_event_seq", "state_hash", "payload"])
            .from("book_snapshots")
            .and_where(Expr::col("symbol").eq(symbol))
            .order_by("last_input_seq", Order::Desc)
            .limit(1)
            .to_owned();
        let Some(row) = self.connection().query_one(&select).await.map_err(store_error)? else {
            return Ok(None);
        };
        let last_input_seq = from_db(row.try_get("", "last_input_seq").map_err(store_error)?)?;
        let state_hash: Vec<u8> = row.try_get("", "state_hash").map_err(store_error)?;
        let state_hash =
            <[u8; 32]>::try_from(state_hash.as_slice()).map_err(|_| JournalError::Corrupt {
                stream: book_stream(symbol),
                position: last_input_seq,
                detail: "state hash is not 32 bytes".to_owned(),
            })?;
        Ok(Some(StoredBookSnapshot {
            last_input_seq,
            last_event_seq: from_db(row.try_get("", "last_event_seq").map_err(store_error)?)?,
            state_hash,
            payload: row.try_get("", "payload").map_err(store_error)?,
        }))
    }

    async fn book_batches_after_now(
        &self,
        symbol: &str,
        after_input_seq: u64,
        limit: u32,
    ) -> Result<Vec<BookBatch>, JournalError> {
        let select = Query::select()
            .columns(["first_input_seq", "last_event_seq", "epoch", "inputs", "events"])
            .from("book_batches")
            .and_where(Expr::col("symbol").eq(symbol))
            .and_where(Expr::col("last_input_seq").gt(to_db(after_input_seq)?))
            .order_by("first_input_seq", Order::Asc)
            .limit(u64::from(limit))
            .to_owned();
        let rows = self.connection().query_all(&select).await.map_err(store_error)?;
        let stream = book_stream(symbol);
        let mut batches = Vec::with_capacity(rows.len());
        for row in rows {
            let position = from_db(row.try_get("", "first_input_seq").map_err(store_error)?)?;
            let inputs: Vec<u8> = row.try_get("", "inputs").map_err(store_error)?;
            let events: Vec<u8> = row.try_get("", "events").map_err(store_error)?;
            batches.push(BookBatch {
                symbol: symbol.to_owned(),
                epoch: Epoch(from_db(row.try_get("", "epoch").map_err(store_error)?)?),
                inputs: decode::<Vec<BookInput>>(&stream, position, &inputs)?,
                events: decode::<Vec<BookEvent>>(&stream, position, &events)?.into(),
                last_event_seq: from_db(row.try_get("", "last_event_seq").map_err(store_error)?)?,
                snapshot: None,
            });
        }
        Ok(batches)
    }

    async fn book_events_after_now(
        &self,
        symbol: &str,
        after_event_seq: u64,
        limit: u32,
    ) -> Result<Vec<BookEvent>, JournalError> {
        // Batches hold about a few events per input; read whole batches until `limit` events.
        let select = Query::select()
            .columns(["first_input_seq", "events"])
            .from("book_batches")
            .and_where(Expr::col("symbol").eq(symbol))
            .and_where(Expr::col("last_event_seq").gt(to_db(after_event_seq)?))
            .order_by("first_input_seq", Order::Asc)
            .limit(u64::from(limit.clamp(1, 1024)))
            .to_owned();
        let rows = self.connection().query_all(&select).await.map_err(store_error)?;
        let stream = book_stream(symbol);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut events = Vec::new();
        for row in rows {
            let position = from_db(row.try_get("", "first_input_seq").map_err(store_error)?)?;
            let bytes: Vec<u8> = row.try_get("", "events").map_err(store_error)?;
            let batch: Vec<BookEvent> = decode(&stream, position, &bytes)?;
            events.extend(batch.into_iter().filter(|event| event.seq > after_event_seq));
            if events.len() >= limit {
                break;
            }
        }
        Ok(events)
    }
}
