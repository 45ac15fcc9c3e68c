//! `GET /health` (liveness: the process answers HTTP) and `GET /ready` (readiness: the
//! dependencies a trade needs answer now). A load balancer or orchestrator restarts on the
//! first and routes by the second.
//!
//! Readiness checks, each within [`CHECK_TIMEOUT`], run concurrently: the journal (a query on
//! the database), the bus (RabbitMQ: a connection opened and closed; in-process: always) and,
//! when the index oracle runs, its leader lock (Redis: a PING; in-process: always). A failed
//! check answers 503 naming what is down.

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::{HttpResponse, web};
use sea_orm::{ConnectionTrait, Statement};
use serde::Serialize;
use utoipa::ToSchema;

use crate::bus::BusProbe;
use crate::index::LockProbe;
use crate::store::Store;

/// Each readiness check answers within this, or counts as down.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What `/ready` checks.
#[derive(Clone, Debug)]
pub struct Readiness {
    store: Store,
    bus: BusProbe,
    lock: Option<LockProbe>,
}

/// `/health` and `/ready`'s answer.
#[derive(Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct HealthBody {
    /// `up` (`/health`), `ready` or `not_ready`.
    pub status: &'static str,
    /// Per dependency: `up`, or `down: why` (`/ready` only).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<&'static str, String>,
    /// The dependencies that are down (`/ready` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub down: Vec<&'static str>,
}

impl Readiness {
    pub fn new(store: Store, bus: BusProbe) -> Readiness {
        Readiness { store, bus, lock: None }
    }

    /// The same checks and the index oracle's leader lock.
    pub fn with_lock(self, lock: LockProbe) -> Readiness {
        Readiness { lock: Some(lock), ..self }
    }

    async fn journal(&self) -> Result<(), String> {
        let connection = self.store.connection();
        let query = Statement::from_string(connection.get_database_backend(), "SELECT 1");
        match tokio::time::timeout(CHECK_TIMEOUT, connection.query_one_raw(query)).await {
            Ok(Ok(Some(_row))) => Ok(()),
            Ok(Ok(None)) => Err("SELECT 1 returned no row".to_owned()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_elapsed) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
        }
    }

    /// Every check's outcome, by dependency.
    pub async fn check(&self) -> Vec<(&'static str, Result<(), String>)> {
        let lock = async {
            match &self.lock {
                Some(lock) => Some(lock.check(CHECK_TIMEOUT).await),
                None => None,
            }
        };
        let (journal, bus, lock) =
            tokio::join!(self.journal(), self.bus.check(CHECK_TIMEOUT), lock);
        let mut outcomes = vec![("journal", journal), ("bus", bus)];
        outcomes.extend(lock.map(|lock| ("lock", lock)));
        outcomes
    }
}

/// The `/ready` answer for `outcomes`: 200 when all are up, else 503 naming the ones down.
pub fn readiness_body(outcomes: Vec<(&'static str, Result<(), String>)>) -> (bool, HealthBody) {
    let down: Vec<&'static str> =
        outcomes.iter().filter(|(_, outcome)| outcome.is_err()).map(|(name, _)| *name).collect();
    let checks = outcomes
        .into_iter()
        .map(|(name, outcome)| {
            (name, outcome.map_or_else(|why| format!("down: {why}"), |()| "up".into()))
        })
        .collect();
    let ready = down.is_empty();
    let status = if ready { "ready" } else { "not_ready" };
    (ready, HealthBody { status, checks, down })
}

/// Liveness: the process serves HTTP.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses((status = 200, description = "The process is alive.", body = HealthBody,
        example = json!({"status": "up"})))
)]
pub async fn health() -> HttpResponse {
    let body = HealthBody { status: "up", checks: BTreeMap::new(), down: Vec::new() };
    HttpResponse::Ok().json(body)
}

/// Readiness: the journal, the bus and the index oracle's lock answer now.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "operations",
    responses(
        (status = 200, description = "Every dependency answers.", body = HealthBody,
            example = json!({"status": "ready", "checks": {"bus": "up", "journal": "up"}})),
        (status = 503, description = "Some dependency is down; `down` names it.", body = HealthBody,
            example = json!({"status": "not_ready", "checks": {"bus": "down: no answer within 2s",
                "journal": "up"}, "down": ["bus"]})),
    )
)]
pub async fn ready(readiness: web::Data<Readiness>) -> HttpResponse {
    let (ready, body) = readiness_body(readiness.check().await);
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_check_down_is_named_and_not_ready() {
        let (ready, body) =
            readiness_body(vec![("journal", Ok(())), ("bus", Err("refused".to_owned()))]);
        assert!(!ready);
        assert_eq!(body.status, "not_ready");
        assert_eq!(body.down, vec!["bus"]);
        assert_eq!(body.checks["bus"], "down: refused");
        assert_eq!(body.checks["journal"], "up");
    }

    #[test]
    fn all_up_is_ready() {
        let (ready, body) = readiness_body(vec![("journal", Ok(())), ("bus", Ok(()))]);
        assert!(ready);
        assert_eq!(body.status, "ready");
        assert!(body.down.is_empty());
    }
}
