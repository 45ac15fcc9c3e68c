//! How `exchange serve` reads the environment on top of the configuration file: where to
//! listen, which message bus and cache adapters were asked for, and the admin token.
//!
//! Resolved by a pure function over an environment lookup, so the rules are unit-tested
//! without touching the process environment. `DATABASE_URL` is read by the CLI (`--database-url`,
//! default a SQLite file under ./data).

use crate::server::LISTEN_DEFAULT;

/// What `serve` runs with, beyond the configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeSettings {
    /// `EXCHANGE_LISTEN`, default [`LISTEN_DEFAULT`].
    pub listen: String,
    /// `AMQP_URL` when set. No RabbitMQ adapter exists yet: the in-process bus is used.
    pub amqp_url: Option<String>,
    /// `REDIS_URL` when set. No Redis adapter exists yet: nothing is cached outside the process.
    pub redis_url: Option<String>,
    /// `ADMIN_TOKEN`, or a generated one when unset or empty (development).
    pub admin_token: String,
    pub admin_token_generated: bool,
}

impl ServeSettings {
    /// The settings `lookup` (an environment) gives; `generate` makes an admin token.
    pub fn resolve(
        lookup: impl Fn(&str) -> Option<String>,
        generate: impl FnOnce() -> String,
    ) -> ServeSettings {
        let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let (admin_token, admin_token_generated) = match set("ADMIN_TOKEN") {
            Some(token) => (token, false),
            None => (generate(), true),
        };
        ServeSettings {
            listen: set("EXCHANGE_LISTEN").unwrap_or_else(|| LISTEN_DEFAULT.to_owned()),
            amqp_url: set("AMQP_URL"),
            redis_url: set("REDIS_URL"),
            admin_token,
            admin_token_generated,
        }
    }

    /// What the operator must be told at start: adapters asked for that do not exist yet are
    /// not ignored silently.
    pub fn notices(&self) -> Vec<String> {
        let mut notices = Vec::new();
        if let Some(url) = &self.amqp_url {
            notices.push(format!(
                "AMQP_URL is set ({}) but the RabbitMQ adapter is not built yet: events use the \
                 in-process bus",
                crate::system::redact(url)
            ));
        }
        if let Some(url) = &self.redis_url {
            notices.push(format!(
                "REDIS_URL is set ({}) but the Redis adapter is not built yet: nothing is cached \
                 outside this process",
                crate::system::redact(url)
            ));
        }
        notices
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn resolve(pairs: &[(&str, &str)]) -> ServeSettings {
        let env: BTreeMap<String, String> =
            pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        ServeSettings::resolve(|name| env.get(name).cloned(), || "generated".to_owned())
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let settings = resolve(&[]);
        assert_eq!(settings.listen, "127.0.0.1:8080");
        assert_eq!((settings.amqp_url.as_deref(), settings.redis_url.as_deref()), (None, None));
        assert_eq!(settings.admin_token, "generated");
        assert!(settings.admin_token_generated);
        assert!(settings.notices().is_empty());
    }

    #[test]
    fn the_environment_overrides_and_unbuilt_adapters_are_announced() {
        let settings = resolve(&[
            ("EXCHANGE_LISTEN", "0.0.0.0:9000"),
            ("ADMIN_TOKEN", "chosen"),
            ("AMQP_URL", "amqp://user:secret@127.0.0.1:5672/%2f"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
        ]);
        assert_eq!(settings.listen, "0.0.0.0:9000");
        assert_eq!(
            (settings.admin_token.as_str(), settings.admin_token_generated),
            ("chosen", false)
        );
        let notices = settings.notices();
        assert_eq!(notices.len(), 2);
        assert!(notices[0].contains("RabbitMQ adapter is not built yet"), "{notices:?}");
        assert!(!notices[0].contains("secret"), "the password is redacted: {notices:?}");
        assert!(notices[1].contains("Redis adapter is not built yet"), "{notices:?}");
    }

    #[test]
    fn an_empty_admin_token_is_generated_not_accepted() {
        let settings = resolve(&[("ADMIN_TOKEN", "  ")]);
        assert_eq!(settings.admin_token, "generated");
    }
}
