//! Pairs (or logs in) a device against a server and prints every event as a JSON line.
//!
//! ```text
//! cargo run -p wa-client --example pair_qr -- ws://127.0.0.1:PORT/ws/chat ROOT_KEY_HEX [wa.db]
//! ```
//!
//! Start `wa-testserver` first; it prints the URL and its root key. Scan the printed QR code
//! with `wa-testserver scan`. Without arguments it connects to WhatsApp itself.

use std::time::Duration;

use wa_client::{Client, Config, Event};
use wa_noise::TrustRoot;
use wa_store::SqliteContainer;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut config = Config::default();
    if let Some(url) = args.first() {
        config.url.clone_from(url);
    }
    if let Some(key) = args.get(1) {
        let key: [u8; 32] = hex::decode(key.trim())?
            .try_into()
            .map_err(|_| "the root key must be 32 bytes of hex")?;
        config.trust_root = TrustRoot::new(key, 0);
    }
    let db = args.get(2).map_or("wa.db", String::as_str);
    let container = SqliteContainer::open(db).await?;
    let (client, mut events) = Client::start(config, container, None).await?;
    while let Some(event) = tokio::time::timeout(Duration::from_secs(300), events.recv()).await? {
        println!("{}", serde_json::to_string(&event)?);
        match event {
            Event::Connected => break,
            Event::Disconnected {
                reconnecting: false,
                ..
            } => return Err("stopped before logging in".into()),
            _ => {}
        }
    }
    client.disconnect().await;
    Ok(())
}
