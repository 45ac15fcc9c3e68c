# The exchange server image: a release build in the Rust image, run from a slim Debian image
# as a non-root user. Default: the embedded profile (SQLite under the /var/lib/exchange
# volume, in-process bus); set DATABASE_URL (postgres://...) and AMQP_URL for production.
#
#   docker build -t exchange .
#   docker run -p 8080:8080 -v exchange-data:/var/lib/exchange -e ADMIN_TOKEN=... exchange
#
# /metrics, /health and /ready are on the API port (8080).

FROM rust:1.95-slim-bookworm AS builder
WORKDIR /build
COPY . .
# --locked: exactly the dependency versions of Cargo.lock. The cache mounts keep the registry
# and the target directory between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked --bin exchange \
    && cp target/release/exchange /usr/local/bin/exchange

FROM debian:bookworm-slim
# ca-certificates: TLS to a managed PostgreSQL; curl: the HEALTHCHECK.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/exchange --create-home exchange
COPY --from=builder /usr/local/bin/exchange /usr/local/bin/exchange
COPY config /opt/exchange/config
WORKDIR /opt/exchange
ENV EXCHANGE_CONFIG=/opt/exchange/config/default.toml \
    EXCHANGE_LISTEN=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///var/lib/exchange/exchange.db?mode=rwc \
    RUST_LOG=info
VOLUME ["/var/lib/exchange"]
USER exchange
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/health || exit 1
ENTRYPOINT ["/usr/local/bin/exchange"]
CMD ["serve"]
