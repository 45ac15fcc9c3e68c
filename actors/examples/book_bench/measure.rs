//! The two measurements: throughput (flat out, two clock reads per window) and open-loop
//! latency (inputs released at a fixed arrival rate; each latency runs from the input's
//! scheduled arrival to its completion, so a stall also delays, and is charged to, every input
//! queued behind it instead of being hidden by coordinated omission).
//!
//! Both replay the pre-generated list on a fresh engine with one reused `EngineOutput`, so the
//! harness itself allocates nothing per input, and both check that the replay ends in exactly
//! the state the generator's shadow engine reached.

use std::hint::{black_box, spin_loop};
use std::time::{Duration, Instant};

use exchange_actors::book::{EngineOutput, MatchingEngine};
use exchange_actors::model::BookInput;
use hdrhistogram::Histogram;

use crate::alloc_count::allocations;
use crate::commands::bench_limits;
use crate::workloads::{EVENTS_PREALLOCATED, Workload};

/// Longest latency the histogram resolves (anything above is recorded as this).
const LATENCY_MAX_NS: u64 = 60 * 1_000_000_000;
const PICOS_PER_NANO: u64 = 1_000;
const PICOS_PER_SECOND: u64 = 1_000_000_000_000;
const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// Timed loops run in windows with a short pause after each. The pauses let other processes
/// on a shared machine run between windows instead of preempting a window, and keep a run
/// under real-time priority (`chrt -f 1`) below the kernel's real-time throttling budget
/// (950 ms of every second by default), which would otherwise stop it for 50 ms mid-window.
/// A latency window holds the inputs released in `WINDOW_NS`; its schedule starts afresh.
const WINDOW_NS: u64 = 100_000_000;
const THROUGHPUT_WINDOW_OPS: usize = 250_000;
const PAUSE_BETWEEN_WINDOWS: Duration = Duration::from_millis(10);
/// Before each timed phase: one whole throttling period, so the phase starts with a full budget.
const PAUSE_BEFORE_PHASE: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct Throughput {
    pub ops: u64,
    pub elapsed: Duration,
    pub ops_per_sec: u64,
    /// Heap allocations during the timed loop (expected: none).
    pub allocations: u64,
    pub os: OsCounters,
    /// Nanoseconds per input of each window in order (a growing book slows down as it grows).
    pub window_ns_per_op: Vec<u64>,
}

/// Page faults and involuntary context switches of this process (Linux `/proc`; zero where
/// unavailable). A preemption or a fault during a timed loop shows up here.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsCounters {
    pub minor_faults: u64,
    pub major_faults: u64,
    pub involuntary_switches: u64,
}

impl OsCounters {
    pub fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // Fields after the parenthesized command name; minflt and majflt are fields 10 and 12.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let field =
            |n: usize| after_name.split_whitespace().nth(n - 3).and_then(|v| v.parse().ok());
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let involuntary = status
            .lines()
            .find_map(|line| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            .and_then(|value| value.trim().parse().ok());
        OsCounters {
            minor_faults: field(10).unwrap_or(0),
            major_faults: field(12).unwrap_or(0),
            involuntary_switches: involuntary.unwrap_or(0),
        }
    }

    pub fn since(self, before: OsCounters) -> OsCounters {
        OsCounters {
            minor_faults: self.minor_faults - before.minor_faults,
            major_faults: self.major_faults - before.major_faults,
            involuntary_switches: self.involuntary_switches - before.involuntary_switches,
        }
    }
}

#[derive(Debug)]
pub struct Latency {
    pub rate_ops_per_sec: u64,
    pub elapsed: Duration,
    /// Scheduled arrival to completion: what the JSON line reports.
    pub histogram: Histogram<u64>,
    /// Start of processing to completion: the engine's own share, without queueing.
    pub service: Histogram<u64>,
    /// What the OS did to the process meanwhile.
    pub os: OsCounters,
    /// Heap allocations during the timed loop (expected: none).
    pub allocations: u64,
}

/// A fresh engine with the workload's untimed setup applied.
fn prepared_engine(workload: &Workload) -> (MatchingEngine, EngineOutput) {
    let mut engine = MatchingEngine::new(bench_limits(workload.orders_preallocated));
    let mut out = EngineOutput::with_capacity(EVENTS_PREALLOCATED);
    for input in &workload.setup {
        engine.apply(input, &mut out).expect("setup inputs were valid in the shadow engine");
        out.clear();
    }
    (engine, out)
}

/// The replay must have produced exactly the generator's book, with nothing refused.
fn verify(engine: &MatchingEngine, workload: &Workload, refused: u64) {
    assert_eq!(
        refused, 0,
        "{}: the replay refused inputs the shadow engine accepted",
        workload.name
    );
    assert!(
        engine.state_hash() == workload.final_state_hash,
        "{}: the replay diverged from the shadow engine",
        workload.name
    );
}

pub fn ops_per_sec(ops: u64, elapsed: Duration) -> u64 {
    let rate = u128::from(ops) * NANOS_PER_SECOND / elapsed.as_nanos().max(1);
    u64::try_from(rate).unwrap_or(u64::MAX)
}

