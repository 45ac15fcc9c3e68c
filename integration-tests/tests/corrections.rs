//! The real binary: a ledger mistake is repaired only by appending. `POST /admin/corrections`
//! reverses a deposit with a new CORRECTION entry that references it (double-entry, audited);
//! the original stays; the database refuses UPDATE and DELETE of ledger rows; reconciliation
//! stays clean.

use std::time::{Duration, Instant};

use integration_tests::http::{ADMIN_TOKEN, ExchangeProcess, HttpClient, sqlite_url};
use reqwest::Method;
use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

fn correct(client: &HttpClient, body: &Value) -> (u16, Value) {
    let headers = [("X-Admin-Token", ADMIN_TOKEN)];
    let bytes = serde_json::to_vec(body).expect("JSON");
    client.raw(Method::POST, "/admin/corrections", &headers, Some(("application/json", bytes)))
}

/// `(entry_id, kind, reference, debit_owner, credit_owner, amount)` of `owner`'s entries.
async fn entries_of(
    db: &DatabaseConnection,
    owner: &str,
) -> Vec<(i64, String, i64, String, String, i64)> {
    let sql = format!(
        "SELECT entry_id, kind, reference, debit_owner, credit_owner, amount FROM ledger_entries \
         WHERE debit_owner = '{owner}' OR credit_owner = '{owner}' ORDER BY entry_id"
    );
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("ledger reads");
    rows.iter()
        .map(|row| {
            (
                row.try_get_by_index(0).expect("entry_id"),
                row.try_get_by_index(1).expect("kind"),
                row.try_get_by_index(2).expect("reference"),
                row.try_get_by_index(3).expect("debit"),
                row.try_get_by_index(4).expect("credit"),
                row.try_get_by_index(5).expect("amount"),
            )
        })
        .collect()
}

#[test]
fn a_deposit_is_reversed_by_an_appended_entry_that_references_it() {
    let directory = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(&directory);
    let server = ExchangeProcess::start(&url);
    let client = HttpClient::new(&server);
    let trader = client.funded_trader("USDT", "100");
    let owner = format!("user:{}", trader.account_id);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let db = runtime.block_on(Database::connect(url.as_str())).expect("connect");

    // The projector writes ledger rows a moment after the commit.
    let deadline = Instant::now() + Duration::from_secs(10);
    let deposit = loop {
        if let Some(entry) = runtime.block_on(entries_of(&db, &owner)).first().cloned() {
            break entry;
        }
        assert!(Instant::now() < deadline, "the deposit never reached ledger_entries");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(deposit.1, "DEPOSIT");
    let deposit_id = u64::try_from(deposit.0).expect("positive");

    // Refused: no reason, an entry of another account.
    let mut body = json!({"accountId": trader.account_id, "asset": "USDT", "amount": "-100",
        "correctsEntryId": deposit_id, "reason": ""});
    assert_eq!(correct(&client, &body).1["code"], -1130);
    body["reason"] = json!("deposit credited twice by the chain watcher");
    // Entry ids count per shard, so the check is of the entry's account and asset.
    for (field, value) in [("asset", json!("BTC")), ("correctsEntryId", json!(999_999))] {
        let mut elsewhere = body.clone();
        elsewhere[field] = value;
        let (status, refused) = correct(&client, &elsewhere);
        assert_eq!((status, refused["code"].as_i64()), (400, Some(-1130)), "{refused}");
        let msg = refused["msg"].as_str().expect("msg");
        assert!(msg.contains("is not a ledger entry of account"), "{refused}");
    }

    let (status, corrected) = correct(&client, &body);
    assert_eq!(status, 200, "{corrected}");
    assert_eq!(corrected["balance"]["free"], "0.00000000", "{corrected}");
    client.expect_balance(&trader, "USDT", ("0.00000000", "0.00000000"));

    let deadline = Instant::now() + Duration::from_secs(10);
    let entries = loop {
        let entries = runtime.block_on(entries_of(&db, &owner));
        if entries.len() == 2 {
            break entries;
        }
        assert!(Instant::now() < deadline, "{entries:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(entries[0], deposit, "the original entry is untouched");
    let (_, kind, reference, debit, credit, amount) = &entries[1];
    assert_eq!((kind.as_str(), *reference), ("CORRECTION", deposit.0));
    assert_eq!((debit.as_str(), credit.as_str(), *amount), (owner.as_str(), "external", deposit.5));

    // The ledger cannot be edited behind the corrections' back.
    runtime.block_on(async {
        assert!(db.execute_unprepared("UPDATE ledger_entries SET amount = 1").await.is_err());
        assert!(db.execute_unprepared("DELETE FROM ledger_entries").await.is_err());
    });

    let headers = [("X-Admin-Token", ADMIN_TOKEN)];
    let (status, report) = client.raw(Method::GET, "/admin/reconcile", &headers, None);
    assert_eq!((status, report["anomalyCount"].as_u64()), (200, Some(0)), "{report}");
    let (_, audit) = client.raw(Method::GET, "/admin/audit?limit=20", &headers, None);
    let audited = audit.as_array().expect("records").iter().any(|record| {
        record["action"] == "correction"
            && record["outcome"] == "ok"
            && record["subject"] == format!("account:{}", trader.account_id).as_str()
    });
    assert!(audited, "{audit}");
}
