//! `wa`: the whatsmeow-rs command line.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use wa_cli::appstate::{self, ChatSettingArgs, MuteArgs};
use wa_cli::blocklist::{self, BlockArgs};
use wa_cli::calls::{self, RejectCallArgs};
use wa_cli::media::DownloadArgs;
use wa_cli::messaging::{self, EditArgs, ListenArgs, PollArgs, ReactArgs, SendArgs, TargetArgs};
use wa_cli::presence::{self, PresenceArgs, TypingArgs};
use wa_cli::privacy::{self, PrivacyArgs};
use wa_cli::profile::{self, PictureArgs, ProfileArgs, UserInfoArgs};
use wa_cli::session::{self, ConnectArgs, LoginArgs};

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
    /// Send a text (optionally replying to a message, with mentions) or an image (`--image`).
    Send(SendArgs),
    /// Download and decrypt the media of a message printed by `wa listen --json`.
    Download(DownloadArgs),
    /// React to a message with an emoji (an empty one removes the reaction).
    React(ReactArgs),
    /// Replace the text of one of our messages.
    Edit(EditArgs),
    /// Delete one of our messages for everyone.
    Revoke(TargetArgs),
    /// Send a poll.
    Poll(PollArgs),
    /// Print incoming messages, receipts, calls and connection events (JSON lines with --json).
    Listen(ListenArgs),
    /// Reject an incoming call (`--from` the caller, `--id` the call id `wa listen` printed).
    RejectCall(RejectCallArgs),
    /// Mute a chat on every device of the account (app-state sync).
    Mute(MuteArgs),
    /// Pin a chat on every device of the account (app-state sync).
    Pin(ChatSettingArgs),
    /// Archive a chat on every device of the account (app-state sync).
    Archive(ChatSettingArgs),
    /// Block a user (`--off` unblocks); prints the list.
    Block(BlockArgs),
    /// Print the users this account blocked.
    Blocklist(ConnectArgs),
    /// Print the privacy settings, or change one (`--set last=contacts`).
    Privacy(PrivacyArgs),
    /// Set our about text or profile picture (or remove it); prints our profile.
    Profile(ProfileArgs),
    /// Print the about text, profile picture id and devices of users.
    UserInfo(UserInfoArgs),
    /// Print where a user's or group's profile picture is (`--out FILE` downloads it).
    Picture(PictureArgs),
    /// Go online or offline for contacts subscribed to our presence.
    Presence(PresenceArgs),
    /// Show a chat that we are typing or recording (or stopped).
    Typing(TypingArgs),
    /// Two accounts chatting through an embedded test server, narrated; finishes in seconds.
    #[cfg(feature = "demo")]
    Demo,
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
        Command::Send(args) => run(messaging::send(&args)),
        Command::Download(args) => run(wa_cli::media::download(&args)),
        Command::React(args) => run(messaging::react(&args)),
        Command::Edit(args) => run(messaging::edit(&args)),
        Command::Revoke(args) => run(messaging::revoke(&args)),
        Command::Poll(args) => run(messaging::poll(&args)),
        Command::Listen(args) => run(messaging::listen(&args)),
        Command::RejectCall(args) => run(calls::reject_call(&args)),
        Command::Mute(args) => run(appstate::mute(&args)),
        Command::Pin(args) => run(appstate::pin(&args)),
        Command::Archive(args) => run(appstate::archive(&args)),
        Command::Block(args) => run(blocklist::block(&args)),
        Command::Blocklist(args) => run(blocklist::blocklist(&args)),
        Command::Privacy(args) => run(privacy::privacy(&args)),
        Command::Profile(args) => run(profile::profile(&args)),
        Command::UserInfo(args) => run(profile::user_info(&args)),
        Command::Picture(args) => run(profile::picture(&args)),
        Command::Presence(args) => run(presence::presence(&args)),
        Command::Typing(args) => run(presence::typing(&args)),
        #[cfg(feature = "demo")]
        Command::Demo => run(demo()),
    };
    match result {
        Ok(out) => {
            if !out.is_empty() {
                wa_cli::say!("{out}");
            }
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

/// `wa demo`: runs the narrated demo, printing as it goes.
#[cfg(feature = "demo")]
async fn demo() -> Result<String> {
    let report = wa_cli::demo::run(true).await.context("the demo failed")?;
    Ok(format!(
        "demo finished: Alice received {} messages, Bob {}; the conversation took {} ms",
        report.alice_received.len(),
        report.bob_received.len(),
        report.conversation_time.as_millis()
    ))
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
