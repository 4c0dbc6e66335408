//! warren: Coder's v2 Workspaces REST API in one binary on one SQLite file
//! (or a PostgreSQL database that several replicas share).
//!
//! `main.rs` only parses the command line; everything else is assembled here
//! so that tests can start the same server in-process on a loopback port.

pub mod api;
pub mod authz;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod gate;
pub mod http;
pub mod metrics;
pub mod query;
pub mod sdk;
#[cfg(test)]
mod testing;
pub mod watch;

use std::net::{SocketAddr, TcpListener};

use actix_service::{IntoServiceFactory, ServiceFactoryExt};
use actix_web::{middleware::from_fn, web, App as ActixApp};
use uuid::Uuid;

pub use config::Config;
pub use domain::{Location, MigrateError, TableReport};

/// `warren migrate`: copies the SQLite database `from` into the empty
/// PostgreSQL database `to`; `progress` hears of each verified table.
pub fn migrate(
    from: &std::path::Path,
    to: &str,
    progress: impl FnMut(&TableReport),
) -> Result<Vec<TableReport>, MigrateError> {
    domain::sqlite_to_postgres(from, to, progress)
}
use domain::Db;
use domain::{auth, lifecycle, organizations, provisioner, workspaces};
use http::csrf;

/// Shared state of a running server.
pub struct App {
    pub db: Db,
    /// The one source of "now".
    pub clock: clock::SharedClock,
    pub config: Config,
    pub version: String,
    pub deployment_id: String,
    pub access_url: String,
    pub login_limiter: auth::LoginLimiter,
    /// Every password hash and check, bounded.
    pub passwords: auth::Passwords,
    /// Uploads streaming at once, bounded.
    pub uploads: gate::Gate,
    /// Where uploads are spooled: beside the database, on its disk.
    pub spool_dir: std::path::PathBuf,
    pub csrf: csrf::Csrf,
    pub provisioner: provisioner::runner::Provisioner,
    /// The lifecycle executor, started with the server.
    pub lifecycle: std::sync::OnceLock<lifecycle::Executor>,
    pub auth_cache: auth::AuthCache,
    pub workspace_cache: std::sync::Arc<workspaces::RenderCache>,
    /// The watch hub, started with the server.
    pub hub: std::sync::OnceLock<actix::Addr<watch::Hub>>,
    /// Subscribers the hub holds (for leak checks and monitoring).
    pub watchers: std::sync::Arc<watch::Gauge>,
    /// When this server started, by its clock.
    pub started_at: sdk::Micros,
    /// Backups taken at once (one), and waiting.
    pub backups: gate::Gate,
    pub metrics: std::sync::Arc<metrics::Metrics>,
    /// Where `/metrics` listens, once it does (`--prometheus-enable`).
    pub metrics_address: std::sync::OnceLock<SocketAddr>,
}

impl App {
    pub fn now(&self) -> sdk::Micros {
        self.clock.now()
    }

    /// What renders of workspaces need, at the current time.
    pub fn render_ctx(&self) -> workspaces::RenderCtx {
        workspaces::RenderCtx {
            now: self.now(),
            inactive_timeout_us: self.inactive_timeout_us(),
            allow_renames: self.config.allow_workspace_renames,
        }
    }

    pub fn inactive_timeout_us(&self) -> i64 {
        self.config.agent_inactive_timeout.as_micros() as i64
    }

