//! `exchange serve`'s HTTP front door: serves the [`HttpApp`] with actix-web on a bound
//! address until SIGINT/SIGTERM, every request through the rate limit.

use std::net::TcpListener;

use actix_web::{App, HttpServer};
use anyhow::Context as _;
use rand::Rng as _;
use rand::distributions::Alphanumeric;

use crate::app::HttpApp;

/// Where `serve` listens unless `EXCHANGE_LISTEN` says otherwise.
pub const LISTEN_DEFAULT: &str = "127.0.0.1:8080";
const ADMIN_TOKEN_LEN: usize = 40;

/// A random admin token for development runs.
pub fn generate_admin_token() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(ADMIN_TOKEN_LEN).map(char::from).collect()
}

/// Serves until the server stops (SIGINT/SIGTERM). Prints `listening on ADDR` once bound.
pub async fn serve_http(app: HttpApp, listen: &str) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen).with_context(|| format!("binding {listen}"))?;
    let address = listener.local_addr()?;
    let server = HttpServer::new(move || {
        let app = app.clone();
        App::new()
            .wrap(actix_web::middleware::from_fn(crate::api::rate_limit::limit_requests))
            .configure(move |config| app.configure(config))
    })
    .listen(listener)?
    .run();
    println!("listening on {address}");
    tracing::info!(%address, "HTTP API listening");
    server.await?;
    Ok(())
}
