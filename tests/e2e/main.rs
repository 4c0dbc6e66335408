//! End-to-end test of the bundled dashboard: the real warren server on a
//! temporary database, driven in headless Chromium through chromedriver
//! (W3C WebDriver, via `fantoccini`), the way a person would use it.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs
//! them); `CHROME` and `CHROMEDRIVER` may name other binaries. Without
//! them the test fails: it never passes without having driven a browser.
//!
//! Every wait is left to the browser: a script in the page re-checks its
//! condition whenever the DOM changes and answers once it holds, or when
//! its time limit passes; a failed wait saves a screenshot of the moment. Screenshots of
//! each screen go to `<target>/e2e-screens/`.

// Test code may panic on what it did not expect: that is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

const PASSWORD: &str = "SomeSecurePassword!";
const WAIT: Duration = Duration::from_secs(30);

/// The flags the lead asked for: no network of its own, nothing in the
/// background, a fresh profile per browser.
const CHROME_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn binary(var: &str, names: &[&str]) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        return PathBuf::from(p);
    }
    which(names).unwrap_or_else(|| {
        panic!(
            "the end-to-end test needs {} ({var} may name it). Install Debian's packages: \
             apt-get install -y chromium chromium-driver",
            names.join(" or ")
        )
    })
}

fn screens_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("e2e-screens");
    std::fs::create_dir_all(&dir).expect("screens dir");
    dir
}

