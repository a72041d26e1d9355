//! `wa`: the whatsmeow-rs command line.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

mod session;

use session::{ConnectArgs, LoginArgs};

/// The whatsmeow-rs command line.
#[derive(Debug, Parser)]
#[command(name = "wa", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decode a binary XML frame (flags byte first) given as hex and print it as XML.
    Decode {
        /// The frame as hex (whitespace allowed), or `-` to read hex from stdin.
        hex: String,
    },
    /// Pair this computer as a companion device (QR code in the terminal) or log in again.
    Login(LoginArgs),
    /// Remove this companion device from the account and clear the saved session.
    Logout(ConnectArgs),
    /// Show what the saved session holds (no network).
    Status(ConnectArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("WA_LOG"))
        .with_writer(std::io::stderr)
        .try_init();
    let result = match cli.command {
        Command::Decode { hex } => decode(&hex),
        Command::Login(args) => run(session::login(&args)),
        Command::Logout(args) => run(session::logout(&args)),
        Command::Status(args) => run(session::status(&args)),
    };
    match result {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wa: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs an async command on a fresh tokio runtime.
fn run(fut: impl std::future::Future<Output = Result<String>>) -> Result<String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(fut)
}

/// Decodes a hex frame argument (or stdin for `-`) to its XML rendering.
fn decode(arg: &str) -> Result<String> {
    let text = if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading hex from stdin")?;
        s
    } else {
        arg.to_owned()
    };
    decode_hex_frame(&text)
}

fn decode_hex_frame(text: &str) -> Result<String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let compact = compact.strip_prefix("0x").unwrap_or(&compact);
    if compact.is_empty() {
        bail!("no hex input");
    }
    let bytes = hex::decode(compact).context("input is not valid hex")?;
    let node = wa_binary::decode_frame(&bytes).context("cannot decode frame")?;
    Ok(node.to_xml())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_ping() {
        let xml = decode_hex_frame("00f80a19085511fa000304291657f801f80156").unwrap();
        assert!(xml.starts_with("<iq "), "{xml}");
        assert!(xml.contains("<ping/>"), "{xml}");
    }

    #[test]
    fn rejects_bad_input() {
        assert!(decode_hex_frame("zz").is_err());
        assert!(decode_hex_frame("").is_err());
        assert!(decode_hex_frame("00f80a19").is_err());
    }
}
