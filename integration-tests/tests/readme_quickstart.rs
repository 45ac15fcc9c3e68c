//! The README's quickstart, run verbatim: the bash block between `<!-- quickstart:begin -->`
//! and `<!-- quickstart:end -->` of README.md, against the real `exchange serve` on a fresh
//! SQLite file and an ephemeral port, must exit 0 and print the trade and the balances the
//! README promises.

use std::process::Command;

use integration_tests::http::{ADMIN_TOKEN, ExchangeProcess, sqlite_url};
use integration_tests::workspace_root;

/// The code inside the fenced block between the quickstart markers.
fn quickstart_script(readme: &str) -> String {
    let begin = readme.find("<!-- quickstart:begin -->").expect("begin marker in README.md");
    let end = readme.find("<!-- quickstart:end -->").expect("end marker in README.md");
    let block = &readme[begin..end];
    let code = block.split_once("```bash\n").expect("a ```bash fence after the begin marker").1;
    code.rsplit_once("```").expect("the fence closes before the end marker").0.to_owned()
}

#[test]
fn the_readme_quickstart_runs_verbatim_and_shows_the_trade_and_balances() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).expect("README.md");
    let script = quickstart_script(&readme);
    let directory = tempfile::tempdir().expect("temp dir");
    let server = ExchangeProcess::start(&sqlite_url(&directory));

    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("BASE_URL", &server.base)
        .env("ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );

    let trade = stdout.split_once("trade:").expect("the trade is printed").1;
    for expected in [
        r#""status":"FILLED""#,
        r#""commission":"0.50000000","commissionAsset":"USDT","price":"50000.00","qty":"0.01000""#,
    ] {
        assert!(trade.contains(expected), "{expected} not in\n{stdout}");
    }
    let (alice, bob) = stdout.split_once("bob:").expect("bob's balances are printed");
    let alice = alice.split_once("alice:").expect("alice's balances are printed").1;
    for expected in [
        r#"{"asset":"BTC","free":"0.00999900","locked":"0.00000000"}"#,
        r#"{"asset":"USDT","free":"500.00000000","locked":"0.00000000"}"#,
    ] {
        assert!(alice.contains(expected), "{expected} not in alice's\n{stdout}");
    }
    for expected in [
        r#"{"asset":"BTC","free":"0.99000000","locked":"0.00000000"}"#,
        r#"{"asset":"USDT","free":"499.50000000","locked":"0.00000000"}"#,
    ] {
        assert!(bob.contains(expected), "{expected} not in bob's\n{stdout}");
    }
}
