//! Benchmark harness for the matching engine (DESIGN.md section 5).
//!
//! ```text
//! cargo run --release -p exchange-actors --example book_bench -- <insert-only|exchange-mix>
//!     [--ops N] [--seed S] [--rate-percent P | --rate OPS_PER_SEC]
//!     [--depth-ticks D] [--cross-ppm C] [--orders-preallocated N] [--skip-latency]
//! ```
//!
//! The input list is generated first (against a shadow engine, fixed seed), then replayed
//! twice on fresh engines: flat out for throughput, and open-loop at a fixed arrival rate
//! (default 50% of the measured throughput) for per-input latency. Between the two, spinning
//! on the clock alone measures the machine's own stalls. Human-readable lines come first; the
//! last line is one JSON object with the figures. `docs/PERFORMANCE.md` has the results.
//!
//! On a shared machine, `chrt -f 1 target/release/examples/book_bench <workload>` keeps other
//! processes from preempting the timed loops (the loops pause every ~100 ms, so real-time
//! throttling never stops them mid-window).

mod alloc_count;
mod commands;
mod measure;
mod mix;
mod workloads;

use std::process::ExitCode;

use exchange_actors::model::{BookEvent, BookInput};

use hdrhistogram::Histogram;

use crate::measure::{
    Latency, OsCounters, PlatformNoise, STALL_NS, Throughput, open_loop_latency, platform_noise,
    throughput,
};
use crate::mix::{MixParams, exchange_mix};
use crate::workloads::{Workload, insert_only};

const DEFAULT_SEED: u64 = 0x5EED_0B00_CB3E_0001;
const DEFAULT_OPS: u32 = 4_000_000;
const DEFAULT_RATE_PERCENT: u64 = 50;
/// How long to spin on the clock alone to measure the machine's own stalls.
const NOISE_SPIN: std::time::Duration = std::time::Duration::from_millis(500);

#[derive(Debug)]
struct Args {
    workload: String,
    ops: u32,
    seed: u64,
    rate_percent: u64,
    rate_ops_per_sec: Option<u64>,
    /// Throughput only (for profiling): the latency fields of the JSON line are null.
    skip_latency: bool,
    mix: MixParams,
}

