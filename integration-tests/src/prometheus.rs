//! Reading Prometheus' text exposition format as the tests need it: a sample's value, the
//! names a scrape exports, and a quantile estimated from a histogram's buckets the way
//! PromQL's `histogram_quantile` bounds it (the upper bound of the bucket holding it).
// Sample values are floats in the format; no money here.
#![allow(clippy::float_arithmetic)]

use std::collections::{BTreeMap, BTreeSet};

/// The value of the first sample whose line starts with `series` (a name, or a name with its
/// labels as rendered).
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

/// Every metric name with a sample in `text` (histograms as `_bucket`, `_sum`, `_count`), and
/// every name a `# TYPE` line declares.
pub fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        if let Some(declared) = line.strip_prefix("# TYPE ") {
            names.extend(declared.split_whitespace().next().map(str::to_owned));
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_owned());
        }
    }
    names
}

/// The upper bound of the bucket of histogram `name` (all label sets summed) that holds
/// quantile `q`; `None` without observations. `f64::INFINITY` when it lies past the last bound.
pub fn histogram_quantile(text: &str, name: &str, q: f64) -> Option<f64> {
    let prefix = format!("{name}_bucket{{");
    let mut cumulative: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for line in text.lines().filter(|line| line.starts_with(&prefix)) {
        let (labels, value) = line[prefix.len()..].split_once("} ")?;
        let bound = labels.split(',').find_map(|label| label.strip_prefix("le=\""))?;
        let bound: f64 = bound.trim_end_matches('"').parse().ok()?;
        let count: f64 = value.trim().parse().ok()?;
        // Keyed by the bound's bits: bounds are positive, so bit order is numeric order.
        cumulative.entry(bound.to_bits()).or_insert((bound, 0.0)).1 += count;
    }
    let total = cumulative.values().last()?.1;
    if total <= 0.0 {
        return None;
    }
    cumulative.values().find(|(_, count)| *count >= q * total).map(|(bound, _)| *bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# TYPE lat_seconds histogram
lat_seconds_bucket{symbol=\"A\",le=\"0.001\"} 1
lat_seconds_bucket{symbol=\"A\",le=\"0.01\"} 8
lat_seconds_bucket{symbol=\"A\",le=\"+Inf\"} 10
lat_seconds_bucket{symbol=\"B\",le=\"0.001\"} 0
lat_seconds_bucket{symbol=\"B\",le=\"0.01\"} 0
lat_seconds_bucket{symbol=\"B\",le=\"+Inf\"} 0
lat_seconds_sum{symbol=\"A\"} 0.5
lat_seconds_count{symbol=\"A\"} 10
up 1
";

    #[test]
    fn quantiles_are_bucket_bounds() {
        assert_eq!(histogram_quantile(TEXT, "lat_seconds", 0.1), Some(0.001));
        assert_eq!(histogram_quantile(TEXT, "lat_seconds", 0.8), Some(0.01));
        assert_eq!(histogram_quantile(TEXT, "lat_seconds", 0.99), Some(f64::INFINITY));
        assert_eq!(histogram_quantile(TEXT, "missing_seconds", 0.5), None);
    }

    #[test]
    fn names_include_histogram_series_and_plain_samples() {
        let names = metric_names(TEXT);
        for name in ["lat_seconds", "lat_seconds_bucket", "lat_seconds_count", "up"] {
            assert!(names.contains(name), "{name}");
        }
        assert_eq!(sample(TEXT, "up"), Some(1.0));
    }
}
