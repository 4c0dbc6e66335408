//! Prometheus metrics: off unless enabled; when on, `/metrics` (on its own
//! listener) parses as Prometheus' text format and its counters move with
//! what the server does.

use std::time::Duration;

use openmetrics_parser::{MetricsExposition, PrometheusType, PrometheusValue};
use serde_json::json;

use crate::common::*;

struct Scrape(MetricsExposition<PrometheusType, PrometheusValue>);

impl Scrape {
    /// Samples of `family` whose labels include `labels`.
    fn samples(&self, family: &str, labels: &[(&str, &str)]) -> Vec<&PrometheusValue> {
        let Some(f) = self.0.families.get(family) else {
            panic!("no metric family {family}")
        };
        f.iter_samples()
            .filter(|s| {
                let set = s.get_labelset().unwrap();
                labels
                    .iter()
                    .all(|(k, v)| set.get_label_value(k) == Some(*v))
            })
            .map(|s| &s.value)
            .collect()
    }

    /// The sum of the counters or gauges of `family` with `labels`.
    fn value(&self, family: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples(family, labels)
            .into_iter()
            .map(|v| match v {
                PrometheusValue::Counter(c) => c.value.as_f64(),
                PrometheusValue::Gauge(g) | PrometheusValue::Unknown(g) => g.as_f64(),
                other => panic!("{family} is not a counter or gauge: {other:?}"),
            })
            .sum()
    }

    /// How many observations the histograms of `family` with `labels` hold.
    fn count(&self, family: &str, labels: &[(&str, &str)]) -> u64 {
        self.samples(family, labels)
            .into_iter()
            .map(|v| match v {
                PrometheusValue::Histogram(h) => h.count.unwrap_or(0),
                other => panic!("{family} is not a histogram: {other:?}"),
            })
            .sum()
    }

    /// Every value of label `name` in `family`.
    fn label_values(&self, family: &str, name: &str) -> Vec<String> {
        self.0.families[family]
            .iter_samples()
            .filter_map(|s| {
                s.get_labelset()
                    .unwrap()
                    .get_label_value(name)
                    .map(str::to_string)
            })
            .collect()
    }
}

fn scrape(s: &Server) -> Scrape {
    let address = s.app().metrics_address.get().expect("metrics are enabled");
    let mut resp = ureq::get(&format!("http://{address}/metrics"))
        .call()
        .unwrap();
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = resp.body_mut().read_to_string().unwrap();
    Scrape(
        openmetrics_parser::prometheus::parse_prometheus(&text)
            .unwrap_or_else(|e| panic!("unparseable exposition ({e:?}):\n{text}")),
    )
}

fn with_metrics() -> Server {
    Server::start_with(|c| {
        c.prometheus_enable = true;
        c.prometheus_address = "127.0.0.1:0".into();
    })
}

#[test]
fn metrics_are_off_unless_enabled() {
    let s = Server::start();
    assert!(s.app().metrics_address.get().is_none());
    // Never on the API's own listener.
    s.anon("GET", "/metrics", None)
        .assert_error(404, "Route not found.");
    let s = with_metrics();
    s.anon("GET", "/metrics", None)
        .assert_error(404, "Route not found.");
}

const REQUESTS: &str = "coderd_api_requests_processed_total";
const LATENCY: &str = "coderd_api_request_latencies_seconds";