    /// Stops background work; the server has stopped taking requests.
    pub fn shutdown(&self) {
        if let Some(l) = self.lifecycle.get() {
            l.stop();
        }
        self.provisioner.stop();
        self.db.close();
        log::info!(
            "password checks run: {}; uploads accepted: {}",
            self.passwords.checks(),
            self.uploads.passed()
        );
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Open(#[from] domain::OpenError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot initialise the database {path}: {cause}")]
    Init { path: String, cause: String },
}

/// Uploads streaming at once; each holds a few chunks in memory.
const UPLOADS_AT_ONCE: usize = 4;
/// Uploads that may wait (without their bodies being read); more get 429.
const UPLOADS_QUEUE: usize = 8;

/// Opens the database and prepares everything a server needs, without
/// listening yet.
pub fn prepare(config: Config) -> Result<App, StartError> {
    prepare_with_clock(config, std::sync::Arc::new(clock::SystemClock))
}

/// [`prepare`] with a given clock (tests pass a [`clock::ManualClock`]).
pub fn prepare_with_clock(config: Config, clock: clock::SharedClock) -> Result<App, StartError> {
    let location = Location::parse(&config.db);
    let db = Db::connect(&location, config.db_max_connections)?;
    let now = clock.now();
    let shown = location.shown();
    let init = |e: error::ApiError| StartError::Init {
        path: shown.clone(),
        cause: e.describe(),
    };
    let (deployment_id, csrf_secret) = db
        .write_blocking(|conn| -> Result<_, error::ApiError> {
            organizations::ensure_default(conn, now)?;
            Ok((
                domain::setting(conn, "deployment_id", || Uuid::new_v4().to_string())?,
                domain::setting(conn, csrf::SECRET_SETTING, csrf::Csrf::new_secret)?,
            ))
        })
        .map_err(init)?;
    let csrf = csrf::Csrf::new(&csrf_secret).map_err(|e| StartError::Init {
        path: shown.clone(),
        cause: format!("the stored CSRF secret is not valid: {e}"),
    })?;
    let orphaned = db
        .write_blocking(|conn| domain::jobs::fail_orphaned(conn, db.replica_id(), now))
        .map_err(init)?;
    if orphaned > 0 {
        log::warn!("failed {orphaned} provisioner job(s) left running by a previous run");
    }
    let metrics = std::sync::Arc::new(metrics::Metrics::new().map_err(|e| StartError::Init {
        path: config.db.display().to_string(),
        cause: format!("metrics: {e}"),
    })?);
    let waits = metrics.clone();
    db.pool_stats().observe(std::sync::Arc::new(move |d| {
        waits.pool_wait.observe(d.as_secs_f64())
    }));
    let provisioner = provisioner::runner::Provisioner::start(
        db.clone(),
        clock.clone(),
        config.provisioner_delay,
    );
    let jobs = metrics.clone();
    provisioner.observe(std::sync::Arc::new(move |job| {
        jobs.job_duration
            .with_label_values(&[job.provisioner, job.job_type, job.status])
            .observe(job.took.as_secs_f64());
    }));
    let version = config.version();
    let access_url = config
        .access_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.address));
    Ok(App {
        clock,
        login_limiter: auth::LoginLimiter::new(config.login_rate_limit),
        passwords: auth::Passwords::default(),
        uploads: gate::Gate::new("uploads", UPLOADS_AT_ONCE, UPLOADS_QUEUE),
        // Beside the SQLite file (same file system); a PostgreSQL
        // replica has no database directory and spools to the temporary one.
        spool_dir: match location {
            Location::Sqlite(path) => match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => std::path::PathBuf::from("."),
            },
            Location::Postgres(_) => std::env::temp_dir(),
        },
        csrf,
        provisioner,
        lifecycle: std::sync::OnceLock::new(),
        auth_cache: auth::AuthCache::default(),
        workspace_cache: Default::default(),
        hub: std::sync::OnceLock::new(),
        watchers: Default::default(),
        started_at: now,
        backups: gate::Gate::new("backups", 1, 1),
        metrics,
        metrics_address: std::sync::OnceLock::new(),
        db,
        config,
        version,
        deployment_id,
        access_url,
    })
}

/// Whether first-user setup is still pending.
pub fn first_user_pending(app: &App) -> bool {
    app.db
        .read_blocking(domain::users::setup_pending)
        .unwrap_or(false)
}