/// chromedriver on a loopback port of its choosing, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver on port 0 and takes the port it announces once
    /// it is ready ("… started successfully on port N.").
    fn start() -> Driver {
        let exe = binary("CHROMEDRIVER", &["chromedriver"]);
        let mut child = Command::new(&exe)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", exe.display()));
        let stdout = child.stdout.take().expect("chromedriver stdout");
        let (ready, port) = std::sync::mpsc::channel();
        // Reads to the end, so that chromedriver never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let announced = line
                    .split_once("started successfully on port ")
                    .and_then(|(_, p)| p.trim_end_matches('.').parse::<u16>().ok());
                if let Some(p) = announced {
                    let _ = ready.send(p);
                }
            }
        });
        let port = port
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("chromedriver did not announce its port: {e}"));
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser (its own profile, so its own cookies) on the dashboard.
struct Browser {
    c: Client,
    who: &'static str,
    base: String,
    shots: PathBuf,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// `dark` asks Chromium for the dark color scheme.
    async fn open(driver: &Driver, base: &str, who: &'static str, dark: bool) -> Browser {
        let chrome = binary("CHROME", &["chromium", "chromium-browser", "google-chrome"]);
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args: Vec<String> = CHROME_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        if dark {
            args.push("--force-dark-mode".into());
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": chrome, "args": args}),
        );
        let c = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("Chromium session for {who}: {e}"));
        // Waiting scripts end themselves after WAIT, with a screenshot;
        // WebDriver's own limit must not cut them short.
        let mut timeouts = c.get_timeouts().await.expect("timeouts");
        timeouts.set_script(Some(WAIT * 2));
        c.update_timeouts(timeouts).await.expect("set timeouts");
        Browser {
            c,
            who,
            base: base.to_string(),
            shots: screens_dir(),
            _profile: profile,
        }
    }

    async fn goto(&self, hash: &str) {
        self.c
            .goto(&format!("{}/{hash}", self.base))
            .await
            .expect("goto");
    }

    async fn js(&self, script: &str) -> Value {
        self.c
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("[{}] script failed: {e}\n{script}", self.who))
    }

    async fn shot(&self, name: &str) {
        let png = self.c.screenshot().await.expect("screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Waits until `expr` (a JavaScript expression) is truthy and returns
    /// its value. The page does the waiting: it evaluates `expr` at once and
    /// again after every change of the DOM (and after transitions, hash
    /// changes and resizes), and gives up after [`WAIT`].
    async fn wait(&self, what: &str, expr: &str) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1];
             const check = () => {{ try {{ return ({expr}); }} catch (e) {{ return null; }} }};
             const events = ['transitionend', 'animationend', 'hashchange', 'resize'];
             let finished = false;
             const finish = (ok, value) => {{
                 if (finished) return;
                 finished = true;
                 observer.disconnect();
                 clearTimeout(timer);
                 for (const e of events) window.removeEventListener(e, recheck, true);
                 done({{ok, value: value === undefined ? null : value}});
             }};
             const recheck = () => {{ const v = check(); if (v) finish(true, v); }};
             const observer = new MutationObserver(recheck);
             observer.observe(document, {{subtree: true, childList: true, attributes: true, characterData: true}});
             for (const e of events) window.addEventListener(e, recheck, true);
             const timer = setTimeout(() => finish(false, null), {ms});
             recheck();",
            ms = WAIT.as_millis()
        );
        let start = Instant::now();
        let answer = loop {
            match self.c.execute_async(&script, vec![]).await {
                Ok(answer) => break answer,
                // A navigation ended the waiting page: wait in the new one.
                Err(e) if e.to_string().contains("unloaded") && start.elapsed() < WAIT => continue,
                Err(e) => panic!("[{}] waiting for {what} failed: {e}\n{expr}", self.who),
            }
        };
        if answer["ok"] == json!(true) {
            return answer["value"].clone();
        }
        let name = format!("timeout-{}-{}", self.who, what.replace(' ', "-"));
        self.shot(&name).await;
        let text = self.js("return document.body.innerText").await;
        panic!(
            "[{}] timed out waiting for {what} ({expr}); screenshot {name}.png; page text:\n{}",
            self.who,
            text.as_str().unwrap_or_default()
        );
    }

    /// Waits for an enabled element, scrolls it to the middle and clicks it.
    async fn click(&self, css: &str) {
        let sel = serde_json::to_string(css).unwrap();
        self.wait(
            &format!("clickable {css}"),
            &format!("(() => {{ const e = document.querySelector({sel}); if (!e || e.disabled || !e.getClientRects().length) return false; e.scrollIntoView({{block: 'center'}}); return true; }})()"),
        )
        .await;
        self.c
            .find(Locator::Css(css))
            .await
            .expect("element")
            .click()
            .await
            .unwrap_or_else(|e| panic!("[{}] click {css}: {e}", self.who));
    }

    async fn fill(&self, css: &str, text: &str) {
        let sel = serde_json::to_string(css).unwrap();
        self.wait(
            &format!("field {css}"),
            &format!("document.querySelector({sel})"),
        )
        .await;
        let el = self.c.find(Locator::Css(css)).await.expect("field");
        el.clear().await.expect("clear");
        el.send_keys(text).await.expect("type");
    }

    async fn select(&self, css: &str, value: &str) {
        let sel = serde_json::to_string(css).unwrap();
        let val = serde_json::to_string(value).unwrap();
        self.wait(
            &format!("option {value} of {css}"),
            &format!("[...(document.querySelector({sel}) || {{options: []}}).options].some(o => o.value === {val})"),
        )
        .await;
        self.c
            .find(Locator::Css(css))
            .await
            .expect("select")
            .select_by_value(value)
            .await
            .expect("select option");
    }

    async fn text(&self, css: &str) -> String {
        let sel = serde_json::to_string(css).unwrap();
        self.js(&format!(
            "const e = document.querySelector({sel}); return e ? e.innerText : ''"
        ))
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Answers a confirmation dialog, typing what it asks for.
    async fn confirm(&self, typed: Option<&str>) {
        self.wait("dialog", "document.querySelector('dialog[open]')")
            .await;
        if let Some(t) = typed {
            self.fill("dialog[open] input[name=confirm]", t).await;
        }
        self.click("dialog[open] button[type=submit]").await;
        self.wait("dialog closed", "!document.querySelector('dialog[open]')")
            .await;
    }

    /// A marker that survives only as long as the page is not reloaded.
    async fn mark(&self) {
        self.js("window.__e2eMarker = 'no reload'; return true")
            .await;
    }

    async fn assert_not_reloaded(&self) {
        assert_eq!(
            self.js("return window.__e2eMarker || null").await,
            json!("no reload"),
            "[{}] the page was reloaded",
            self.who
        );
    }

    /// Nothing sticks out sideways (a phone would have to scroll).
    async fn assert_fits_width(&self) {
        let wide = self
            .js("const w = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')].filter(e => { const r = e.getBoundingClientRect(); return r.width && r.right > w + 1 && !e.closest('.chart-scroll, .table-wrap, .log-scroll'); }).slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))")
            .await;
        assert_eq!(wide, json!([]), "[{}] wider than the window", self.who);
    }

    /// No content security policy violation was reported on the page.
    async fn assert_no_csp_violation(&self) {
        let banner = self.text("#banner").await;
        assert!(
            !banner.contains("content security policy"),
            "[{}] {banner}",
            self.who
        );
    }

    async fn sign_in(&self, email: &str) {
        self.fill("#login-title ~ .field input[name=email]", email)
            .await;
        self.fill("input[name=password]", PASSWORD).await;
        self.click("form button[type=submit]").await;
        self.wait("signed in", "document.querySelector('#me-username')")
            .await;
    }
}

