//! What a run measured: per request kind and transport an HDR histogram of acknowledgement
//! latency (microseconds) and the refusals by code; the once-a-second progress line; the final
//! report as text and as JSON.

// Rates and seconds are display figures, not money.
#![allow(clippy::float_arithmetic)]

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use super::workload::OpKind;
use crate::load::latency_histogram;

/// The quantiles a report gives, with their names.
const QUANTILES: [(&str, f64); 4] =
    [("p50_us", 0.5), ("p90_us", 0.9), ("p99_us", 0.99), ("p99_9_us", 0.999)];

#[derive(Debug)]
struct OpStats {
    acked: Histogram<u64>,
    refused: BTreeMap<String, u64>,
}

/// Counts and histograms of one run (shared by its senders behind a mutex).
#[derive(Debug, Default)]
pub struct Stats {
    ops: BTreeMap<(OpKind, &'static str), OpStats>,
    pub sent: u64,
    pub acked: u64,
}

impl Stats {
    pub fn sent(&mut self) {
        self.sent += 1;
    }

    /// A request of `kind` over `transport` answered after `latency`: acknowledged (`None`)
    /// or refused with `code`.
    pub fn answered(
        &mut self,
        kind: OpKind,
        transport: &'static str,
        latency: Duration,
        refusal: Option<String>,
    ) {
        let stats = self
            .ops
            .entry((kind, transport))
            .or_insert_with(|| OpStats { acked: latency_histogram(), refused: BTreeMap::new() });
        match refusal {
            None => {
                self.acked += 1;
                let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                stats.acked.saturating_record(micros.max(1));
            }
            Some(code) => *stats.refused.entry(code).or_insert(0) += 1,
        }
    }

    /// Refusals by code over every kind.
    pub fn refusals(&self) -> BTreeMap<String, u64> {
        let mut total = BTreeMap::new();
        for stats in self.ops.values() {
            for (code, count) in &stats.refused {
                *total.entry(code.clone()).or_insert(0) += count;
            }
        }
        total
    }

    /// `sent N, acked N, refused {code: N}, R acked/s` since the previous line.
    pub fn progress_line(
        &self,
        elapsed: Duration,
        acked_before: u64,
        interval: Duration,
    ) -> String {
        let rate = (self.acked - acked_before) as f64 / interval.as_secs_f64();
        format!(
            "{:>5.1} s: sent {}, acked {}, refused {:?}, {rate:.0} acked/s",
            elapsed.as_secs_f64(),
            self.sent,
            self.acked,
            self.refusals()
        )
    }

    /// The run's report over `elapsed`.
    pub fn report(&self, elapsed: Duration) -> Value {
        let seconds = elapsed.as_secs_f64();
        let ops: Vec<Value> = self
            .ops
            .iter()
            .map(|((kind, transport), stats)| {
                let histogram = &stats.acked;
                let mut op = json!({
                    "op": kind.name(),
                    "transport": transport,
                    "acked": histogram.len(),
                    "acked_per_s": histogram.len() as f64 / seconds,
                    "refused": stats.refused,
                    "max_us": histogram.max(),
                });
                for (name, quantile) in QUANTILES {
                    op[name] = json!(histogram.value_at_quantile(quantile));
                }
                op
            })
            .collect();
        json!({
            "seconds": seconds,
            "sent": self.sent,
            "acked": self.acked,
            "sent_per_s": self.sent as f64 / seconds,
            "acked_per_s": self.acked as f64 / seconds,
            "refused": self.refusals(),
            "ops": ops,
        })
    }
}

fn whole(value: &Value) -> u64 {
    value.as_u64().unwrap_or(0)
}

/// The report as a table.
pub fn report_text(report: &Value) -> String {
    let mut text = format!(
        "{:.1} s: sent {} ({:.0}/s), acked {} ({:.0}/s), refused {}\n",
        report["seconds"].as_f64().unwrap_or(0.0),
        report["sent"],
        report["sent_per_s"].as_f64().unwrap_or(0.0),
        report["acked"],
        report["acked_per_s"].as_f64().unwrap_or(0.0),
        report["refused"]
    );
    text.push_str(&format!(
        "{:<12} {:<5} {:>9} {:>9} {:>8} {:>8} {:>8} {:>9} {:>9}  refused\n",
        "op", "via", "acked", "acked/s", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us"
    ));
    for op in report["ops"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "{:<12} {:<5} {:>9} {:>9.0} {:>8} {:>8} {:>8} {:>9} {:>9}  {}\n",
            op["op"].as_str().unwrap_or(""),
            op["transport"].as_str().unwrap_or(""),
            whole(&op["acked"]),
            op["acked_per_s"].as_f64().unwrap_or(0.0),
            whole(&op["p50_us"]),
            whole(&op["p90_us"]),
            whole(&op["p99_us"]),
            whole(&op["p99_9_us"]),
            whole(&op["max_us"]),
            op["refused"]
        ));
    }
    text
}
