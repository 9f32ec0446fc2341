//! `zkinfer serve`: load the models, open the store, start the provers, listen.

use crate::node::Node;
use crate::server::{router, AppState};
use std::path::PathBuf;
use std::sync::Arc;

/// How a node runs.
pub struct ServeConfig {
    pub models: PathBuf,
    pub data: PathBuf,
    pub listen: String,
    /// The bearer token for mutating endpoints (none: open, for loopback use).
    pub token: Option<String>,
    /// Largest request body in bytes.
    pub max_body: usize,
    /// Prover threads.
    pub provers: usize,
    /// MSM/NTT backend: cpu, cuda or auto.
    pub backend: String,
    /// A Redis URL: prove on workers through a Redis Stream instead of in this process.
    pub queue: Option<String>,
}

/// Runs the node until SIGINT or SIGTERM; pending jobs stay in the store for the next start.
pub fn serve(cfg: ServeConfig) -> anyhow::Result<()> {
    std::fs::create_dir_all(&cfg.data)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", cfg.data.display()))?;
    let models = crate::models::load(&cfg.models, &cfg.backend)?;
    let store = crate::store::Store::open(&cfg.data)
        .map_err(|e| anyhow::anyhow!("cannot open the store in {}: {e}", cfg.data.display()))?;
    let key = crate::receipt::NodeKey::load_or_create(&cfg.data)?;
    let mut node = Node::new(models, store, key);
    if let Some(url) = &cfg.queue {
        node = node.with_queue(crate::queue::connect(url)?)?;
    }
    let node = Arc::new(node);
    if cfg.queue.is_some() {
        node.start_collector()?;
    } else {
        node.start_provers(cfg.provers.max(1));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&cfg.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.listen))?;
        // The first line a supervisor (or a test) reads: where the node listens.
        crate::worker::say(&format!(
            "zkinfer-node listening on http://{} (node key {}; models: {})",
            listener.local_addr()?,
            node.key.public_hex(),
            node.models.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
        let state = AppState {
            node,
            token: cfg.token.map(Arc::from),
        };
        axum::serve(listener, router(state, cfg.max_body))
            .with_graceful_shutdown(shutdown())
            .await?;
        Ok(())
    })
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