#[test]
fn metrics_parse_and_their_counters_move_with_requests() {
    let s = with_metrics();
    let o = s.setup();
    let before = scrape(&s);
    let buildinfo = [
        ("code", "200"),
        ("method", "GET"),
        ("path", "/api/v2/buildinfo"),
    ];
    let start = before.value(REQUESTS, &buildinfo);
    for _ in 0..3 {
        s.anon("GET", "/api/v2/buildinfo", None).ok(200);
    }
    s.get("/api/v2/users/me", &o.token).ok(200);
    s.get(&format!("/api/v2/users/{}", o.id), &o.token).ok(200);
    s.get("/api/v2/users/nobody-at-all", &o.token);
    s.anon("GET", "/api/v2/users/me", None);
    s.anon("GET", "/no/such/route", None);
    let after = scrape(&s);
    assert_eq!(after.value(REQUESTS, &buildinfo), start + 3.0);
    // Latency by route pattern, never by the raw path, and status class.
    let user = [("method", "GET"), ("path", "/api/v2/users/{user}")];
    assert_eq!(
        after.count(LATENCY, &[user[0], user[1], ("status", "2xx")]),
        2
    );
    assert_eq!(
        after.count(LATENCY, &[user[0], user[1], ("status", "4xx")]),
        2
    );
    let paths = after.label_values(LATENCY, "path");
    assert!(
        paths
            .iter()
            .all(|p| !p.contains(&o.id) && !p.contains("nobody") && !p.contains("/me")),
        "{paths:?}"
    );
    assert!(paths.contains(&"unmatched".to_string()), "{paths:?}");
    assert_eq!(
        after.value(
            REQUESTS,
            &[("code", "401"), ("path", "/api/v2/users/{user}")]
        ),
        1.0
    );
    // Nothing is in flight between requests (scrapes are not API requests).
    assert_eq!(after.value("coderd_api_concurrent_requests", &[]), 0.0);
    // Database pool waits are measured.
    assert!(
        after.count("warren_db_pool_wait_seconds", &[])
            > before.count("warren_db_pool_wait_seconds", &[])
    );
}

#[test]
fn watch_provisioner_and_lifecycle_metrics_move() {
    let s = with_metrics();
    let o = s.setup();
    let t = s.template(&o, "docker");
    let r = s.post(
        "/api/v2/users/me/workspaces",
        &o.token,
        json!({"template_id": t["id"], "name": "dev", "ttl_ms": 3_600_000}),
    );
    let id = r.ok(201)["id"].as_str().unwrap().to_string();
    s.wait_build(&o.token, &id);
    let m = scrape(&s);
    assert_eq!(
        m.value("warren_provisioner_jobs", &[("status", "succeeded")]),
        2.0
    );
    assert_eq!(
        m.value("warren_provisioner_jobs", &[("status", "pending")]),
        0.0
    );
    let jobs = "coderd_provisionerd_job_timings_seconds";
    assert_eq!(
        m.count(
            jobs,
            &[("type", "template_version_import"), ("status", "succeeded")]
        ),
        1
    );
    assert_eq!(
        m.count(
            jobs,
            &[
                ("type", "workspace_build"),
                ("status", "succeeded"),
                ("provisioner", "terraform")
            ]
        ),
        1
    );
    // A watch stream: a subscriber, and a change delivered to it.
    let mut sse = Sse::open(&s, &format!("/api/v2/workspaces/{id}/watch"), &o.token);
    assert!(sse.next_data(Duration::from_secs(5)).is_some());
    s.app()
        .watchers
        .wait_until(Duration::from_secs(5), |n| n == 1);
    let m = scrape(&s);
    assert_eq!(m.value("warren_watch_subscribers", &[]), 1.0);
    let delivered = m.value("warren_watch_deliveries_total", &[]);
    let latencies = m.count("warren_watch_update_latency_seconds", &[]);
    s.put(
        &format!("/api/v2/workspaces/{id}/favorite"),
        &o.token,
        json!({}),
    );
    // The stream has the change once the hub has delivered it.
    let (event, _) = sse.next_data(Duration::from_secs(5)).expect("an update");
    assert_eq!(event, "data");
    let m = scrape(&s);
    assert!(m.value("warren_watch_deliveries_total", &[]) > delivered);
    assert!(m.count("warren_watch_update_latency_seconds", &[]) > latencies);
    assert_eq!(m.value("warren_watch_resyncs_total", &[]), 0.0);
    drop(sse);
    // The lifecycle executor stops the workspace at its deadline.
    s.advance(Duration::from_secs(61 * 60));
    assert_eq!(s.tick().len(), 1);
    let m = scrape(&s);
    assert_eq!(
        m.value(
            "warren_lifecycle_actions_total",
            &[("action", "autostop"), ("reason", "deadline")]
        ),
        1.0
    );
    assert_eq!(
        m.value("warren_provisioner_jobs", &[("status", "succeeded")]),
        3.0
    );
}
