//! The faults a chaos run injects, and the plan: how many of each (`kill9=2,rabbitmq=1`), in
//! an order shuffled by the run's seed so a failing run can be repeated.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Faults one run injects at most.
pub const FAULTS_MAX: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// `kill -9` of the exchange, then a restart on the same database and port.
    Kill9,
    /// `kill -9` of the RabbitMQ node, then a restart (needs the services).
    RabbitMq,
    /// PostgreSQL crashed (immediate stop) and started again (needs the services).
    Postgres,
    /// One book's actor stalled past the supervisor's heartbeat deadline.
    Stall,
    /// The index oracle's leader process paused (SIGSTOP) past its lease, then resumed.
    LeaderPause,
}

impl Fault {
    pub const ALL: [Fault; 5] =
        [Fault::Kill9, Fault::RabbitMq, Fault::Postgres, Fault::Stall, Fault::LeaderPause];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Kill9 => "kill9",
            Fault::RabbitMq => "rabbitmq",
            Fault::Postgres => "postgres",
            Fault::Stall => "stall",
            Fault::LeaderPause => "leader-pause",
        }
    }

    /// Whether it needs the private PostgreSQL and RabbitMQ (`--services`).
    pub fn needs_services(self) -> bool {
        matches!(self, Fault::RabbitMq | Fault::Postgres)
    }
}

/// `name=count,...` (names as [`Fault::name`]) as a list in an order shuffled by `seed`.
pub fn plan(text: &str, seed: u64) -> Result<Vec<Fault>, String> {
    let mut faults = Vec::new();
    for item in text.split(',').map(str::trim).filter(|item| !item.is_empty()) {
        let (name, count) = item.split_once('=').ok_or_else(|| format!("{item:?}: name=count"))?;
        let fault =
            Fault::ALL.into_iter().find(|fault| fault.name() == name.trim()).ok_or_else(|| {
                format!("unknown fault {name:?}: kill9, rabbitmq, postgres, stall, leader-pause")
            })?;
        let count: usize = count.trim().parse().map_err(|_| format!("{item:?}: a whole count"))?;
        faults.extend(std::iter::repeat_n(fault, count));
    }
    if faults.is_empty() || faults.len() > FAULTS_MAX {
        return Err(format!("{text:?}: between 1 and {FAULTS_MAX} faults"));
    }
    faults.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    Ok(faults)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_has_each_fault_as_often_as_asked_in_a_seeded_order() {
        let text = "kill9=20,rabbitmq=5,postgres=3,stall=5,leader-pause=5";
        let plan_a = plan(text, 1).unwrap();
        assert_eq!(plan_a.len(), 38);
        assert_eq!(plan_a.iter().filter(|fault| **fault == Fault::Kill9).count(), 20);
        assert_eq!(plan_a, plan(text, 1).unwrap(), "the same seed, the same order");
        assert_ne!(plan_a, plan(text, 2).unwrap());
        assert!(plan("kill9", 1).is_err());
        assert!(plan("reboot=1", 1).is_err());
        assert!(plan("kill9=0", 1).is_err());
        assert!(plan("kill9=201", 1).is_err());
    }
}
