//! The kill switches' states as appended to `switch_changes` (newest wins at start).

use sea_orm::sea_query::Query;
use sea_orm::{ConnectionTrait, DbErr, Statement};

use super::Store;

impl Store {
    /// Appends the switches' new state (JSON) as changed by `changed_by` at `at_ms`.
    pub async fn append_switches(
        &self,
        at_ms: u64,
        changed_by: &str,
        switches_json: &str,
    ) -> Result<(), DbErr> {
        let at_ms = i64::try_from(at_ms)
            .map_err(|_| DbErr::Custom(format!("time {at_ms} exceeds BIGINT")))?;
        let insert = Query::insert()
            .into_table("switch_changes")
            .columns(["at_ms", "changed_by", "switches"])
            .values_panic([at_ms.into(), changed_by.into(), switches_json.into()])
            .to_owned();
        let write = self.begin_write().await?;
        write.txn.execute(&insert).await?;
        write.txn.commit().await
    }

    /// The newest state appended, if any.
    pub async fn latest_switches(&self) -> Result<Option<String>, DbErr> {
        let sql = "SELECT switches FROM switch_changes ORDER BY change_id DESC LIMIT 1";
        let row =
            self.connection().query_one_raw(Statement::from_string(self.backend(), sql)).await?;
        row.map(|row| row.try_get("", "switches")).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_newest_state_wins_and_history_cannot_be_rewritten() {
        let directory = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", directory.path().join("s.db").display());
        let store = Store::connect(&url).await.expect("connect");
        store.migrate().await.expect("migrate");
        assert_eq!(store.latest_switches().await.expect("read"), None);
        store.append_switches(1, "admin", "{\"a\":1}").await.expect("append");
        store.append_switches(2, "reconciler", "{\"a\":2}").await.expect("append");
        assert_eq!(store.latest_switches().await.expect("read").as_deref(), Some("{\"a\":2}"));
        let db = store.connection();
        assert!(db.execute_unprepared("UPDATE switch_changes SET switches = 'x'").await.is_err());
        assert!(db.execute_unprepared("DELETE FROM switch_changes").await.is_err());
    }
}
