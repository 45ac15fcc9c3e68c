//! Runs a workload against a server, open loop or closed loop, until its bound.
//!
//! Open loop (`Pace::PerSecond`): request `i` is due at `start + i / rate`, and its latency
//! runs from that due time, so a server that falls behind shows in the histogram as queueing
//! instead of slowing the sender (no coordinated omission). What is outstanding is bounded
//! ([`Pace::in_flight_max`]); when the bound is reached the sender waits, and the waiting
//! counts in the latency of the requests it delays.
//!
//! Closed loop (`Pace::FlatOut`): `concurrency` senders each send their next request when the
//! previous one is answered, as fast as the server answers; latency runs from the send.

// Rates are display figures, not money.
#![allow(clippy::float_arithmetic)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::client::{OpClient, Outcome};
use super::stats::Stats;
use super::workload::{Op, Workload};

/// How the requests are paced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// Open loop at this many requests per second, at most `in_flight_max` outstanding.
    PerSecond { rate: f64, in_flight_max: usize },
    /// Closed loop: `concurrency` requests outstanding at all times.
    FlatOut { concurrency: usize },
}

/// When a run stops: after `duration` or `requests_max` requests, whichever comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    pub duration: Duration,
    pub requests_max: u64,
}

/// A run's shared parts.
#[derive(Clone, Debug)]
pub struct Load {
    pub client: Arc<OpClient>,
    pub workload: Arc<Mutex<Workload>>,
    pub stats: Arc<Mutex<Stats>>,
}

impl Load {
    pub fn new(client: OpClient, workload: Workload) -> Load {
        Load {
            client: Arc::new(client),
            workload: Arc::new(Mutex::new(workload)),
            stats: Arc::default(),
        }
    }

    fn next_op(&self) -> Op {
        self.workload.lock().expect("workload lock").next_op()
    }

    /// Sends `op`, request number `index`, due at `due`; records the answer.
    async fn send(&self, op: Op, index: u64, due: Instant) {
        self.stats.lock().expect("stats lock").sent();
        let outcome = self.client.send(&op, index).await;
        let latency = due.elapsed();
        let transport = if self.client.over_ws(index) { "ws" } else { "rest" };
        let refusal = match &outcome {
            Outcome::Acked(answer) => {
                self.acknowledged(&op, answer);
                None
            }
            Outcome::Refused(code) => {
                self.workload.lock().expect("workload lock").refused(&op);
                Some(code.clone())
            }
        };
        self.stats.lock().expect("stats lock").answered(op.kind(), transport, latency, refusal);
    }

    fn acknowledged(&self, op: &Op, answer: &Value) {
        self.workload.lock().expect("workload lock").acknowledged(op, answer);
    }

    /// Runs until `bound` (or `stop` is set), printing a progress line each second when
    /// `progress`; answers the report (see [`Stats::report`]).
    pub async fn run(&self, pace: Pace, bound: Bound, progress: bool, stop: &AtomicBool) -> Value {
        let started = Instant::now();
        let done = Arc::new(AtomicBool::new(false));
        let progress_task =
            progress.then(|| tokio::spawn(self.clone().progress(started, done.clone())));
        match pace {
            Pace::PerSecond { rate, in_flight_max } => {
                self.open_loop(rate, in_flight_max, bound, started, stop).await;
            }
            Pace::FlatOut { concurrency } => {
                self.closed_loop(concurrency, bound, started, stop).await;
            }
        }
        // Before the progress task's last tick, which may come up to a second later.
        let report = self.stats.lock().expect("stats lock").report(started.elapsed());
        done.store(true, Ordering::Relaxed);
        if let Some(task) = progress_task {
            let _ended = task.await;
        }
        report
    }

    async fn open_loop(
        &self,
        rate: f64,
        in_flight_max: usize,
        bound: Bound,
        started: Instant,
        stop: &AtomicBool,
    ) {
        assert!(rate > 0.0 && in_flight_max > 0, "a positive rate and bound");
        let in_flight = Arc::new(tokio::sync::Semaphore::new(in_flight_max));
        let interval = Duration::from_secs_f64(1.0 / rate);
        let mut tasks = tokio::task::JoinSet::new();
        for index in 0..bound.requests_max {
            let due = started + interval.mul_f64(index as f64);
            if due - started >= bound.duration || stop.load(Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep_until(due).await;
            let permit = in_flight.clone().acquire_owned().await.expect("semaphore open");
            let (load, op) = (self.clone(), self.next_op());
            tasks.spawn(async move {
                load.send(op, index, due).await;
                drop(permit);
            });
            while tasks.try_join_next().is_some() {}
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn closed_loop(
        &self,
        concurrency: usize,
        bound: Bound,
        started: Instant,
        stop: &AtomicBool,
    ) {
        assert!(concurrency > 0, "one sender at least");
        let next_index = Arc::new(AtomicU64::new(0));
        let deadline = started + bound.duration;
        let stop_flag = Arc::new(AtomicBool::new(stop.load(Ordering::Relaxed)));
        let mut senders = tokio::task::JoinSet::new();
        for _ in 0..concurrency {
            let (load, next_index, stop_flag) =
                (self.clone(), next_index.clone(), stop_flag.clone());
            senders.spawn(async move {
                loop {
                    let index = next_index.fetch_add(1, Ordering::Relaxed);
                    if index >= bound.requests_max
                        || Instant::now() >= deadline
                        || stop_flag.load(Ordering::Relaxed)
                    {
                        break;
                    }
                    let op = load.next_op();
                    load.send(op, index, Instant::now()).await;
                }
            });
        }
        while !senders.is_empty() {
            tokio::select! {
                _ = senders.join_next() => {}
                () = tokio::time::sleep(Duration::from_millis(50)) => {
                    stop_flag.store(stop.load(Ordering::Relaxed), Ordering::Relaxed);
                }
            }
        }
    }

    /// A progress line on stderr every second until `done`.
    async fn progress(self, started: Instant, done: Arc<AtomicBool>) {
        let interval = Duration::from_secs(1);
        let mut acked_before = 0;
        let mut tick = tokio::time::interval_at(started + interval, interval);
        while !done.load(Ordering::Relaxed) {
            tick.tick().await;
            let stats = self.stats.lock().expect("stats lock");
            eprintln!("{}", stats.progress_line(started.elapsed(), acked_before, interval));
            acked_before = stats.acked;
        }
    }
}