fn row(name: &str) -> String {
    format!("#workspaces-rows tr[data-name=\"{name}\"]")
}

/// An empty database on the cluster `WARREN_TEST_POSTGRES` names, dropped
/// with this.
struct PgDb {
    admin: String,
    name: String,
    url: String,
}

impl PgDb {
    fn create() -> Option<PgDb> {
        let admin = std::env::var("WARREN_TEST_POSTGRES")
            .ok()
            .filter(|u| !u.is_empty())?;
        let name = format!("warren_e2e_{}", uuid::Uuid::new_v4().simple());
        let (a, n) = (admin.clone(), name.clone());
        std::thread::spawn(move || {
            postgres::Client::connect(&a, postgres::NoTls)
                .expect("test cluster")
                .batch_execute(&format!("CREATE DATABASE {n}"))
                .expect("create database")
        })
        .join()
        .unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        Some(PgDb { admin, name, url })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let (a, n) = (self.admin.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            if let Ok(mut c) = postgres::Client::connect(&a, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {n} WITH (FORCE)"));
            }
        })
        .join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_end_to_end() {
    let started = Instant::now();
    let db = tempfile::tempdir().expect("tempdir");
    let mut config = warren::Config::defaults();
    config.address = "127.0.0.1:0".into();
    config.db = db.path().join("warren.db");
    // Under tests/with-postgres, a database of its own on that cluster.
    let pg = PgDb::create();
    let on_postgres = pg.is_some();
    if let Some(pg) = &pg {
        config.db = pg.url.clone().into();
    }
    config.access_url = None;
    // Long enough to watch a build go by, short enough for a test.
    config.provisioner_delay = Duration::from_secs(3);
    // The blocking PostgreSQL driver runs a runtime of its own: not on
    // this test's.
    let server = std::thread::spawn(move || warren::start(config))
        .join()
        .unwrap()
        .expect("server starts");
    let base = server.url("");
    let driver = Driver::start();
    let admin = Browser::open(&driver, &base, "admin", false).await;

    // First-user setup.
    admin.goto("").await;
    admin
        .wait("setup form", "document.querySelector('#setup-title')")
        .await;
    admin.shot("01-setup").await;
    admin.fill("input[name=email]", "admin@example.com").await;
    admin.fill("input[name=username]", "admin").await;
    admin.fill("input[name=name]", "Ada Admin").await;
    admin.fill("input[name=password]", PASSWORD).await;
    admin.click("form button[type=submit]").await;
    admin
        .wait(
            "signed in as owner",
            "document.querySelector('#me-username')?.textContent === 'admin' && document.querySelector('.roles')?.textContent.includes('Owner')",
        )
        .await;
    admin.mark().await;
    admin
        .wait(
            "empty list",
            "document.querySelector('#workspaces-rows .empty') && document.querySelector('#live-state')?.textContent === 'Live'",
        )
        .await;
    admin.shot("02-workspaces-empty").await;

    // Upload the fixture template from its files.
    admin.click("#nav a[data-section=templates]").await;
    admin.click("#upload-template").await;
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/docker");
    let files = ["main.tf", "README.md"]
        .map(|f| fixture.join(f).display().to_string())
        .join("\n");
    admin
        .wait("upload form", "document.querySelector('#upload-files')")
        .await;
    admin
        .c
        .find(Locator::Css("#upload-files"))
        .await
        .expect("file input")
        .send_keys(&files)
        .await
        .expect("choose files");
    admin.fill("#upload-name", "docker").await;
    admin.fill("input[name=display_name]", "Docker").await;
    admin.click("#upload-submit").await;
    admin
        .wait(
            "import logs streaming",
            "Number(document.querySelector('#import-logs')?.dataset.count) > 0",
        )
        .await;
    admin
        .wait(
            "template created with its parameters",
            "document.querySelector('#import-params') && document.querySelector('#import-status').textContent.includes('Template Docker created')",
        )
        .await;
    let params = admin.text("#import-params").await;
    assert!(
        params.contains("Container image") && params.contains("CPU cores"),
        "{params}"
    );
    admin.shot("03-template-imported").await;

    // Create a second user from the Users page.
    admin.click("#nav a[data-section=users]").await;
    admin.click("#create-user summary").await;
    admin
        .fill("#create-user-form input[name=email]", "bob@example.com")
        .await;
    admin
        .fill("#create-user-form input[name=username]", "bob")
        .await;
    // The server's verdict on a weak password lands next to that field.
    admin
        .fill("#create-user-form input[name=password]", "short")
        .await;
    admin.click("#create-user-form button[type=submit]").await;
    let weak = admin
        .wait(
            "password validation",
            "document.querySelector('#create-user-form input[name=password]').closest('.field').querySelector('.field-error')?.textContent",
        )
        .await;
    assert!(!weak.as_str().unwrap().is_empty());
    assert!(admin
        .text("#create-user-form .form-error")
        .await
        .contains("Password is invalid"));
    admin
        .fill("#create-user-form input[name=password]", PASSWORD)
        .await;
    admin.click("#create-user-form button[type=submit]").await;
    admin
        .wait(
            "bob listed",
            "document.querySelector('#users-rows tr[data-user=bob]')",
        )
        .await;
    admin.shot("04-users").await;

    // Bob signs in in a second browser and watches all workspaces.
    let bob = Browser::open(&driver, &base, "bob", true).await;
    bob.goto("").await;
    bob.wait("login form", "document.querySelector('#login-title')")
        .await;
    bob.sign_in("bob@example.com").await;
    bob.mark().await;
    bob.click("#workspaces-presets button[data-q='']").await;
    bob.wait(
        "bob's empty list",
        "document.querySelector('#workspaces-rows .empty') && document.querySelector('#live-state')?.textContent === 'Live'",
    )
    .await;

    // Create a workspace with a parameter value and an autostop.
    admin.click("#nav a[data-section=workspaces]").await;
    admin.click("#new-workspace").await;
    admin
        .wait("parameters", "document.querySelector('#p-cpu')")
        .await;
    admin.fill("#create-name", "dev").await;
    // A value out of range is refused next to its field before submitting.
    admin.fill("#p-cpu", "12").await;
    admin.click("#create-submit").await;
    let problem = admin
        .wait(
            "cpu validation message",
            "document.querySelector('#p-cpu').closest('.field').querySelector('.field-error')?.textContent",
        )
        .await;
    assert_eq!(problem, json!("CPU must be between 1 and 8, got 12"));
    admin.fill("#p-cpu", "4").await;
    admin.fill("input[name=ttl_ms]", "2").await;
    admin.shot("05-create-workspace").await;
    admin.click("#create-submit").await;

    // The app opens the new workspace: its build logs stream in.
    admin
        .wait(
            "workspace page",
            "document.querySelector('.ws-title h1')?.textContent.startsWith('dev')",
        )
        .await;
    admin
        .wait(
            "start build logs",
            "Number(document.querySelector('#build-logs')?.dataset.count) > 0",
        )
        .await;
    admin.shot("06-workspace-building").await;

    // Back to the list while the build runs: it reaches running live.
    admin.click("#nav a[data-section=workspaces]").await;
    admin
        .wait(
            "row for dev",
            &format!("document.querySelector('{}')", row("dev")),
        )
        .await;
    admin
        .js(&format!(
            "window.__seen = []; const rec = () => {{ const r = document.querySelector('{}'); if (r) window.__seen.push(r.dataset.status); }}; rec(); new MutationObserver(rec).observe(document.querySelector('#workspaces-rows'), {{childList: true, subtree: true, attributes: true}}); return true",
            row("dev")
        ))
        .await;
    admin
        .wait(
            "dev running in the list",
            &format!(
                "document.querySelector('{}')?.dataset.status === 'running'",
                row("dev")
            ),
        )
        .await;
    let seen = admin.js("return window.__seen").await;
    assert!(
        seen.as_array()
            .unwrap()
            .iter()
            .any(|s| s == "starting" || s == "pending"),
        "the list showed the build in progress before running: {seen}"
    );
    // The agent's readiness follows on the same stream.
    admin
        .wait(
            "dev healthy in the list",
            &format!(
                "document.querySelector('{}') && !document.querySelector('{} .status-warning')",
                row("dev"),
                row("dev")
            ),
        )
        .await;
    admin.assert_not_reloaded().await;
    admin.shot("07-workspaces-running").await;

    // Open it: the finished build's logs and the timings chart.
    admin.click(&format!("{} a.ws-link", row("dev"))).await;
    admin
        .wait(
            "logs of the start build",
            "Number(document.querySelector('#build-logs')?.dataset.count) > 5",
        )
        .await;
    admin
        .wait(
            "timings chart drawn",
            "document.querySelectorAll('#timings-chart rect.bar').length >= 8 && document.querySelector('#timings-chart g.row[data-label=\"main: Startup Script\"]')",
        )
        .await;
    let chart = admin
        .js("return [...document.querySelectorAll('#timings-chart g.row')].map(g => g.dataset.label)")
        .await;
    let labels = chart.to_string();
    for want in [
        "init",
        "apply",
        "docker_container.workspace",
        "main: connection",
        "main: Startup Script",
    ] {
        assert!(labels.contains(want), "chart lacks {want}: {labels}");
    }
    admin.assert_no_csp_violation().await;
    // A tall window shows the whole page, chart included.
    admin.c.set_window_size(1280, 2000).await.expect("resize");
    admin.shot("08-workspace-page").await;
    admin.c.set_window_size(390, 844).await.expect("resize");
    admin.assert_fits_width().await;
    admin.shot("08-workspace-page-phone").await;
    admin.c.set_window_size(1280, 900).await.expect("resize");

    // Share it with bob, who sees it appear in his list.
    admin.select("#share-who", "").await;
    let bob_option = admin
        .js("return [...document.querySelectorAll('#share-who option')].find(o => o.textContent.startsWith('bob'))?.value")
        .await;
    admin
        .select("#share-who", bob_option.as_str().expect("bob is offered"))
        .await;
    admin.select("#share-role", "use").await;
    admin.click("#share-submit").await;
    admin
        .wait(
            "bob in the sharing list",
            "document.querySelector('#acl-list li[data-user=bob]')",
        )
        .await;
    admin.shot("09-shared").await;
    bob.wait(
        "shared workspace in bob's list",
        &format!("document.querySelector('{}')", row("dev")),
    )
    .await;
    bob.assert_not_reloaded().await;
    // Bob's browser prefers dark: the page follows.
    let bg = bob
        .js("return getComputedStyle(document.body).backgroundColor")
        .await;
    assert_eq!(bg, json!("rgb(13, 17, 23)"), "dark background");
    bob.shot("10-bob-sees-shared-dark").await;

    // Extend the deadline by an hour.
    let before = admin
        .wait(
            "deadline",
            "document.querySelector('#ws-deadline-value')?.dataset.deadline",
        )
        .await;
    admin.click("#ws-deadline-plus").await;
    let after = admin
        .wait(
            "deadline moved",
            &format!(
                "(() => {{ const d = document.querySelector('#ws-deadline-value')?.dataset.deadline; return d && d !== {before} ? d : null; }})()"
            ),
        )
        .await;
    let before = chrono::DateTime::parse_from_rfc3339(before.as_str().unwrap()).unwrap();
    let after = chrono::DateTime::parse_from_rfc3339(after.as_str().unwrap()).unwrap();
    let moved = (after - before).num_seconds();
    assert!((3590..=3610).contains(&moved), "moved by {moved} s");
    // The schedule explanation names the extension and who made it.
    admin
        .wait(
            "explained extension",
            "document.querySelector('#ws-why-autostop')?.innerText.includes('admin extended it')",
        )
        .await;
    admin.shot("11-deadline-extended").await;

    // Stop it: the stop build's logs arrive while it is stopping.
    admin
        .js("window.__lines = []; new MutationObserver(() => window.__lines.push(document.querySelector('#ws-status .badge')?.dataset.status)).observe(document.querySelector('#build-logs'), {childList: true}); return true")
        .await;
    admin.click("#ws-stop").await;
    admin
        .wait(
            "stopped",
            "document.querySelector('#ws-status .badge')?.dataset.status === 'stopped'",
        )
        .await;
    let lines = admin.js("return window.__lines").await;
    assert!(
        lines
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| *s == "stopping" || *s == "pending")
            .count()
            >= 2,
        "log lines arrived while the build ran: {lines}"
    );
    admin
        .wait(
            "stop build logs complete",
            "document.querySelector('#build-logs').dataset.done === 'true' && document.querySelector('#build-logs-title').textContent.includes('stop')",
        )
        .await;
    admin.shot("12-workspace-stopped").await;

