//! The warren binary: parse the command line, open the database, serve.

use std::io::Write;
use std::net::TcpListener;

use clap::Parser;
use warren::config::Cli;

fn main() -> std::process::ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let config = Cli::parse().into_config();
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
    let result = actix_web::rt::System::new().block_on(async {
        let server = warren::serve(app.clone(), listener)?;
        warren::stop_on_signal(app.clone(), &server)?;
        // Said only once signals stop the server cleanly; a reader that
        // has gone away (a closed pipe) must not stop the server.
        let mut out = std::io::stdout();
        let _ = writeln!(out, "warren {} listening on http://{local}", app.version);
        let _ = writeln!(out, "database: {}", app.config.db.display());
        if warren::first_user_pending(&app) {
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
