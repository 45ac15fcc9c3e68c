//! The committed fuzz corpus (`integration-tests/fuzz/corpus/<target>/`) replayed through
//! the fuzz targets' own bodies, without the fuzzer: a change that makes a known input panic
//! or break a target's property fails here, in CI. The inputs are the seeds (real requests)
//! plus what `scripts/fuzz.sh` runs found and minimized, crashes included once fixed.

#[path = "../fuzz/src/lib.rs"]
mod fuzz_targets;

use std::path::Path;

/// Each target keeps at least this many inputs (the seeds alone are more).
const INPUTS_MIN: usize = 20;

/// Runs every file of `corpus/<target>` through the target; the failing file is named.
fn replay(target: &str) {
    let (_, run) = fuzz_targets::TARGETS
        .into_iter()
        .find(|(name, _)| *name == target)
        .expect("a target of that name");
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("reading {}: {error}", directory.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    paths.sort();
    assert!(paths.len() >= INPUTS_MIN, "{target}: only {} corpus inputs", paths.len());
    for path in paths {
        let input = std::fs::read(&path).expect("a corpus file");
        let outcome = std::panic::catch_unwind(|| run(&input));
        assert!(outcome.is_ok(), "{target}: {} fails its target", path.display());
    }
}

#[test]
fn order_params_corpus() {
    replay("order_params");
}

#[test]
fn signature_corpus() {
    replay("signature");
}

#[test]
fn market_stream_corpus() {
    replay("market_stream");
}

#[test]
fn ws_api_corpus() {
    replay("ws_api");
}

#[test]
fn every_target_is_replayed() {
    let names: Vec<&str> = fuzz_targets::TARGETS.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["order_params", "signature", "market_stream", "ws_api"]);
}
