//! How `serve` and `migrate` connect: `DB_SSL_MODE` (PostgreSQL's `sslmode`, added to the URL
//! unless the URL names one) and `DB_MAX_OPEN_CONNS` (the pool's size, default
//! [`POOL_CONNECTIONS_DEFAULT`]). A pure function over an environment lookup; the production
//! profile (`src/profile.rs`) decides which values it accepts.

use anyhow::{Context as _, ensure};

/// Connections in the pool when `DB_MAX_OPEN_CONNS` is not set.
pub const POOL_CONNECTIONS_DEFAULT: u32 = 8;
const POOL_CONNECTIONS_MAX: u32 = 1_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
}

impl DatabaseSettings {
    pub fn resolve(
        url: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<DatabaseSettings> {
        let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let max_connections = match set("DB_MAX_OPEN_CONNS") {
            Some(text) => {
                let count: u32 = text
                    .trim()
                    .parse()
                    .with_context(|| format!("DB_MAX_OPEN_CONNS {text:?} is not a count"))?;
                ensure!(
                    (1..=POOL_CONNECTIONS_MAX).contains(&count),
                    "DB_MAX_OPEN_CONNS must be 1..={POOL_CONNECTIONS_MAX}, got {count}"
                );
                count
            }
            None => POOL_CONNECTIONS_DEFAULT,
        };
        let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
        let url = match set("DB_SSL_MODE") {
            Some(mode) if postgres && !url.contains("sslmode=") => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}sslmode={}", mode.trim())
            }
            _ => url.to_owned(),
        };
        Ok(DatabaseSettings { url, max_connections })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(url: &str, env: &[(&str, &str)]) -> anyhow::Result<DatabaseSettings> {
        DatabaseSettings::resolve(url, |name| {
            env.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn defaults_leave_the_url_and_size_the_pool_at_eight() {
        let settings = resolve("postgres://root@127.0.0.1/test", &[]).unwrap();
        assert_eq!(settings.url, "postgres://root@127.0.0.1/test");
        assert_eq!(settings.max_connections, POOL_CONNECTIONS_DEFAULT);
    }

    #[test]
    fn the_ssl_mode_goes_into_a_postgres_url_unless_it_names_one() {
        let env = [("DB_SSL_MODE", "require"), ("DB_MAX_OPEN_CONNS", "32")];
        let settings = resolve("postgres://root@127.0.0.1/test", &env).unwrap();
        assert_eq!(settings.url, "postgres://root@127.0.0.1/test?sslmode=require");
        assert_eq!(settings.max_connections, 32);
        let with_query = resolve("postgres://h/test?application_name=x", &env).unwrap();
        assert_eq!(with_query.url, "postgres://h/test?application_name=x&sslmode=require");
        let named = resolve("postgres://h/test?sslmode=disable", &env).unwrap();
        assert_eq!(named.url, "postgres://h/test?sslmode=disable", "the URL's own choice wins");
        let sqlite = resolve("sqlite://data/exchange.db?mode=rwc", &env).unwrap();
        assert_eq!(sqlite.url, "sqlite://data/exchange.db?mode=rwc");
    }

    #[test]
    fn a_bad_pool_size_is_named() {
        for bad in ["0", "1001", "many"] {
            let error = resolve("postgres://h/test", &[("DB_MAX_OPEN_CONNS", bad)]).unwrap_err();
            assert!(error.to_string().contains("DB_MAX_OPEN_CONNS"), "{error}");
        }
    }
}