/// Builds the HTTP server on an already bound listener. Must run inside the
/// actix system that will serve (it starts the watch hub there).
pub fn serve(
    app: web::Data<App>,
    listener: TcpListener,
) -> std::io::Result<actix_web::dev::Server> {
    use actix::Actor;
    let clock_app = app.clone();
    let hub = watch::Hub::new(app.watchers.clone())
        .with_clock(Box::new(move |ids| {
            clock_app.workspace_cache.expired(ids, clock_app.now())
        }))
        .with_metrics(app.metrics.clone())
        .start();
    watch::listen(&app.db, hub.clone());
    let metrics_listener = if app.config.prometheus_enable {
        let address = &app.config.prometheus_address;
        let l = TcpListener::bind(address).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {address} for metrics: {e}"),
            )
        })?;
        let _ = app.metrics_address.set(l.local_addr()?);
        Some(l)
    } else {
        None
    };
    let _ = app.hub.set(hub);
    let tick_app = app.clone();
    let _ = app.lifecycle.set(lifecycle::Executor::start(
        app.config.autobuild_poll_interval,
        move || {
            tick_app.lifecycle_tick();
        },
    ));
    // actix-web's `HttpServer`, assembled by hand so that every connection
    // passes through the head guard (see `head_guard`): actix answers heads
    // it refuses without a body, Coder's clients expect one.
    let mut builder = actix_server::Server::build();
    let graceful = builder.graceful_shutdown_signal();
    let local = listener.local_addr()?;
    if let Some(l) = metrics_listener {
        let metrics_app = app.clone();
        builder = builder.listen("metrics", l, move || {
            actix_http::HttpService::build()
                .h1(actix_service::map_config(
                    api::operations::metrics_app(metrics_app.clone())
                        .into_factory()
                        .map_err(|e: actix_web::Error| e.error_response()),
                    |_| actix_web::dev::AppConfig::default(),
                ))
                .tcp()
        })?;
    }
    let server = builder
        .listen("warren", listener, move || {
            let app = app.clone();
            let graceful = graceful.clone();
            let version = app.version.clone();
            let upgrade_app = app.clone();
            let http = actix_http::HttpService::build()
                .graceful_shutdown_signal(move || {
                    let graceful = graceful.clone();
                    async move { graceful.notified().await }
                })
                .keep_alive(actix_http::KeepAlive::default())
                // The guard times request heads and answers with a body.
                .client_request_timeout(std::time::Duration::ZERO)
                .client_disconnect_timeout(std::time::Duration::from_secs(1))
                .local_addr(local)
                // WebSockets go through the same application, on a
                // connection without the dispatcher's buffers (see
                // `upgrade`).
                .upgrade(actix_service::fn_factory(move || {
                    let factory = actix_service::map_config(
                        app_factory(upgrade_app.clone())
                            .into_factory()
                            .map_err(|e: actix_web::Error| e.error_response()),
                        |_| actix_web::dev::AppConfig::default(),
                    );
                    async move {
                        use actix_service::ServiceFactory;
                        let app = std::rc::Rc::new(factory.new_service(()).await?);
                        Ok::<_, ()>(actix_service::fn_service(move |(req, framed)| {
                            let app = app.clone();
                            async move {
                                http::upgrade::serve(app, req, framed).await;
                                Ok::<_, actix_web::Error>(())
                            }
                        }))
                    }
                }))
                .h1(actix_service::map_config(
                    app_factory(app)
                        .into_factory()
                        .map_err(|e: actix_web::Error| e.error_response()),
                    |_| actix_web::dev::AppConfig::default(),
                ));
            actix_service::fn_service(move |io: actix_web::rt::net::TcpStream| {
                let peer = io.peer_addr().ok();
                let guarded = http::head_guard::HeadGuard::new(io, version.clone());
                async move { Ok::<_, actix_http::error::DispatchError>((guarded, peer)) }
            })
            .and_then(http)
        })?
        .shutdown_timeout(10)
        // Signals are handled by `run_until_signal`, which ends watch streams
        // first so that a graceful stop need not wait for them.
        .disable_signals();
    Ok(server.run())
}

/// The application: routes, shared state and the request middleware.
fn app_factory(
    app: web::Data<App>,
) -> ActixApp<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    ActixApp::new()
        .app_data(app)
        .app_data(web::PathConfig::default().error_handler(|e, _| {
            error::ApiError::bad_request("Invalid path parameter.")
                .detail(e.to_string())
                .into()
        }))
        // Outermost last: the request middleware logs and stamps CSRF
        // refusals too.
        .wrap(from_fn(csrf::middleware))
        .wrap(from_fn(http::middleware))
        .configure(api::routes)
        .default_service(web::to(http::route_not_found))
}

