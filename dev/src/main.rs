//! `cargo run` at the root: Sesame on 127.0.0.1:3000 (`PORT` overrides) with the embedded store
//! and outbox, or DynamoDB/SES/SNS with `SESAME_BACKEND=aws` (or `--aws`), each at
//! `AWS_ENDPOINT_URL_<SERVICE>` or `AWS_ENDPOINT_URL` when set. It answers only requests for
//! `localhost`, `127.0.0.1` or `[::1]`, and for the names in `DEV_ALLOWED_HOSTS`.

use std::process::ExitCode;

use sesame::adapters::dynamo::{DynamoStore, ensure_table};
use sesame::config::Config;

#[tokio::main]
async fn main() -> ExitCode {
    // `cargo run -q -- --openapi > openapi.json` regenerates the committed document.
    if std::env::args().any(|a| a == "--openapi") {
        print!("{}", sesame::http::openapi::document_text());
        return ExitCode::SUCCESS;
    }
    sesame::telemetry::init();
    let mut config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sesame-dev: {e}");
            return ExitCode::FAILURE;
        }
    };
    let aws = std::env::args().any(|a| a == "--aws")
        || std::env::var("SESAME_BACKEND").is_ok_and(|b| b.eq_ignore_ascii_case("aws"));
    let port: u16 = match std::env::var("PORT").map(|p| p.parse()) {
        Err(_) => 3000,
        Ok(Ok(p)) => p,
        Ok(Err(_)) => {
            eprintln!("sesame-dev: PORT must be a port number");
            return ExitCode::FAILURE;
        }
    };

    // Dev server only: host names it answers besides localhost, 127.0.0.1 and [::1].
    let hosts = match sesame_dev::AllowedHosts::parse(
        &std::env::var("DEV_ALLOWED_HOSTS").unwrap_or_default(),
    ) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("sesame-dev: {e}");
            return ExitCode::FAILURE;
        }
    };

    // The demo page at `/` is served from this origin and uses the session cookie, so its own
    // origin is allowed (a foreign page's is not).
    for own in [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
    ] {
        if !config.allowed_origins.contains(&own) {
            config.allowed_origins.push(own);
        }
    }

    // One-off migrations (README, "Upgrading"): index the signins granted before the user index,
    // and give the users created before the admin listing's index their place in it.
    if std::env::args().any(|a| a == "--backfill-user-index") {
        let sdk = sesame::wiring::sdk_config(&config).await;
        let endpoint = config.aws_endpoints.for_service("dynamodb");
        let store = DynamoStore::new(&sdk, endpoint, config.table_name.clone(), None);
        return backfill(&store, &config.table_name).await;
    }

    let router = if aws {
        let sdk = sesame::wiring::sdk_config(&config).await;
        let endpoint = config.aws_endpoints.for_service("dynamodb");
        let store = DynamoStore::new(&sdk, endpoint, config.table_name.clone(), None);
        if let Err(e) = ensure_table(store.client(), &config.table_name).await {
            eprintln!("sesame-dev: table {}: {e}", config.table_name);
            return ExitCode::FAILURE;
        }
        match sesame::wiring::aws(config, None).await {
            Ok(app) => sesame_dev::router(app, None, hosts),
            Err(e) => {
                eprintln!("sesame-dev: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        let (app, outbox) = sesame::wiring::embedded(config);
        sesame_dev::router(app, Some(outbox), hosts)
    };

    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("sesame-dev: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let backend = if aws { "dynamodb+ses+sns" } else { "embedded" };
    tracing::info!(address = %format!("http://127.0.0.1:{port}"), backend, "sesame dev server listening");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match sesame_dev::serve(listener, router, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sesame-dev: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The one-off migrations of the README's "Upgrading", one after the other.
async fn backfill(store: &DynamoStore, table: &str) -> ExitCode {
    let signins = match store.backfill_user_index().await {
        Ok(done) => done,
        Err(e) => {
            eprintln!("sesame-dev: user index backfill of {table}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "user index backfill on {table}: {} indexed now, {} already indexed, {} skipped \
         (ended or without a user)",
        signins.indexed, signins.present, signins.skipped
    );
    let users = match store.backfill_user_listing().await {
        Ok(done) => done,
        Err(e) => {
            eprintln!("sesame-dev: admin listing backfill of {table}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "admin listing backfill on {table}: {} listed now, {} already listed, {} skipped \
         (deleted or listed meanwhile)",
        users.listed, users.present, users.skipped
    );
    ExitCode::SUCCESS
}