    // An invalid query shows its error inline.
    admin.click("#nav a[data-section=workspaces]").await;
    admin.fill("#workspaces-q", "status:bogus").await;
    admin
        .click("#workspaces-q ~ button[type=submit], .search-row button[type=submit]")
        .await;
    let err = admin
        .wait(
            "query error",
            "!document.querySelector('#workspaces-q-error').hidden && document.querySelector('#workspaces-q-error').textContent",
        )
        .await;
    let err = err.as_str().unwrap();
    assert!(
        err.contains("Invalid workspace search query.")
            && err.contains("\"bogus\" is not a valid value"),
        "{err}"
    );
    assert_eq!(
        admin
            .js("return document.querySelector('#workspaces-q').getAttribute('aria-invalid')")
            .await,
        json!("true")
    );
    admin.shot("13-invalid-query").await;

    // Delete it from the list; it leaves both lists live.
    admin
        .click("#workspaces-presets button[data-q='owner:me']")
        .await;
    admin
        .wait(
            "row for dev again",
            &format!("document.querySelector('{}')", row("dev")),
        )
        .await;
    admin
        .click(&format!("{} button[data-key$=':delete']", row("dev")))
        .await;
    admin.confirm(Some("dev")).await;
    admin
        .wait(
            "dev gone from the list",
            &format!("!document.querySelector('{}') && document.querySelector('#workspaces-rows .empty')", row("dev")),
        )
        .await;
    admin.assert_not_reloaded().await;
    admin.assert_no_csp_violation().await;
    admin.shot("14-deleted").await;
    bob.wait(
        "dev gone from bob's list",
        &format!("!document.querySelector('{}')", row("dev")),
    )
    .await;