impl App {
    /// Runs one tick of the lifecycle executor now, on the calling thread
    /// (the executor's own thread calls it every interval; tests call it
    /// after moving the clock).
    pub fn lifecycle_tick(&self) -> Vec<lifecycle::Action> {
        match lifecycle::tick(&self.db, self.now()) {
            Ok(actions) => {
                if !actions.is_empty() {
                    self.provisioner.wake();
                }
                for a in &actions {
                    self.metrics
                        .lifecycle_actions
                        .with_label_values(&[a.what, a.reason])
                        .inc();
                }
                actions
            }
            Err(e) => {
                log::error!("lifecycle tick: {e}");
                Vec::new()
            }
        }
    }

    /// Ends every open watch stream.
    pub fn close_watchers(&self) {
        if let Some(hub) = self.hub.get() {
            hub.do_send(watch::CloseAll);
        }
    }
}

/// Makes SIGINT and SIGTERM stop the server gracefully: watch streams are
/// ended, in-flight requests finish. The handlers are in place when this
/// returns, so a signal sent once the server has said it listens is never
/// met by the default action. Must run inside the server's actix system.
pub fn stop_on_signal(app: web::Data<App>, server: &actix_web::dev::Server) -> std::io::Result<()> {
    let handle = server.handle();
    #[cfg(unix)]
    let (mut int, mut term) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    actix_web::rt::spawn(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        log::info!("stopping: ending watch streams, finishing in-flight requests");
        app.close_watchers();
        handle.stop(true).await;
    });
    Ok(())
}

/// Runs a server until SIGINT or SIGTERM, then stops it gracefully.
pub async fn run_until_signal(
    app: web::Data<App>,
    server: actix_web::dev::Server,
) -> std::io::Result<()> {
    stop_on_signal(app, &server)?;
    server.await
}

/// A server running on its own thread, for tests and embedding.
pub struct Running {
    pub address: SocketAddr,
    pub app: web::Data<App>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// Stops the server gracefully and closes the database.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(t) = self.thread.take() {
            self.app.close_watchers();
            let handle = self.handle.clone();
            let _ = std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(handle.stop(true));
            })
            .join();
            let _ = t.join();
            self.app.shutdown();
            // The workers' threads drop their handles on the application a
            // moment after the server stops; the last one closes the
            // database, and a stopped server must leave its file alone.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while std::sync::Arc::strong_count(&self.app) > 1
                && std::time::Instant::now() < deadline
            {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts a server on `config.address` (port 0 picks a free port) on a
/// background thread and returns once it accepts connections.
pub fn start(config: Config) -> Result<Running, StartError> {
    start_with_clock(config, std::sync::Arc::new(clock::SystemClock))
}

/// [`start`] with a given clock.
pub fn start_with_clock(config: Config, clock: clock::SharedClock) -> Result<Running, StartError> {
    let address = config.address.clone();
    let listener = TcpListener::bind(&address).map_err(|source| StartError::Listen {
        address: address.clone(),
        source,
    })?;
    let local = listener.local_addr().map_err(|source| StartError::Listen {
        address: address.clone(),
        source,
    })?;
    let mut config = config;
    if config.access_url.is_none() {
        config.access_url = Some(format!("http://{local}"));
    }
    let app = web::Data::new(prepare_with_clock(config, clock)?);
    let (tx, rx) = std::sync::mpsc::channel();
    let thread_app = app.clone();
    let thread = std::thread::spawn(move || {
        let sys = actix_web::rt::System::new();
        sys.block_on(async move {
            match serve(thread_app, listener) {
                Ok(server) => {
                    let _ = tx.send(Ok(server.handle()));
                    let _ = server.await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
    });
    let handle = rx
        .recv()
        .map_err(|e| StartError::Listen {
            address: address.clone(),
            source: std::io::Error::other(e),
        })?
        .map_err(|source| StartError::Listen { address, source })?;
    Ok(Running {
        address: local,
        app,
        handle,
        thread: Some(thread),
    })
}
