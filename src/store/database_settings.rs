//! How `serve` and `migrate` connect: `DB_SSL_MODE` (PostgreSQL's `sslmode`, added to the URL
//! unless the URL names one) and `DB_MAX_OPEN_CONNS` (the pool's size, default
//! [`POOL_CONNECTIONS_DEFAULT`]). A pure function over an environment lookup; the production
//! profile (`src/profile.rs`) decides which values it accepts.
//!
//! A PostgreSQL server on this host (loopback or a Unix socket) is reached without TLS unless
//! `DB_SSL_MODE`, `PGSSLMODE` or the URL asks for it: the driver's default (`prefer`) would
//! encrypt loopback traffic whenever the server offers TLS, which protects nothing anyone who
//! can read loopback could not read anyway and cost about 1 ms of p99 on a `myTrades` page.

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
        let mode = match set("DB_SSL_MODE") {
            Some(mode) => Some(mode.trim().to_owned()),
            None if set("PGSSLMODE").is_none() && is_on_this_host(url) => {
                Some("disable".to_owned())
            }
            None => None,
        };
        let url = match mode {
            Some(mode) if postgres && !url.contains("sslmode=") => {
                let separator = if url.contains('?') { '&' } else { '?' };
                format!("{url}{separator}sslmode={mode}")
            }
            _ => url.to_owned(),
        };
        Ok(DatabaseSettings { url, max_connections })
    }
}

/// Whether a PostgreSQL `url` names a server on this host: a loopback address, `localhost`,
/// or a Unix socket (no host, or a `host=` that is a directory).
fn is_on_this_host(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://"))
    else {
        return false;
    };
    let (authority, query) = match rest.split_once('?') {
        Some((before, query)) => (before.split('/').next().unwrap_or(""), query),
        None => (rest.split('/').next().unwrap_or(""), ""),
    };
    if query.split('&').any(|pair| pair.starts_with("host=/") || pair.starts_with("host=%2F")) {
        return true;
    }
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    host.is_empty()
        || host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|address| address.is_loopback())
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
        let settings = resolve("postgres://root@db.internal:5432/test", &[]).unwrap();
        assert_eq!(settings.url, "postgres://root@db.internal:5432/test");
        assert_eq!(settings.max_connections, POOL_CONNECTIONS_DEFAULT);
    }

    #[rstest::rstest]
    #[case::ipv4_loopback("postgres://root@127.0.0.1/test", true)]
    #[case::other_loopback("postgresql://127.0.0.2:5433/test?application_name=x", true)]
    #[case::ipv6_loopback("postgres://u:p@[::1]:5432/test", true)]
    #[case::localhost("postgres://LOCALHOST/test", true)]
    #[case::default_socket("postgres:///test", true)]
    #[case::socket_directory("postgres://u@/test?host=/var/run/postgresql", true)]
    #[case::remote_name("postgres://u@db.internal/test", false)]
    #[case::remote_address("postgres://u@10.0.0.5:5432/test", false)]
    #[case::user_named_localhost("postgres://localhost@db.internal/test", false)]
    #[case::sqlite("sqlite://data/exchange.db?mode=rwc", false)]
    fn a_server_on_this_host_is_reached_without_tls_by_default(
        #[case] url: &str,
        #[case] local: bool,
    ) {
        let settings = resolve(url, &[]).unwrap();
        let disabled = settings.url.ends_with("sslmode=disable");
        assert_eq!(disabled, local, "{url} -> {}", settings.url);
        // Asked for explicitly, TLS is used whatever the host.
        let required = resolve(url, &[("DB_SSL_MODE", "require")]).unwrap();
        assert!(!required.url.contains("disable"), "{}", required.url);
        let by_libpq = resolve(url, &[("PGSSLMODE", "require")]).unwrap();
        assert_eq!(by_libpq.url, url, "PGSSLMODE is the driver's to read");
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