    // A phone-sized window: the template list and its page still work.
    admin.c.set_window_size(390, 844).await.expect("resize");
    admin.click("#nav a[data-section=templates]").await;
    admin
        .wait(
            "templates on a phone",
            "document.querySelector('#templates-table tr[data-template=docker]')",
        )
        .await;
    admin.assert_fits_width().await;
    admin.shot("15-phone-templates").await;
    admin
        .click("#templates-table tr[data-template=docker] a")
        .await;
    admin
        .wait(
            "template page",
            "document.querySelector('#versions-table tr .status-success')",
        )
        .await;
    admin.assert_fits_width().await;
    admin.shot("16-phone-template-page").await;
    // Template settings: Coder's check next to its field, then a save.
    admin.c.set_window_size(1280, 900).await.expect("resize");
    admin
        .fill("#template-settings input[name=default_ttl_ms]", "-1")
        .await;
    admin.click("#template-save").await;
    let ttl_error = admin
        .wait(
            "autostop validation",
            "document.querySelector('#template-settings input[name=default_ttl_ms]').closest('.field').querySelector('.field-error')?.textContent",
        )
        .await;
    assert_eq!(
        ttl_error,
        json!("Default time until autostop must not be less than 0.")
    );
    admin
        .fill("#template-settings input[name=default_ttl_ms]", "8")
        .await;
    admin.click("#template-save").await;
    admin
        .wait(
            "settings saved",
            "document.querySelector('#banner')?.textContent.includes('Template settings saved')",
        )
        .await;
    admin.shot("17-template-settings").await;

