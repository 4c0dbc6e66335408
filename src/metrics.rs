//! Prometheus metrics of one server. Each server has its own registry (tests
//! run many in one process); they are always counted, and exposed at
//! `/metrics` on a listener of their own only when `--prometheus-enable`
//! asks for it, as Coder does. Names follow Coder's where Coder has the
//! same measure (`coderd_api_…`, `coderd_provisionerd_…`); warren's own
//! start with `warren_`.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Latency buckets in seconds, from a cached read to a slow build.
const LATENCY: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Buckets for waits that are normally near zero.
const WAITS: &[f64] = &[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];
/// Provisioner jobs take seconds to minutes.
const JOBS: &[f64] = &[0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0];

pub struct Metrics {
    registry: Registry,
    /// Requests by status code, method and route pattern.
    pub requests: IntCounterVec,
    /// Request latency by method, route pattern and status class (`2xx`).
    pub latency: HistogramVec,
    pub in_flight: IntGauge,
    /// Watch streams open (set when scraped).
    pub watch_subscribers: IntGauge,
    /// Changes handed to watch streams.
    pub watch_deliveries: IntCounter,
    /// Streams that fell behind and were told to resynchronise.
    pub watch_resyncs: IntCounter,
    /// From a change's commit to its note reaching a watch stream.
    pub watch_latency: Histogram,
    /// Provisioner jobs by status (set when scraped).
    pub jobs: IntGaugeVec,
    /// Duration of finished jobs by provisioner, type and final status.
    pub job_duration: HistogramVec,
    /// What the lifecycle executor did, and why.
    pub lifecycle_actions: IntCounterVec,
    /// Waits for a pooled database connection.
    pub pool_wait: Histogram,
}

/// A metric that cannot be made or registered is a programming error in
/// this file's fixed definitions; `Metrics::new` reports it.
type Made<T> = Result<T, prometheus::Error>;

fn histogram(name: &str, help: &str, buckets: &[f64]) -> HistogramOpts {
    HistogramOpts::new(name, help).buckets(buckets.to_vec())
}

impl Metrics {
    pub fn new() -> Made<Metrics> {
        let registry = Registry::new();
        let m = Metrics {
            requests: IntCounterVec::new(
                Opts::new(
                    "coderd_api_requests_processed_total",
                    "The total number of processed API requests.",
                ),
                &["code", "method", "path"],
            )?,
            latency: HistogramVec::new(
                histogram(
                    "coderd_api_request_latencies_seconds",
                    "Latency distribution of requests in seconds, by route pattern and status class.",
                    LATENCY,
                ),
                &["method", "path", "status"],
            )?,
            in_flight: IntGauge::new(
                "coderd_api_concurrent_requests",
                "The number of concurrent API requests.",
            )?,
            watch_subscribers: IntGauge::new(
                "warren_watch_subscribers",
                "Open workspace watch streams (SSE and WebSocket).",
            )?,
            watch_deliveries: IntCounter::new(
                "warren_watch_deliveries_total",
                "Workspace changes handed to watch streams.",
            )?,
            watch_resyncs: IntCounter::new(
                "warren_watch_resyncs_total",
                "Watch streams told to resynchronise after falling behind.",
            )?,
            watch_latency: Histogram::with_opts(histogram(
                "warren_watch_update_latency_seconds",
                "Time from a workspace change's commit to its note reaching a watch stream.",
                WAITS,
            ))?,
            jobs: IntGaugeVec::new(
                Opts::new("warren_provisioner_jobs", "Provisioner jobs by status."),
                &["status"],
            )?,
            job_duration: HistogramVec::new(
                histogram(
                    "coderd_provisionerd_job_timings_seconds",
                    "The provisioner job time duration in seconds.",
                    JOBS,
                ),
                &["provisioner", "type", "status"],
            )?,
            lifecycle_actions: IntCounterVec::new(
                Opts::new(
                    "warren_lifecycle_actions_total",
                    "Actions of the lifecycle executor by action and reason.",
                ),
                &["action", "reason"],
            )?,
            pool_wait: Histogram::with_opts(histogram(
                "warren_db_pool_wait_seconds",
                "Time spent waiting for a pooled database connection.",
                WAITS,
            ))?,
            registry,
        };
        m.registry.register(Box::new(m.requests.clone()))?;
        m.registry.register(Box::new(m.latency.clone()))?;
        m.registry.register(Box::new(m.in_flight.clone()))?;
        m.registry.register(Box::new(m.watch_subscribers.clone()))?;
        m.registry.register(Box::new(m.watch_deliveries.clone()))?;
        m.registry.register(Box::new(m.watch_resyncs.clone()))?;
        m.registry.register(Box::new(m.watch_latency.clone()))?;
        m.registry.register(Box::new(m.jobs.clone()))?;
        m.registry.register(Box::new(m.job_duration.clone()))?;
        m.registry.register(Box::new(m.lifecycle_actions.clone()))?;
        m.registry.register(Box::new(m.pool_wait.clone()))?;
        Ok(m)
    }

    /// Records one finished request.
    pub fn request(&self, method: &str, path: &str, status: u16, seconds: f64) {
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        // Any other method is one series, whatever a client invents.
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        };
        self.requests
            .with_label_values(&[&status.to_string(), method, path])
            .inc();
        self.latency
            .with_label_values(&[method, path, class])
            .observe(seconds);
    }

    /// The text exposition format.
    pub fn render(&self) -> Made<String> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

/// Counts a request in flight for as long as it lives (also when the client
/// goes away and the request is dropped).
pub struct InFlight(IntGauge);

impl InFlight {
    pub fn new(gauge: &IntGauge) -> InFlight {
        gauge.inc();
        InFlight(gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}
