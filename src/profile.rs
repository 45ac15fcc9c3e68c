//! The deployment profile (`EXCHANGE_PROFILE`: `development`, the default, or `production`)
//! and what the production profile demands of the environment before `serve` may start: the
//! start-up checks of the operators' runbook (REQUIREMENTS.md, operations). `exchange serve`
//! refuses to start naming every setting at fault; `exchange check-config` prints them all.
//!
//! Pure: a function over an environment lookup, unit-tested without the process environment.

use std::fmt;

use crate::history::EVENT_REPLAY_COUNT_MAX;

/// The variable naming the profile.
pub const PROFILE_VARIABLE: &str = "EXCHANGE_PROFILE";
/// Shortest `AUTH_TOKEN_SECRET` the production profile takes.
pub const AUTH_TOKEN_SECRET_LEN_MIN: usize = 32;
/// Shortest `INTERNAL_TOKEN` and `ADMIN_TOKEN` the production profile takes.
pub const TOKEN_LEN_MIN: usize = 16;
/// Longest `AUTH_TOKEN_TTL` in seconds (one day).
pub const AUTH_TOKEN_TTL_S_MAX: u64 = 86_400;
/// Largest `DB_MAX_OPEN_CONNS`.
pub const DB_MAX_OPEN_CONNS_MAX: u64 = 1_000;
/// SSL modes that encrypt the database connection (libpq's names).
const DB_SSL_MODES: [&str; 3] = ["require", "verify-ca", "verify-full"];
/// Values shipped in examples, docs and tests: never a production secret. Compared without
/// case.
const KNOWN_DEFAULTS: [&str; 12] = [
    "changeme",
    "change-me",
    "default",
    "secret",
    "password",
    "token",
    "admin",
    "internal",
    "test",
    "test-admin-token",
    "internal-token",
    "admin-token",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    Development,
    Production,
}

impl Profile {
    /// `EXCHANGE_PROFILE`, default development; anything else is a problem naming it.
    pub fn resolve(lookup: &impl Fn(&str) -> Option<String>) -> Result<Profile, Problem> {
        match lookup(PROFILE_VARIABLE).as_deref().map(str::trim) {
            None | Some("" | "development") => Ok(Profile::Development),
            Some("production") => Ok(Profile::Production),
            Some(other) => Err(Problem::new(
                PROFILE_VARIABLE,
                format!("is {other:?}; expected development or production"),
            )),
        }
    }
}

/// One setting at fault and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub setting: &'static str,
    pub reason: String,
}

impl Problem {
    fn new(setting: &'static str, reason: impl Into<String>) -> Problem {
        Problem { setting, reason: reason.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} {}", self.setting, self.reason)
    }
}

/// Every problem of the environment `lookup` for its profile (none in development).
pub fn problems(lookup: impl Fn(&str) -> Option<String>) -> Vec<Problem> {
    match Profile::resolve(&lookup) {
        Err(problem) => vec![problem],
        Ok(Profile::Development) => Vec::new(),
        Ok(Profile::Production) => production_problems(&lookup),
    }
}

/// A setting's rule: `Err(why)` when its value breaks it.
type Check = fn(&str) -> Result<(), String>;

fn production_problems(lookup: &impl Fn(&str) -> Option<String>) -> Vec<Problem> {
    let set =
        |name: &str| lookup(name).map(|value| value.trim().to_owned()).filter(|v| !v.is_empty());
    let checks: [(&'static str, Check); 7] = [
        ("INTERNAL_TOKEN", |value| secret(value, TOKEN_LEN_MIN)),
        ("AUTH_TOKEN_SECRET", |value| secret(value, AUTH_TOKEN_SECRET_LEN_MIN)),
        ("AUTH_TOKEN_TTL", |value| whole_in(value, 1, AUTH_TOKEN_TTL_S_MAX, "a number of seconds")),
        ("ADMIN_TOKEN", |value| secret(value, TOKEN_LEN_MIN)),
        ("EVENT_REPLAY_COUNT", |value| {
            let max = u64::try_from(EVENT_REPLAY_COUNT_MAX).unwrap_or(u64::MAX);
            whole_in(value, 1, max, "a count")
        }),
        ("DB_SSL_MODE", |value| {
            if DB_SSL_MODES.contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "is {value:?}; the production profile needs require (or verify-ca, verify-full)"
                ))
            }
        }),
        ("DB_MAX_OPEN_CONNS", |value| whole_in(value, 1, DB_MAX_OPEN_CONNS_MAX, "a count")),
    ];
    checks
        .into_iter()
        .filter_map(|(setting, check)| {
            let reason = match set(setting) {
                None => Err("is not set (required by the production profile)".to_owned()),
                Some(value) => check(&value),
            };
            reason.err().map(|reason| Problem::new(setting, reason))
        })
        .collect()
}

