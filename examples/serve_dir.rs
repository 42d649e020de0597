//! A reference for the web benchmark: tower-http's ServeDir serving a folder of saved pages.
//! `cargo run --release --example serve_dir -- DIR ADDR`

use axum::Router;
use tower_http::services::ServeDir;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| ".".into());
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8081".into());
    let app = Router::new().fallback_service(ServeDir::new(dir));
    use axum::serve::ListenerExt;
    // TCP_NODELAY as in `kennzahl serve`, so both are measured alike.
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .expect("bind")
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    axum::serve(listener, app).await.expect("serve");
}
