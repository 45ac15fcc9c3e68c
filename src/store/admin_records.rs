//! The operator's records: API keys (loaded into the gateway's registry at start) and the
//! append-only audit trail of admin actions.

use sea_orm::sea_query::Query;
use sea_orm::{ConnectionTrait, DbErr, Statement};

use super::Store;

/// An API key as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredApiKey {
    pub api_key: String,
    pub account_id: u64,
    pub secret: String,
}

impl std::fmt::Debug for StoredApiKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("StoredApiKey")
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// One admin action as the audit trail records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub at_ms: u64,
    /// What was asked: `open_account`, `deposit`, `withdrawal`, ...
    pub action: String,
    /// What it was about, e.g. `account:7`.
    pub subject: String,
    /// The request as JSON.
    pub detail: String,
    /// `ok`, or the refusal.
    pub outcome: String,
}

fn to_bigint(value: u64, what: &str) -> Result<i64, DbErr> {
    i64::try_from(value).map_err(|_| DbErr::Custom(format!("{what} {value} exceeds BIGINT")))
}

impl Store {
    /// Records a new key; a key that exists already is refused by the primary key.
    pub async fn insert_api_key(
        &self,
        key: &StoredApiKey,
        created_at_ms: u64,
    ) -> Result<(), DbErr> {
        let insert = Query::insert()
            .into_table("api_keys")
            .columns(["api_key", "account_id", "secret", "created_at_ms"])
            .values_panic([
                key.api_key.as_str().into(),
                to_bigint(key.account_id, "account id")?.into(),
                key.secret.as_str().into(),
                to_bigint(created_at_ms, "time")?.into(),
            ])
            .to_owned();
        let write = self.begin_write().await?;
        write.txn.execute(&insert).await?;
        write.txn.commit().await
    }

    /// Every stored key, oldest first.
    pub async fn load_api_keys(&self) -> Result<Vec<StoredApiKey>, DbErr> {
        let sql =
            "SELECT api_key, account_id, secret FROM api_keys ORDER BY created_at_ms, api_key";
        let rows =
            self.connection().query_all_raw(Statement::from_string(self.backend(), sql)).await?;
        rows.iter()
            .map(|row| {
                let account_id: i64 = row.try_get("", "account_id")?;
                Ok(StoredApiKey {
                    api_key: row.try_get("", "api_key")?,
                    account_id: u64::try_from(account_id)
                        .map_err(|_| DbErr::Custom(format!("negative account id {account_id}")))?,
                    secret: row.try_get("", "secret")?,
                })
            })
            .collect()
    }

    /// Appends one record to the audit trail.
    pub async fn append_audit(&self, record: &AuditRecord) -> Result<(), DbErr> {
        let insert = Query::insert()
            .into_table("admin_audit")
            .columns(["at_ms", "action", "subject", "detail", "outcome"])
            .values_panic([
                to_bigint(record.at_ms, "time")?.into(),
                record.action.as_str().into(),
                record.subject.as_str().into(),
                record.detail.as_str().into(),
                record.outcome.as_str().into(),
            ])
            .to_owned();
        let write = self.begin_write().await?;
        write.txn.execute(&insert).await?;
        write.txn.commit().await
    }

    /// The most recent `limit` audit records, newest first.
    pub async fn recent_audit(&self, limit: u32) -> Result<Vec<AuditRecord>, DbErr> {
        let sql = format!(
            "SELECT at_ms, action, subject, detail, outcome FROM admin_audit \
             ORDER BY audit_id DESC LIMIT {limit}"
        );
        let rows =
            self.connection().query_all_raw(Statement::from_string(self.backend(), sql)).await?;
        rows.iter()
            .map(|row| {
                let at_ms: i64 = row.try_get("", "at_ms")?;
                Ok(AuditRecord {
                    at_ms: u64::try_from(at_ms).unwrap_or_default(),
                    action: row.try_get("", "action")?,
                    subject: row.try_get("", "subject")?,
                    detail: row.try_get("", "detail")?,
                    outcome: row.try_get("", "outcome")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, Store) {
        let directory = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", directory.path().join("admin.db").display());
        let store = Store::connect(&url).await.expect("connect");
        store.migrate().await.expect("migrate");
        (directory, store)
    }

    #[tokio::test]
    async fn keys_round_trip_and_are_unique() {
        let (_directory, store) = store().await;
        let key = StoredApiKey { api_key: "k1".into(), account_id: 7, secret: "s1".into() };
        store.insert_api_key(&key, 1).await.expect("insert");
        assert!(store.insert_api_key(&key, 2).await.is_err(), "a key is never overwritten");
        assert_eq!(store.load_api_keys().await.expect("load"), vec![key]);
    }

    #[tokio::test]
    async fn the_audit_trail_refuses_updates_and_deletes() {
        let (_directory, store) = store().await;
        let record = AuditRecord {
            at_ms: 5,
            action: "deposit".into(),
            subject: "account:1".into(),
            detail: "{}".into(),
            outcome: "ok".into(),
        };
        store.append_audit(&record).await.expect("append");
        assert_eq!(store.recent_audit(10).await.expect("read"), vec![record]);
        let db = store.connection();
        assert!(db.execute_unprepared("UPDATE admin_audit SET outcome = 'x'").await.is_err());
        assert!(db.execute_unprepared("DELETE FROM admin_audit").await.is_err());
        assert_eq!(store.recent_audit(10).await.expect("read").len(), 1);
    }
}
