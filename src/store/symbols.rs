//! The listed symbols (`symbols` table): the spec each was listed with, in listing order.

use exchange_actors::model::SymbolSpec;
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ConnectionTrait, DbErr, Statement};

use super::Store;

impl Store {
    /// Lists `spec`; false (and nothing written) when its symbol is listed already.
    pub async fn insert_symbol(&self, spec: &SymbolSpec, listed_at_ms: u64) -> Result<bool, DbErr> {
        let text = serde_json::to_string(spec).map_err(|error| DbErr::Custom(error.to_string()))?;
        let listed_at_ms = i64::try_from(listed_at_ms)
            .map_err(|_| DbErr::Custom(format!("time {listed_at_ms} exceeds BIGINT")))?;
        let insert = Query::insert()
            .into_table("symbols")
            .columns(["symbol", "spec", "listed_at_ms"])
            .values_panic([spec.symbol.as_str().into(), text.into(), listed_at_ms.into()])
            .on_conflict(OnConflict::column("symbol").do_nothing().to_owned())
            .to_owned();
        let write = self.begin_write().await?;
        let inserted = write.txn.execute(&insert).await?.rows_affected() == 1;
        write.txn.commit().await?;
        Ok(inserted)
    }

    /// Every listed symbol's spec as listed, oldest listing first.
    pub async fn load_symbols(&self) -> Result<Vec<SymbolSpec>, DbErr> {
        let sql = "SELECT spec FROM symbols ORDER BY listed_at_ms, symbol";
        let rows =
            self.connection().query_all_raw(Statement::from_string(self.backend(), sql)).await?;
        rows.iter()
            .map(|row| {
                let text: String = row.try_get("", "spec")?;
                serde_json::from_str(&text).map_err(|error| {
                    DbErr::Custom(format!("stored symbol spec does not parse: {error}: {text}"))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use exchange_actors::model::SymbolSpec;

    use crate::config::Config;
    use crate::store::Store;

    fn specs() -> Vec<SymbolSpec> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml");
        Config::load(std::path::Path::new(path)).expect("config").symbols
    }

    #[tokio::test]
    async fn a_symbol_is_listed_once_and_read_back_exactly() {
        let directory = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", directory.path().join("symbols.db").display());
        let store = Store::connect(&url).await.expect("connect");
        store.migrate().await.expect("migrate");
        // Every configured symbol, the perpetual's terms included.
        let specs = specs();
        assert!(specs.iter().any(|spec| spec.perpetual.is_some()));
        for (listed_at_ms, spec) in (1..).zip(&specs) {
            assert!(store.insert_symbol(spec, listed_at_ms).await.expect("insert"));
        }
        let mut changed = specs[0].clone();
        changed.min_qty = changed.max_qty;
        assert!(!store.insert_symbol(&changed, 99).await.expect("insert"), "listed twice");
        assert_eq!(store.load_symbols().await.expect("load"), specs);
    }
}
