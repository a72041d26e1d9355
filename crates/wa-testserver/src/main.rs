//! The `wa-testserver` binary: a local WhatsApp-compatible server, and a client for its admin
//! interface.
//!
//! ```text
//! wa-testserver [--listen 127.0.0.1:0] [--admin 127.0.0.1:0] [--root-key-out FILE] [--state DIR]
//!               [--tls --cert-out FILE]
//! wa-testserver scan --admin ADDR [--account PHONE] 'https://wa.me/settings/linked_devices#...'
//! wa-testserver pair-code --admin ADDR [--account PHONE] ABCD-EFGH
//! wa-testserver devices --admin ADDR [--account PHONE]
//! wa-testserver remove --admin ADDR 15551234567:1@s.whatsapp.net
//! wa-testserver create-account --admin ADDR 15550002222 'Push Name'
//! wa-testserver accounts --admin ADDR
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use wa_testserver::admin_http::{admin_request, serve_admin};
use wa_testserver::{Config, TestServer};

#[derive(Parser, Debug)]
#[command(
    name = "wa-testserver",
    about = "A local WhatsApp-compatible server with a simulated phone"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// WebSocket listen address (port 0 picks one; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Admin HTTP listen address.
    #[arg(long, default_value = "127.0.0.1:0")]
    admin: SocketAddr,
    /// Write the test root public key (hex) to this file (default with --state:
    /// DIR/root-key.hex).
    #[arg(long)]
    root_key_out: Option<PathBuf>,
    /// The account's phone number.
    #[arg(long, default_value = "15551234567")]
    phone: String,
    /// The account's LID.
    #[arg(long, default_value = "99887766554433")]
    lid: String,
    /// Seed all keys from this number (reproducible runs).
    #[arg(long)]
    seed: Option<u64>,
    /// Serve wss:// with a self-signed certificate (see --cert-out).
    #[arg(long)]
    tls: bool,
    /// With --tls, write the certificate (PEM) here for clients to trust (default with
    /// --state: DIR/tls-cert.pem).
    #[arg(long, value_name = "FILE")]
    cert_out: Option<PathBuf>,
    /// Persist keys, account, devices and prekeys in DIR/state.json (loaded at start).
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The phone scans a QR code shown by a companion.
    Scan {
        /// Admin address printed by the server.
        #[arg(long)]
        admin: SocketAddr,
        /// The phone of this account scans (default: the default account).
        #[arg(long, value_name = "PHONE")]
        account: Option<String>,
        /// The QR string.
        qr: String,
    },
    /// The phone enters a pairing code shown by a companion.
    PairCode {
        /// Admin address printed by the server.
        #[arg(long)]
        admin: SocketAddr,
        /// Only a companion that asked to pair with this number (default: any).
        #[arg(long, value_name = "PHONE")]
        account: Option<String>,
        /// The code, e.g. `ABCD-EFGH`.
        code: String,
    },
    /// Lists an account's companion devices.
    Devices {
        /// Admin address printed by the server.
        #[arg(long)]
        admin: SocketAddr,
        /// The account (default: the default account).
        #[arg(long, value_name = "PHONE")]
        account: Option<String>,
    },
    /// Creates another account; prints its phone-number and LID JIDs.
    CreateAccount {
        /// Admin address printed by the server.
        #[arg(long)]
        admin: SocketAddr,
        /// Phone number (digits).
        phone: String,
        /// Push name.
        name: String,
    },
    /// Lists the accounts (`PN_JID LID_JID PUSH NAME`).
    Accounts {
        /// Admin address printed by the server.
        #[arg(long)]
        admin: SocketAddr,
    },
    /// Unlinks a device (it gets stream error 401).
    Remove {
        /// Admin address printed by the server.
        #[arg(long)]
        admin: SocketAddr,
        /// The device JID.
        jid: String,
    },
}

async fn client(cmd: Command) -> ExitCode {
    let res = match &cmd {
        Command::Scan { admin, account, qr } => match account {
            None => admin_request(*admin, "POST", "/scan", qr).await,
            Some(p) => admin_request(*admin, "POST", "/scan-for", &format!("{p} {qr}")).await,
        },
        Command::PairCode {
            admin,
            account,
            code,
        } => match account {
            None => admin_request(*admin, "POST", "/pair-code", code).await,
            Some(p) => {
                admin_request(*admin, "POST", "/pair-code-for", &format!("{p} {code}")).await
            }
        },
        Command::Devices { admin, account } => match account {
            None => admin_request(*admin, "GET", "/devices", "").await,
            Some(p) => admin_request(*admin, "POST", "/devices-of", p).await,
        },
        Command::CreateAccount { admin, phone, name } => {
            admin_request(*admin, "POST", "/accounts", &format!("{phone} {name}")).await
        }
        Command::Accounts { admin } => admin_request(*admin, "GET", "/accounts", "").await,
        Command::Remove { admin, jid } => admin_request(*admin, "POST", "/remove", jid).await,
    };
    match res {
        Ok(body) => {
            println!("{}", body.trim_end());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wa-testserver: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(cli: Cli) -> Result<(), wa_testserver::Error> {
    let server = TestServer::start(Config {
        listen: cli.listen,
        phone_number: cli.phone,
        lid: cli.lid,
        seed: cli.seed,
        state_dir: cli.state.clone(),
        tls: cli.tls,
        ..Config::default()
    })
    .await?;
    let root = hex::encode(server.root_public_key());
    // With --state, the root key (and certificate) also go next to the state for clients.
    let root_key_out = cli
        .root_key_out
        .clone()
        .or_else(|| cli.state.as_ref().map(|d| d.join("root-key.hex")));
    let cert_out = cli
        .cert_out
        .clone()
        .or_else(|| cli.state.as_ref().map(|d| d.join("tls-cert.pem")));
    if let Some(path) = &root_key_out {
        std::fs::write(path, format!("{root}\n"))?;
    }
    if let (Some(path), Some(pem)) = (&cert_out, server.tls_cert_pem()) {
        std::fs::write(path, pem)?;
    }
    let admin_listener = TcpListener::bind(cli.admin).await?;
    let admin_addr = admin_listener.local_addr()?;
    tokio::spawn(serve_admin(
        admin_listener,
        server.admin(),
        server.root_public_key(),
    ));
    println!("wa-testserver listening on {}", server.url());
    println!("admin interface on http://{admin_addr}");
    println!("test root public key: {root}");
    if let Some(path) = &root_key_out {
        println!("root key written to {}", path.display());
    }
    println!(
        "connect: wa login --server {} --root-key <file with the key above>",
        server.url()
    );
    println!("scan a QR: wa-testserver scan --admin {admin_addr} '<qr>'");
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Some(cmd) = cli.command {
        return client(cmd).await;
    }
    match serve(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wa-testserver: {e}");
            ExitCode::FAILURE
        }
    }
}
