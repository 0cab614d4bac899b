//! Running the HTTP server until ctrl-c or SIGTERM, letting in-flight requests finish.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::error::ServerError;
use crate::routes;

/// A server started in the background (tests and embedding).
pub struct Running {
    pub addr: SocketAddr,
    pub app: App,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServerError>>,
    /// Housekeeping that lives as long as the server.
    background: Vec<JoinHandle<()>>,
}

impl Running {
    /// Graceful stop: stops accepting and lets in-flight requests finish, for at most
    /// `http.shutdown_grace_secs`; connections still open then are cut.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        for task in self.background.drain(..) {
            task.abort();
        }
        let grace = Duration::from_secs(self.app.config.http.shutdown_grace_secs);
        match tokio::time::timeout(grace, &mut self.task).await {
            Ok(joined) => joined.map_err(|e| ServerError::Io(std::io::Error::other(e)))?,
            Err(_) => {
                tracing::warn!(
                    ?grace,
                    "connections still open after the shutdown grace period; closing them"
                );
                self.task.abort();
                Ok(())
            }
        }
    }
}

/// Binds `app.config.listen` (port 0 picks a free port) and serves in a background task.
pub async fn start(app: App) -> Result<Running, ServerError> {
    let addr = app.config.listen;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: addr.to_string(),
            source,
        })?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = routes::router(app.clone());
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
        .map_err(ServerError::Io)
    });
    let background = vec![
        // Keys rotated by another replica (or `keys rotate`) are picked up within a minute.
        app.keys.spawn_reloader(Duration::from_secs(60)),
        tokio::spawn(purge_expired(app.clone())),
        tokio::spawn(crate::telemetry::upkeep()),
    ];
    Ok(Running {
        addr,
        app,
        stop: Some(stop),
        task,
        background,
    })
}

/// Deletes spent codes, expired refresh tokens, sessions and revocation records every ten
/// minutes. Every replica may do it: the deletes are idempotent.
async fn purge_expired(app: App) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        match app.idp.store().purge_expired(idp_core::model::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "purged expired grants"),
            Err(e) => tracing::warn!(error = %e, "purging expired grants failed"),
        }
    }
}

/// Serves until ctrl-c or SIGTERM.
pub async fn run(app: App) -> Result<(), ServerError> {
    // Take over SIGTERM and SIGINT *before* the port opens: a signal that arrives as soon as the
    // server answers must start a graceful stop, not kill the process.
    let shutdown = shutdown_signal()?;
    let running = start(app).await?;
    tracing::info!(addr = %running.addr, store = running.app.store_kind, "idp-server listening");
    if running.app.store_kind == "postgres" && running.app.config.redis_url.is_none() {
        // A shared database suggests several replicas; each would count failures and rate
        // limits on its own, multiplying the guesses an attacker gets by the replica count.
        tracing::warn!(
            "IDP_REDIS_URL is not set: lockout and rate-limit counters live in this process; \
             with more than one replica, set it so that they are shared"
        );
    }
    shutdown.await;
    tracing::info!("shutting down: finishing in-flight requests");
    running.stop().await
}

/// Registers the handlers now; the returned future completes on the first SIGTERM or SIGINT.
fn shutdown_signal() -> Result<impl Future<Output = ()>, ServerError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
