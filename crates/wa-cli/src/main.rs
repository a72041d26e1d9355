//! `wa`: the whatsmeow-rs command line.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Decode { hex } => decode(&hex),
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
