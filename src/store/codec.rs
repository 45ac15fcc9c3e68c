//! Column encodings: postcard for journal payloads (compact, deterministic), checked integer
//! conversions for the u64 sequence numbers PostgreSQL stores as BIGINT.

use exchange_actors::ports::JournalError;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).expect("journal records always serialize")
}

pub fn decode<T: DeserializeOwned>(
    stream: &str,
    position: u64,
    bytes: &[u8],
) -> Result<T, JournalError> {
    postcard::from_bytes(bytes).map_err(|error| JournalError::Corrupt {
        stream: stream.to_owned(),
        position,
        detail: error.to_string(),
    })
}

/// A sequence number as stored: BIGINT holds every value a book can reach in practice
/// (9.2e18); past that the store refuses rather than wrap.
pub fn to_db(value: u64) -> Result<i64, JournalError> {
    i64::try_from(value).map_err(|_| JournalError::Store(format!("{value} does not fit BIGINT")))
}

pub fn from_db(value: i64) -> Result<u64, JournalError> {
    u64::try_from(value).map_err(|_| JournalError::Store(format!("negative sequence {value}")))
}

pub fn store_error(error: DbErr) -> JournalError {
    JournalError::Store(error.to_string())
}

/// The largest `column` of `table` among rows whose `key` equals `value`; 0 when none.
pub async fn max_seq(
    db: &impl ConnectionTrait,
    table: &'static str,
    column: &'static str,
    (key, value): (&'static str, Value),
) -> Result<u64, JournalError> {
    let select = Query::select()
        .expr_as(Expr::col(column).max(), "last")
        .from(table)
        .and_where(Expr::col(key).eq(value))
        .to_owned();
    let last: Option<i64> = match db.query_one(&select).await.map_err(store_error)? {
        Some(row) => row.try_get("", "last").map_err(store_error)?,
        None => None,
    };
    last.map_or(Ok(0), from_db)
}