fn nanos_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Applies every timed input as fast as possible, in windows.
pub fn throughput(workload: &Workload) -> Throughput {
    let (mut engine, mut out) = prepared_engine(workload);
    let mut window_ns_per_op = Vec::with_capacity(workload.timed.len() / THROUGHPUT_WINDOW_OPS + 1);
    std::thread::sleep(PAUSE_BEFORE_PHASE);
    // Read the OS counters first: reading them allocates.
    let (os_before, allocations_before) = (OsCounters::now(), allocations());
    let mut elapsed = Duration::ZERO;
    let mut refused = 0;
    for window in workload.timed.chunks(THROUGHPUT_WINDOW_OPS) {
        let start = Instant::now();
        refused += replay_flat_out(&mut engine, &mut out, window);
        let window_elapsed = start.elapsed();
        elapsed += window_elapsed;
        let ns = window_elapsed.as_nanos() / window.len() as u128;
        window_ns_per_op.push(u64::try_from(ns).unwrap_or(u64::MAX));
        std::thread::sleep(PAUSE_BETWEEN_WINDOWS);
    }
    let (allocations, os) =
        (allocations() - allocations_before, OsCounters::now().since(os_before));
    verify(&engine, workload, refused);
    let ops = u64::try_from(workload.timed.len()).expect("fits");
    Throughput {
        ops,
        elapsed,
        ops_per_sec: ops_per_sec(ops, elapsed),
        allocations,
        os,
        window_ns_per_op,
    }
}

/// The timed loop, kept out of line so that a profiler can single it out
/// (`valgrind --tool=callgrind --toggle-collect='*replay_flat_out*'`). Returns inputs refused.
#[inline(never)]
fn replay_flat_out(
    engine: &mut MatchingEngine,
    out: &mut EngineOutput,
    inputs: &[BookInput],
) -> u64 {
    let mut refused = 0_u64;
    for input in inputs {
        refused += u64::from(engine.apply(input, out).is_err());
        black_box(&*out);
        out.clear();
    }
    refused
}

/// Releases the timed inputs at `rate_ops_per_sec`, in windows of about `WINDOW_NS`.
pub fn open_loop_latency(workload: &Workload, rate_ops_per_sec: u64) -> Latency {
    assert!(rate_ops_per_sec > 0, "the arrival rate must be positive");
    let (mut engine, mut out) = prepared_engine(workload);
    let window_ops = u128::from(rate_ops_per_sec) * u128::from(WINDOW_NS) / NANOS_PER_SECOND;
    let window_ops = usize::try_from(window_ops).unwrap_or(usize::MAX).max(1);
    let mut recorder = LatencyRecorder {
        interval_ps: PICOS_PER_SECOND / rate_ops_per_sec,
        histogram: new_histogram(),
        service: new_histogram(),
    };
    std::thread::sleep(PAUSE_BEFORE_PHASE);
    // Read the OS counters first: reading them allocates.
    let (os_before, allocations_before) = (OsCounters::now(), allocations());
    let mut elapsed = Duration::ZERO;
    let mut refused = 0;
    for window in workload.timed.chunks(window_ops) {
        let start = Instant::now();
        refused += recorder.replay_window(&mut engine, &mut out, window, start);
        elapsed += start.elapsed();
        std::thread::sleep(PAUSE_BETWEEN_WINDOWS);
    }
    let (allocations, os) =
        (allocations() - allocations_before, OsCounters::now().since(os_before));
    verify(&engine, workload, refused);
    let LatencyRecorder { histogram, service, .. } = recorder;
    Latency { rate_ops_per_sec, elapsed, histogram, service, os, allocations }
}

#[derive(Debug)]
struct LatencyRecorder {
    interval_ps: u64,
    histogram: Histogram<u64>,
    service: Histogram<u64>,
}

impl LatencyRecorder {
    /// Input `i` of the window is released at `start + i / rate`; records completion minus
    /// release, and completion minus the moment processing began. Returns inputs refused.
    fn replay_window(
        &mut self,
        engine: &mut MatchingEngine,
        out: &mut EngineOutput,
        inputs: &[BookInput],
        start: Instant,
    ) -> u64 {
        let mut refused = 0_u64;
        for (index, input) in (0_u64..).zip(inputs) {
            let scheduled_ns = index * self.interval_ps / PICOS_PER_NANO;
            let mut begin_ns = nanos_since(start);
            while begin_ns < scheduled_ns {
                spin_loop();
                begin_ns = nanos_since(start);
            }
            refused += u64::from(engine.apply(input, out).is_err());
            black_box(&*out);
            out.clear();
            let done_ns = nanos_since(start);
            self.histogram.saturating_record(done_ns.saturating_sub(scheduled_ns).max(1));
            self.service.saturating_record(done_ns.saturating_sub(begin_ns).max(1));
        }
        refused
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, LATENCY_MAX_NS, 3).expect("valid histogram bounds")
}

/// The machine's own noise, measured by spinning on the clock with no engine at all: the gaps
/// between back-to-back clock reads. The median is what one clock read costs (part of every
/// latency recorded); the long gaps are stalls (interrupts, preemption, the hypervisor) that
/// the open-loop latency also sees, whatever the engine does.
#[derive(Debug)]
pub struct PlatformNoise {
    pub spun: Duration,
    pub gaps: Histogram<u64>,
    /// Gaps of at least `STALL_NS`, and their total length.
    pub stalls: u64,
    pub stalled: Duration,
}

pub const STALL_NS: u64 = 10_000;

pub fn platform_noise(spin: Duration) -> PlatformNoise {
    let mut gaps = new_histogram();
    let (mut stalls, mut stalled_ns) = (0, 0);
    let spin_ns = u64::try_from(spin.as_nanos()).unwrap_or(u64::MAX);
    let start = Instant::now();
    let mut previous = nanos_since(start);
    while previous < spin_ns {
        let now = nanos_since(start);
        let gap = now - previous;
        gaps.saturating_record(gap.max(1));
        if gap >= STALL_NS {
            stalls += 1;
            stalled_ns += gap;
        }
        previous = now;
    }
    PlatformNoise { spun: start.elapsed(), gaps, stalls, stalled: Duration::from_nanos(stalled_ns) }
}
