//! `wa presence` and `wa typing`: our availability and our typing/recording state in a chat,
//! with the session saved by `wa login`. `wa listen --subscribe JID` prints contacts'
//! presence and chat states.

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use wa_client::{ChatPresence, ChatPresenceMedia, Presence};

use crate::messaging::parse_jid;
use crate::session::{ConnectArgs, open_session};

/// The availability `wa presence` announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Availability {
    /// Online.
    Available,
    /// Offline (contacts see "last seen" from now).
    Unavailable,
}

/// `wa presence` options.
#[derive(Debug, Args)]
pub struct PresenceArgs {
    /// Connection and store options.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Online or offline.
    #[arg(value_enum)]
    pub state: Availability,
    /// The push name contacts see (WhatsApp requires one to go online).
    #[arg(long)]
    pub name: Option<String>,
}

/// `wa typing` options.
#[derive(Debug, Args)]
pub struct TypingArgs {
    /// Connection and store options.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The chat: a phone number or a JID (user or group).
    #[arg(long)]
    pub to: String,
    /// Recording a voice note rather than typing.
    #[arg(long)]
    pub audio: bool,
    /// Stopped typing or recording.
    #[arg(long, conflicts_with = "audio")]
    pub stop: bool,
}

/// What `wa typing` sends for its flags.
#[must_use]
pub fn typing_state(args: &TypingArgs) -> (ChatPresence, ChatPresenceMedia) {
    match (args.stop, args.audio) {
        (true, _) => (ChatPresence::Paused, ChatPresenceMedia::Text),
        (false, true) => (ChatPresence::Composing, ChatPresenceMedia::Audio),
        (false, false) => (ChatPresence::Composing, ChatPresenceMedia::Text),
    }
}

/// `wa presence`.
pub async fn presence(args: &PresenceArgs) -> Result<String> {
    let mut connect = args.connect.clone();
    connect.push_name.clone_from(&args.name);
    let session = open_session(&connect).await?;
    let presence = match args.state {
        Availability::Available => Presence::Available,
        Availability::Unavailable => Presence::Unavailable,
    };
    let res = session
        .client
        .send_presence(presence)
        .await
        .context("sending presence");
    session.client.disconnect().await;
    res?;
    Ok(format!(
        "{} is now {}",
        session.own.to_non_ad(),
        match presence {
            Presence::Available => "online",
            Presence::Unavailable => "offline",
        }
    ))
}

/// `wa typing`.
pub async fn typing(args: &TypingArgs) -> Result<String> {
    let chat = parse_jid(&args.to)?;
    let (state, media) = typing_state(args);
    let session = open_session(&args.connect).await?;
    let res = session
        .client
        .send_chat_presence(chat.clone(), state, media)
        .await
        .context("sending the chat state");
    session.client.disconnect().await;
    res?;
    let what = match (state, media) {
        (ChatPresence::Paused, _) => "stopped typing",
        (ChatPresence::Composing, ChatPresenceMedia::Audio) => "recording",
        (ChatPresence::Composing, ChatPresenceMedia::Text) => "typing",
    };
    Ok(format!("{what} in {chat}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(audio: bool, stop: bool) -> TypingArgs {
        TypingArgs {
            connect: ConnectArgs::offline("x"),
            to: "15550001".into(),
            audio,
            stop,
        }
    }

    #[test]
    fn typing_flags_pick_the_state() {
        assert_eq!(
            typing_state(&args(false, false)),
            (ChatPresence::Composing, ChatPresenceMedia::Text)
        );
        assert_eq!(
            typing_state(&args(true, false)),
            (ChatPresence::Composing, ChatPresenceMedia::Audio)
        );
        assert_eq!(
            typing_state(&args(false, true)),
            (ChatPresence::Paused, ChatPresenceMedia::Text)
        );
    }
}
