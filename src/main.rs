//! The warren binary: parse the command line, open the database, serve (or
//! copy a SQLite database into PostgreSQL).

use std::io::Write;
use std::net::TcpListener;

use clap::Parser;
use warren::config::{Cli, MigrateArgs, Run};
use warren::domain::operations;

fn main() -> std::process::ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match Cli::parse().into_run() {
        Run::Server(config) => serve(config),
        Run::Migrate(args) => migrate(&args),
        Run::Backup(b) => report(
            operations::backup_file(&b.db, &b.to),
            &format!("backup of {} written to {}", b.db.display(), b.to.display()),
        ),
        Run::Restore(r) => report(
            operations::restore(&r.from, &r.db),
            &format!("{} restored from {}", r.db.display(), r.from.display()),
        ),
    }
}

/// Prints what a backup or restore did, or why it did nothing.
fn report(
    result: Result<operations::BackupSummary, operations::BackupError>,
    done: &str,
) -> std::process::ExitCode {
    match result {
        Ok(summary) => {
            let _ = writeln!(std::io::stdout(), "{done}: {summary}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("warren: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn serve(config: warren::Config) -> std::process::ExitCode {
    let address = config.address.clone();
    let app = match warren::prepare(config) {
        Ok(app) => actix_web::web::Data::new(app),
        Err(e) => {
            eprintln!("warren: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(&address) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("warren: cannot listen on {address}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or(address);
    // Read before the async runtime starts: a blocking database client
    // (PostgreSQL's) must not run on its thread.
    let setup_pending = warren::first_user_pending(&app);
    let result = actix_web::rt::System::new().block_on(async {
        let server = warren::serve(app.clone(), listener)?;
        warren::stop_on_signal(app.clone(), &server)?;
        // Said only once signals stop the server cleanly; a reader that
        // has gone away (a closed pipe) must not stop the server.
        let mut out = std::io::stdout();
        let _ = writeln!(out, "warren {} listening on http://{local}", app.version);
        let location = warren::Location::parse(&app.config.db);
        let _ = writeln!(out, "database: {}", location.shown());
        if let warren::Location::Postgres(_) = location {
            let _ = writeln!(out, "replica: {}", app.db.replica_id());
        }
        if setup_pending {
            let _ = writeln!(
                out,
                "First-user setup is pending: POST http://{local}/api/v2/users/first to create the owner."
            );
        }
        let _ = out.flush();
        server.await
    });
    app.shutdown();
    match result {
        Ok(()) => {
            log::info!("stopped; database closed cleanly");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("warren: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `warren migrate --from FILE --to postgres://…`.
fn migrate(args: &MigrateArgs) -> std::process::ExitCode {
    let to = warren::Location::Postgres(args.to.clone());
    if warren::Location::parse(std::path::Path::new(&args.to)) != to {
        eprintln!("warren: --to must be a postgres:// or postgresql:// URL");
        return std::process::ExitCode::FAILURE;
    }
    println!("copying {} into {}", args.from.display(), to.shown());
    let result = warren::migrate(&args.from, &args.to, |t| {
        println!(
            "  {:<32} {:>8} rows  sha256 {}  verified",
            t.table, t.rows, t.checksum
        );
    });
    match result {
        Ok(tables) => {
            let rows: i64 = tables.iter().map(|t| t.rows).sum();
            println!(
                "done: {} tables, {rows} rows copied and verified; start warren with --db {}",
                tables.len(),
                to.shown()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("warren migrate: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