/// A secret: not a known default, at least `len_min` characters (the value is never echoed).
fn secret(value: &str, len_min: usize) -> Result<(), String> {
    if KNOWN_DEFAULTS.iter().any(|known| known.eq_ignore_ascii_case(value)) {
        return Err("is a default value; set a generated secret".to_owned());
    }
    let len = value.chars().count();
    if len < len_min {
        return Err(format!("is {len} characters; at least {len_min} are required"));
    }
    Ok(())
}

fn whole_in(value: &str, min: u64, max: u64, what: &str) -> Result<(), String> {
    match value.parse::<u64>() {
        Ok(number) if (min..=max).contains(&number) => Ok(()),
        _ => Err(format!("is {value:?}; expected {what} from {min} to {max}")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rstest::rstest;

    use super::*;

    const GOOD: [(&str, &str); 8] = [
        ("EXCHANGE_PROFILE", "production"),
        ("INTERNAL_TOKEN", "a1b2c3d4e5f6g7h8i9"),
        ("AUTH_TOKEN_SECRET", "0123456789abcdef0123456789abcdef"),
        ("AUTH_TOKEN_TTL", "900"),
        ("ADMIN_TOKEN", "z9y8x7w6v5u4t3s2r1"),
        ("EVENT_REPLAY_COUNT", "1000"),
        ("DB_SSL_MODE", "require"),
        ("DB_MAX_OPEN_CONNS", "32"),
    ];

    fn problems_with(changes: &[(&str, Option<&str>)]) -> Vec<Problem> {
        let mut env: BTreeMap<&str, &str> = GOOD.into_iter().collect();
        for (name, value) in changes {
            match value {
                Some(value) => env.insert(name, value),
                None => env.remove(name),
            };
        }
        problems(|name| env.get(name).map(|value| (*value).to_owned()))
    }

    #[test]
    fn a_complete_production_environment_and_development_have_no_problems() {
        assert_eq!(problems_with(&[]), Vec::new());
        assert_eq!(problems(|_| None), Vec::new());
    }

    #[rstest]
    #[case::short_secret(
        "AUTH_TOKEN_SECRET",
        Some("0123456789abcdef0123456789abcde"),
        "31 characters"
    )]
    #[case::default_admin("ADMIN_TOKEN", Some("test-admin-token"), "default value")]
    #[case::default_internal("INTERNAL_TOKEN", Some("CHANGEME"), "default value")]
    #[case::no_internal("INTERNAL_TOKEN", None, "not set")]
    #[case::ttl_zero("AUTH_TOKEN_TTL", Some("0"), "seconds from 1")]
    #[case::ttl_words("AUTH_TOKEN_TTL", Some("15m"), "seconds")]
    #[case::replay_too_many("EVENT_REPLAY_COUNT", Some("10001"), "count from 1 to 10000")]
    #[case::ssl_off("DB_SSL_MODE", Some("disable"), "needs require")]
    #[case::no_ssl("DB_SSL_MODE", None, "not set")]
    #[case::conns_zero("DB_MAX_OPEN_CONNS", Some("0"), "count from 1")]
    fn each_bad_setting_is_named(
        #[case] setting: &str,
        #[case] value: Option<&str>,
        #[case] reason: &str,
    ) {
        let found = problems_with(&[(setting, value)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].setting, setting);
        assert!(found[0].to_string().contains(reason), "{}", found[0]);
    }

    #[test]
    fn every_problem_is_listed_at_once_and_secrets_are_not_echoed() {
        let found = problems_with(&[
            ("ADMIN_TOKEN", Some("admin")),
            ("AUTH_TOKEN_SECRET", Some("short-secret-value")),
            ("DB_MAX_OPEN_CONNS", None),
        ]);
        let names: Vec<&str> = found.iter().map(|problem| problem.setting).collect();
        assert_eq!(names, ["AUTH_TOKEN_SECRET", "ADMIN_TOKEN", "DB_MAX_OPEN_CONNS"]);
        assert!(found.iter().all(|problem| !problem.to_string().contains("short-secret-value")));
    }

    #[test]
    fn an_unknown_profile_is_a_problem() {
        let found = problems(|name| (name == PROFILE_VARIABLE).then(|| "prod".to_owned()));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].setting, PROFILE_VARIABLE);
    }
}
