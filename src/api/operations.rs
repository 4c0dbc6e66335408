//! Operating warren (warren extensions): readiness, diagnostics and the
//! backup download.

use std::io::Read;
use std::time::Duration;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use bytes::Bytes;

use crate::authz::Subject;
use crate::domain::heartbeat::Liveness;
use crate::domain::operations;
use crate::error::{ApiError, ApiResult};
use crate::{http, sdk, App};

/// How long readiness waits for the database to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Bytes read from a backup per chunk of the download.
const CHUNK: usize = 64 << 10;

/// The background workers by name, as readiness and diagnostics see them.
fn workers(app: &App) -> Vec<(&'static str, Liveness)> {
    let lifecycle = app
        .lifecycle
        .get()
        .map(|e| e.liveness())
        .unwrap_or(Liveness {
            running: false,
            silent_for: Duration::ZERO,
            limit: Duration::ZERO,
        });
    vec![
        ("provisioner", app.provisioner.liveness()),
        ("lifecycle", lifecycle),
    ]
}

/// `GET /readyz`: 200 when the database answers a query within a short
/// time and every background worker is alive; else 503 naming what is not.
pub async fn readyz(app: web::Data<App>) -> HttpResponse {
    let mut failing = Vec::new();
    let mut details = Vec::new();
    let db = app.db.clone();
    let probe = tokio::time::timeout(
        READY_TIMEOUT,
        web::block(move || operations::check_database(&db)),
    )
    .await;
    let database = match probe {
        Err(_) => Err(format!(
            "no answer within {} s",
            READY_TIMEOUT.as_secs_f64()
        )),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(answer)) => answer,
    };
    if let Err(e) = database {
        failing.push("database");
        details.push(format!("database: {e}"));
    }
    for (name, liveness) in workers(&app) {
        if let Some(problem) = liveness.problem() {
            failing.push(name);
            details.push(format!("{name} {problem}"));
        }
    }
    if failing.is_empty() {
        return HttpResponse::Ok().content_type("text/plain").body("OK");
    }
    let e = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("Not ready: {}.", failing.join(", ")),
    )
    .detail(details.join("; "));
    actix_web::ResponseError::error_response(&e)
}

/// `GET /api/v2/warren/diagnostics`: owners only.
pub async fn diagnostics(app: web::Data<App>, subject: Subject) -> ApiResult<HttpResponse> {
    let counts = app
        .db
        .read(move |tx| operations::counts(tx, &subject))
        .await?;
    let db = app.db.clone();
    let sizes = web::block(move || operations::file_sizes(&db))
        .await
        .map_err(ApiError::internal)??;
    let pool = app.db.pool_stats();
    let micros = |a: &std::sync::atomic::AtomicU64| {
        a.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6
    };
    let now = app.now();
    Ok(http::ok(&sdk::Diagnostics {
        version: app.version.clone(),
        deployment_id: app.deployment_id.clone(),
        started_at: sdk::Time(app.started_at),
        uptime_seconds: (now - app.started_at).max(0) / 1_000_000,
        database: sdk::DiagnosticsDatabase {
            engine: app.db.engine_name().into(),
            schema_version: crate::domain::SCHEMA_VERSION,
            size_bytes: sizes.database,
            wal_bytes: sizes.wal,
        },
        counts: sdk::DiagnosticsCounts {
            users: counts.users,
            organizations: counts.organizations,
            groups: counts.groups,
            templates: counts.templates,
            workspaces: counts.workspaces,
            provisioner_jobs: counts.provisioner_jobs,
        },
        watchers: app.watchers.get() as u64,
        pool: sdk::DiagnosticsPool {
            max_connections: app.db.pool_size(),
            acquisitions: pool.acquisitions.load(std::sync::atomic::Ordering::Relaxed),
            wait_seconds_total: micros(&pool.wait_micros),
            slowest_wait_seconds: micros(&pool.slowest_micros),
        },
        workers: workers(&app)
            .into_iter()
            .map(|(name, l)| {
                (
                    name.to_string(),
                    sdk::DiagnosticsWorker {
                        running: l.running,
                        seconds_since_heartbeat: l.silent_for.as_secs_f64(),
                        healthy: l.problem().is_none(),
                    },
                )
            })
            .collect(),
    }))
}

/// `POST /api/v2/warren/backup`: owners only; a consistent, verified copy
/// of the live database as a download. One backup runs at a time.
pub async fn backup(app: web::Data<App>, subject: Subject) -> ApiResult<HttpResponse> {
    operations::require_owner(&subject)?;
    let pass = app.backups.enter().await?;
    let db = app.db.clone();
    let dir = app.spool_dir.clone();
    let taken = web::block(move || operations::backup(&subject, &db, &dir))
        .await
        .map_err(ApiError::internal)??;
    let file = taken.file.reopen().map_err(ApiError::internal)?;
    let name = format!(
        "warren-{}.db",
        sdk::to_datetime(app.now()).format("%Y%m%dT%H%M%SZ")
    );
    let length = taken.summary.bytes;
    // The temporary file and the place in the gate live as long as the
    // download does.
    let state = (file, taken.file, pass);
    let stream = futures_util::stream::unfold(Some(state), |state| async move {
        let (mut file, tmp, pass) = state?;
        let read = web::block(move || {
            let mut buf = vec![0; CHUNK];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((file, buf))
        })
        .await;
        match read {
            Ok(Ok((file, buf))) if !buf.is_empty() => Some((
                Ok::<_, std::io::Error>(Bytes::from(buf)),
                Some((file, tmp, pass)),
            )),
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    });
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/vnd.sqlite3"))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((CACHE_CONTROL, "no-store"))
        .no_chunking(length)
        .streaming(stream))
}

/// The job statuses reported even when no job has them.
const JOB_STATUSES: &[&str] = &[
    "pending",
    "running",
    "succeeded",
    "failed",
    "canceling",
    "canceled",
];

/// The application on the metrics listener: `/metrics` alone.
pub fn metrics_app(
    app: web::Data<App>,
) -> actix_web::App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    actix_web::App::new()
        .app_data(app)
        .route("/metrics", web::get().to(metrics))
        .default_service(web::to(http::route_not_found))
}

/// `GET /metrics` (on its own listener): Prometheus' text format. Gauges
/// of what the database holds are read as the scrape asks.
async fn metrics(app: web::Data<App>) -> ApiResult<HttpResponse> {
    let m = &app.metrics;
    m.watch_subscribers.set(app.watchers.get() as i64);
    let jobs = app.db.read(operations::job_counts).await?;
    for status in JOB_STATUSES {
        m.jobs
            .with_label_values(&[status])
            .set(jobs.get(*status).copied().unwrap_or(0));
    }
    let text = m.render().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type(prometheus::TEXT_FORMAT)
        .body(text))
}
