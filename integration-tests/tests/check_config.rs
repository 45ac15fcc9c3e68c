//! `exchange check-config` validates the shipped configuration and names what is wrong in a
//! broken one, exiting non-zero.

use integration_tests::run_exchange;

#[test]
fn default_configuration_is_valid_and_lists_both_markets() {
    let output = run_exchange(&["check-config"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("BTCUSDT: BTC/USDT tick 0.01 step 0.00001"), "{stdout}");
    assert!(stdout.contains("ETHUSDT: ETH/USDT"), "{stdout}");
}

#[test]
fn a_min_qty_off_its_step_is_refused_with_the_field_named() {
    let broken =
        std::fs::read_to_string(integration_tests::workspace_root().join("config/default.toml"))
            .unwrap()
            .replacen("min_qty = \"0.00001\"", "min_qty = \"0.000015\"", 1);
    let dir = std::env::temp_dir().join(format!("exchange-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broken.toml");
    std::fs::write(&path, broken).unwrap();

    let output = run_exchange(&["check-config", "--config", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("symbol BTCUSDT"), "{stderr}");
    assert!(stderr.contains("minQty 0.000015 is not a multiple of stepSize 0.00001"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_configuration_file_is_an_error_naming_it() {
    let output = run_exchange(&["check-config", "--config", "/nonexistent/exchange.toml"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/exchange.toml"));
}
