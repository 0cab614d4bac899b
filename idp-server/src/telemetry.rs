//! Logs, traces and metrics.
//!
//! - Logs: human-readable text by default, JSON lines with `log_format = "json"`; level from
//!   `RUST_LOG` (default `info`).
//! - Traces: with `otlp_endpoint` set, every span (one per HTTP request, see `idp_http`) is
//!   exported over OTLP/HTTP protobuf by a batch exporter; [`Telemetry::shutdown`] flushes it.
//! - Metrics: one process-wide Prometheus recorder for the `metrics` facade, rendered at
//!   `GET /metrics` ([`render`]).

use std::sync::OnceLock;
use std::time::Duration;

use idp_config::LogFormat;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::error::ServerError;

/// What [`init`] set up that must be flushed before the process ends.
#[must_use = "call shutdown() so that buffered spans are exported"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered and stops the exporter (blocking, bounded by the
    /// exporter's timeout).
    pub fn shutdown(self) {
        if let Some(provider) = self.traces
            && let Err(e) = provider.shutdown()
        {
            eprintln!("warning: flushing traces failed: {e}");
        }
    }
}

/// Installs the log subscriber, with the OTLP layer when `otlp_endpoint` is set. A second call
/// (tests starting several servers in one process) keeps the first subscriber.
pub fn init(format: LogFormat, otlp_endpoint: Option<&str>) -> Result<Telemetry, ServerError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = vec![match format {
        LogFormat::Json => fmt.json().boxed(),
        LogFormat::Text => fmt.boxed(),
    }];
    let traces = otlp_endpoint.map(tracer_provider).transpose()?;
    if let Some(provider) = &traces {
        let tracer = provider.tracer(env!("CARGO_PKG_NAME"));
        layers.push(tracing_opentelemetry::layer().with_tracer(tracer).boxed());
    }
    let installed = tracing_subscriber::registry()
        .with(layers)
        .with(filter)
        .try_init()
        .is_ok();
    Ok(Telemetry {
        // Not installed: nothing would feed the exporter, so do not keep one.
        traces: traces.filter(|_| installed),
    })
}

/// A batch span exporter to `{endpoint}/v1/traces` (or `endpoint` itself when it already ends
/// so), OTLP over HTTP with protobuf bodies.
fn tracer_provider(endpoint: &str) -> Result<SdkTracerProvider, ServerError> {
    let base = endpoint.trim_end_matches('/');
    let url = if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| ServerError::Telemetry(format!("otlp_endpoint: {e}")))?;
    let resource = Resource::builder()
        .with_service_name(env!("CARGO_PKG_NAME"))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Latency buckets, seconds: from a cache hit (0.5 ms) to the request deadline.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide Prometheus recorder, installed on first use.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        // Only an empty bucket list is refused, and BUCKETS is not empty.
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
        }
        handle
    })
}

/// The text exposition of every series.
pub fn render() -> String {
    prometheus().render()
}

/// Drains histogram samples into their buckets now and then, so that memory stays bounded
/// between scrapes (or without any scraper).
pub async fn upkeep() {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        prometheus().run_upkeep();
    }
}