    // Groups and organizations render and take changes.
    admin.click("#nav a[data-section=groups]").await;
    admin.click("details.card.editor summary").await;
    admin
        .fill("#create-group-form input[name=name]", "devs")
        .await;
    admin.click("#create-group-form button[type=submit]").await;
    admin
        .wait(
            "group devs",
            "document.querySelector('section[data-group=devs]')",
        )
        .await;
    let add = admin
        .js("return document.querySelector('section[data-group=devs] select').id")
        .await;
    let bob_id = admin
        .js("return [...document.querySelectorAll('section[data-group=devs] option')].find(o => o.textContent === 'bob')?.value")
        .await;
    admin
        .select(
            &format!("#{}", add.as_str().unwrap()),
            bob_id.as_str().expect("bob offered"),
        )
        .await;
    admin
        .click("section[data-group=devs] form button[type=submit]")
        .await;
    admin
        .wait(
            "bob in devs",
            "[...document.querySelectorAll('section[data-group=devs] .members li')].some(li => li.textContent.includes('bob'))",
        )
        .await;
    admin.shot("18-groups").await;
    admin.click("#nav a[data-section=organizations]").await;
    admin
        .wait(
            "default organization",
            "document.querySelector('section[data-org=coder]')",
        )
        .await;
    admin.assert_no_csp_violation().await;
    admin.shot("19-organizations").await;

    // The owner downloads a backup from the deployment page (on
    // PostgreSQL the page says to use pg_dump).
    admin.click("#nav a[data-section=deployment]").await;
    if on_postgres {
        admin
            .wait(
                "diagnostics",
                "document.querySelector('#diagnostics')?.innerText.includes('postgresql')",
            )
            .await;
        admin
            .wait(
                "the pg_dump advice",
                "document.querySelector('#backup-pg-dump')?.innerText.includes('pg_dump')",
            )
            .await;
    } else {
        admin
            .wait(
                "diagnostics",
                "document.querySelector('#diagnostics')?.innerText.includes('sqlite')",
            )
            .await;
        admin.click("#backup-download").await;
        let name = admin
            .wait(
                "backup downloaded",
                "document.querySelector('#backup-status')?.dataset.filename",
            )
            .await;
        assert!(
            name.as_str().unwrap().starts_with("warren-"),
            "backup named {name}"
        );
    }
    admin.assert_no_csp_violation().await;
    admin.shot("20-deployment").await;

    bob.c.clone().close().await.ok();
    admin.c.clone().close().await.ok();
    drop(driver);
    server.stop();
    eprintln!(
        "end-to-end scenario took {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        screens_dir().display()
    );
}