const USAGE: &str = "usage: book_bench <insert-only|exchange-mix> [--ops N] [--seed S] \
                     [--rate-percent P | --rate OPS_PER_SEC] [--depth-ticks D] [--cross-ppm C] \
                     [--orders-preallocated N] [--skip-latency]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        workload: String::new(),
        ops: DEFAULT_OPS,
        seed: DEFAULT_SEED,
        rate_percent: DEFAULT_RATE_PERCENT,
        rate_ops_per_sec: None,
        skip_latency: false,
        mix: MixParams::default(),
    };
    let mut raw = std::env::args().skip(1);
    while let Some(arg) = raw.next() {
        if !arg.starts_with("--") {
            args.workload = arg;
            continue;
        }
        if arg == "--skip-latency" {
            args.skip_latency = true;
            continue;
        }
        let value = raw.next().ok_or_else(|| format!("{arg} needs a value"))?;
        let number = |value: &str| value.parse::<u64>().map_err(|e| format!("{arg} {value}: {e}"));
        match arg.as_str() {
            "--ops" => args.ops = u32::try_from(number(&value)?).map_err(|e| e.to_string())?,
            "--seed" => args.seed = number(&value)?,
            "--rate-percent" => args.rate_percent = number(&value)?,
            "--rate" => args.rate_ops_per_sec = Some(number(&value)?),
            "--depth-ticks" => {
                args.mix.depth_ticks = i64::try_from(number(&value)?).map_err(|e| e.to_string())?
            }
            "--orders-preallocated" => {
                let preallocated = u32::try_from(number(&value)?).map_err(|e| e.to_string())?;
                args.mix.orders_preallocated = preallocated;
            }
            "--cross-ppm" => {
                args.mix.cross_ppm = u32::try_from(number(&value)?).map_err(|e| e.to_string())?
            }
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    if args.ops == 0 || args.rate_percent == 0 {
        return Err("--ops and --rate-percent must be positive".to_owned());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    let workload = match args.workload.as_str() {
        "insert-only" => insert_only(args.ops, args.seed),
        "exchange-mix" => exchange_mix(args.ops, args.seed, args.mix),
        other => {
            eprintln!("unknown workload {other:?}\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    print_workload(&workload);
    let flat_out = throughput(&workload);
    print_throughput(&flat_out);
    let latency = (!args.skip_latency).then(|| {
        let rate = args.rate_ops_per_sec.unwrap_or(flat_out.ops_per_sec * args.rate_percent / 100);
        print_noise(&platform_noise(NOISE_SPIN));
        let latency = open_loop_latency(&workload, rate.max(1));
        print_latency(&latency);
        latency
    });
    println!("{}", json_line(&workload, &flat_out, latency.as_ref()));
    ExitCode::SUCCESS
}

/// Per-million share as a decimal fraction with six digits ("0.060123").
fn fraction(part: u64, whole: u64) -> String {
    let ppm = part * 1_000_000 / whole.max(1);
    format!("{}.{:06}", ppm / 1_000_000, ppm % 1_000_000)
}

/// Per-ten-thousand share as a percentage with two decimals ("6.01%").
fn percent(part: u64, whole: u64) -> String {
    let basis_points = part * 10_000 / whole.max(1);
    format!("{}.{:02}%", basis_points / 100, basis_points % 100)
}

fn print_workload(workload: &Workload) {
    let stats = &workload.stats;
    let commands = stats.commands();
    let input_bytes = std::mem::size_of::<BookInput>();
    let list_mib = ((workload.setup.len() + workload.timed.len()) * input_bytes) >> 20;
    println!("workload: {}", workload.name);
    println!(
        "inputs: {} setup (untimed) + {} timed, {input_bytes} bytes each ({list_mib} MiB); \
         events {} bytes each",
        workload.setup.len(),
        workload.timed.len(),
        std::mem::size_of::<BookEvent>()
    );
    println!(
        "mix: gtc {} ioc {} cancel {} move {}",
        percent(stats.gtc, commands),
        percent(stats.ioc, commands),
        percent(stats.cancels, commands),
        percent(stats.moves, commands)
    );
    println!(
        "trading commands: {} of {commands} = {} ({} trades, {} events/op)",
        stats.trading_commands,
        percent(stats.trading_commands, commands),
        stats.trades,
        fraction(stats.events, commands)
    );
    println!(
        "book: {} resting orders on average (max {}), {} price levels on average",
        stats.resting_orders_sum / commands.max(1),
        stats.resting_orders_max,
        stats.levels_sum / commands.max(1)
    );
}

fn print_throughput(flat_out: &Throughput) {
    println!(
        "throughput: {} ops in {:.3?} = {} ops/s ({} ns/op); {} allocations, {}",
        flat_out.ops,
        flat_out.elapsed,
        flat_out.ops_per_sec,
        flat_out.elapsed.as_nanos() / u128::from(flat_out.ops),
        flat_out.allocations,
        os_line(&flat_out.os)
    );
    let windows = &flat_out.window_ns_per_op;
    let mut sorted = windows.clone();
    sorted.sort_unstable();
    println!(
        "throughput windows ({}): ns/op first {}, median {}, last {}, slowest {}",
        windows.len(),
        windows.first().copied().unwrap_or(0),
        sorted.get(sorted.len() / 2).copied().unwrap_or(0),
        windows.last().copied().unwrap_or(0),
        sorted.last().copied().unwrap_or(0)
    );
}

fn os_line(os: &OsCounters) -> String {
    format!(
        "{} minor + {} major page faults, {} involuntary context switches",
        os.minor_faults, os.major_faults, os.involuntary_switches
    )
}

fn quantiles_line(histogram: &Histogram<u64>) -> String {
    format!(
        "p50 {} ns, p90 {} ns, p99 {} ns, p99.9 {} ns, p99.99 {} ns, max {} ns",
        histogram.value_at_quantile(0.5),
        histogram.value_at_quantile(0.9),
        histogram.value_at_quantile(0.99),
        histogram.value_at_quantile(0.999),
        histogram.value_at_quantile(0.9999),
        histogram.max()
    )
}

fn print_noise(noise: &PlatformNoise) {
    println!(
        "platform (clock alone, {:.0?}): clock read {} ns (in every latency below); gaps p99.99 \
         {} ns, max {} ns; {} stalls >= {} us totalling {:.3?}",
        noise.spun,
        noise.gaps.value_at_quantile(0.5),
        noise.gaps.value_at_quantile(0.9999),
        noise.gaps.max(),
        noise.stalls,
        STALL_NS / 1_000,
        noise.stalled
    );
}

fn print_latency(latency: &Latency) {
    println!(
        "open loop at {} ops/s: {} ops in {:.3?}; {} allocations, {}",
        latency.rate_ops_per_sec,
        latency.histogram.len(),
        latency.elapsed,
        latency.allocations,
        os_line(&latency.os)
    );
    println!("latency (arrival to completion): {}", quantiles_line(&latency.histogram));
    println!("service (start to completion):   {}", quantiles_line(&latency.service));
}

fn json_line(workload: &Workload, flat_out: &Throughput, latency: Option<&Latency>) -> String {
    let quantile = |quantile: f64| {
        latency.map_or("null".to_owned(), |l| l.histogram.value_at_quantile(quantile).to_string())
    };
    let max = latency.map_or("null".to_owned(), |l| l.histogram.max().to_string());
    let rate = latency.map_or("null".to_owned(), |l| l.rate_ops_per_sec.to_string());
    let stats = &workload.stats;
    format!(
        "{{\"workload\":\"{}\",\"ops\":{},\"ops_per_sec\":{},\"p50_ns\":{},\"p99_ns\":{},\
         \"p999_ns\":{},\"p9999_ns\":{},\"max_ns\":{max},\"latency_rate_ops_per_sec\":{rate},\
         \"trade_share\":{},\"avg_resting_orders\":{},\"avg_levels\":{}}}",
        workload.name,
        flat_out.ops,
        flat_out.ops_per_sec,
        quantile(0.5),
        quantile(0.99),
        quantile(0.999),
        quantile(0.9999),
        fraction(stats.trading_commands, stats.commands()),
        stats.resting_orders_sum / stats.commands().max(1),
        stats.levels_sum / stats.commands().max(1)
    )
}
