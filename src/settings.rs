//! How `exchange serve` reads the environment on top of the configuration file: where to
//! listen, which message bus and cache adapters were asked for, and the admin token.
//!
//! Resolved by a pure function over an environment lookup, so the rules are unit-tested
//! without touching the process environment. `DATABASE_URL` is read by the CLI (`--database-url`,
//! default a SQLite file under ./data).

use crate::bus::BusSettings;
use crate::bus::amqp::EXCHANGE_DEFAULT;

/// What `serve` runs with, beyond the configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeSettings {
    /// `EXCHANGE_LISTEN`, else the configuration's `[server] listen`.
    pub listen: String,
    /// `AMQP_URL` when set: events go through RabbitMQ instead of the in-process bus.
    pub amqp_url: Option<String>,
    /// `AMQP_EXCHANGE`, default [`EXCHANGE_DEFAULT`]: the topic exchange (and the prefix of
    /// the queues) used on the broker.
    pub amqp_exchange: String,
    /// `REDIS_URL` when set: the index oracle's leader lease and price channel live there.
    pub redis_url: Option<String>,
    /// `ADMIN_TOKEN`, or a generated one when unset or empty (development).
    pub admin_token: String,
    pub admin_token_generated: bool,
}

impl ServeSettings {
    /// The settings `lookup` (an environment) gives over the configuration's `listen`;
    /// `generate` makes an admin token.
    pub fn resolve(
        lookup: impl Fn(&str) -> Option<String>,
        listen: &str,
        generate: impl FnOnce() -> String,
    ) -> ServeSettings {
        let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let (admin_token, admin_token_generated) = match set("ADMIN_TOKEN") {
            Some(token) => (token, false),
            None => (generate(), true),
        };
        ServeSettings {
            listen: set("EXCHANGE_LISTEN").unwrap_or_else(|| listen.to_owned()),
            amqp_url: set("AMQP_URL"),
            amqp_exchange: set("AMQP_EXCHANGE").unwrap_or_else(|| EXCHANGE_DEFAULT.to_owned()),
            redis_url: set("REDIS_URL"),
            admin_token,
            admin_token_generated,
        }
    }

    /// The bus `AMQP_URL` asks for.
    pub fn bus(&self) -> BusSettings {
        match &self.amqp_url {
            Some(url) => {
                BusSettings::Amqp { url: url.clone(), exchange: self.amqp_exchange.clone() }
            }
            None => BusSettings::InProcess,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn resolve(pairs: &[(&str, &str)]) -> ServeSettings {
        let env: BTreeMap<String, String> =
            pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        ServeSettings::resolve(
            |name| env.get(name).cloned(),
            crate::server::LISTEN_DEFAULT,
            || "generated".to_owned(),
        )
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let settings = resolve(&[]);
        assert_eq!(settings.listen, "127.0.0.1:8080");
        assert_eq!((settings.amqp_url.as_deref(), settings.redis_url.as_deref()), (None, None));
        assert_eq!(settings.bus(), BusSettings::InProcess);
        assert_eq!(settings.admin_token, "generated");
        assert!(settings.admin_token_generated);
    }

    #[test]
    fn the_environment_overrides() {
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
        let amqp = BusSettings::Amqp {
            url: "amqp://user:secret@127.0.0.1:5672/%2f".to_owned(),
            exchange: EXCHANGE_DEFAULT.to_owned(),
        };
        assert_eq!(settings.bus(), amqp);
        assert_eq!(settings.redis_url.as_deref(), Some("redis://127.0.0.1:6379"));
    }

    #[test]
    fn the_configured_listen_address_applies_unless_the_environment_sets_one() {
        let generated = || "generated".to_owned();
        let unset = ServeSettings::resolve(|_| None, "127.0.0.1:9100", generated);
        assert_eq!(unset.listen, "127.0.0.1:9100");
        let set = |name: &str| (name == "EXCHANGE_LISTEN").then(|| "127.0.0.1:9200".to_owned());
        assert_eq!(
            ServeSettings::resolve(set, "127.0.0.1:9100", generated).listen,
            "127.0.0.1:9200"
        );
    }

    #[test]
    fn an_empty_admin_token_is_generated_not_accepted() {
        let settings = resolve(&[("ADMIN_TOKEN", "  ")]);
        assert_eq!(settings.admin_token, "generated");
    }
}
