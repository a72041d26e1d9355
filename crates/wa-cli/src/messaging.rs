//! `wa send`, `wa react`, `wa edit`, `wa revoke`, `wa poll` and `wa listen`: messaging with
//! the session saved by `wa login`.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::Value;
use wa_binary::Jid;
use wa_client::message::build::{self, Quote, Target, TextBuilder};
use wa_client::message::content::MessageContent;
use wa_client::message::poll;
use wa_client::message::secret::random_bytes;
use wa_client::{
    ChatPresence, ChatPresenceMedia, Client, Event, EventStream, MessageEvent, ReceiptKind,
    SendOptions,
};
use wa_proto::proto::Message;

use crate::session::{ConnectArgs, open_session};

/// Parses a JID argument; a bare phone number means `NUMBER@s.whatsapp.net`.
pub fn parse_jid(s: &str) -> Result<Jid> {
    let s = s.trim();
    if !s.is_empty()
        && s.trim_start_matches('+')
            .chars()
            .all(|c| c.is_ascii_digit())
    {
        return format!("{}@s.whatsapp.net", s.trim_start_matches('+'))
            .parse()
            .with_context(|| format!("bad phone number {s:?}"));
    }
    let jid: Jid = s.parse().with_context(|| format!("bad JID {s:?}"))?;
    if jid.user().is_empty() {
        bail!("bad JID {s:?}: no user part");
    }
    Ok(jid)
}

/// Milliseconds since the Unix epoch (the CLI is an IO layer: it reads the clock).
#[allow(clippy::disallowed_methods)]
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `wa send` options.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Connection and store options.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The chat: a phone number or a JID.
    #[arg(long)]
    pub to: String,
    /// The text (the caption with `--image`).
    #[arg(long, required_unless_present = "image")]
    pub text: Option<String>,
    /// Send this image file (uploaded encrypted; JPEG, PNG, WebP or GIF by extension).
    #[arg(long, conflicts_with_all = ["reply_to", "mention"])]
    pub image: Option<std::path::PathBuf>,
    /// Reply to the message with this id.
    #[arg(long)]
    pub reply_to: Option<String>,
    /// Who sent the message replied to (default: the other party of the chat).
    #[arg(long, requires = "reply_to")]
    pub reply_sender: Option<String>,
    /// The text of the message replied to, shown above the reply.
    #[arg(long, requires = "reply_to")]
    pub quoted_text: Option<String>,
    /// Mention a user (repeatable); write them in the text as `@NUMBER`.
    #[arg(long)]
    pub mention: Vec<String>,
    /// With `--to status@broadcast`: post the status to this user (repeatable; a phone
    /// number or a JID). Without it a status goes to every contact with an address-book name.
    #[arg(long)]
    pub status_to: Vec<String>,
}

/// Builds the message of `wa send`.
pub fn text_message(args: &SendArgs, to: &Jid) -> Result<Message> {
    let mut builder = TextBuilder::new(args.text.as_deref().unwrap_or_default());
    for m in &args.mention {
        builder = builder.mention(parse_jid(m)?);
    }
    if let Some(id) = &args.reply_to {
        let sender = match &args.reply_sender {
            Some(s) => parse_jid(s)?,
            None => to.clone(),
        };
        builder = builder.reply_to(Quote {
            id: id.clone(),
            sender,
            message: build::text(args.quoted_text.clone().unwrap_or_default()),
        });
    }
    Ok(builder.build())
}

/// A message of the chat referred to by id.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Connection and store options.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The chat: a phone number or a JID.
    #[arg(long)]
    pub to: String,
    /// The id of the message.
    #[arg(long)]
    pub id: String,
}

/// `wa react` options.
#[derive(Debug, Args)]
pub struct ReactArgs {
    /// The message reacted to.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The emoji; empty removes our reaction.
    #[arg(long)]
    pub emoji: String,
    /// The message is one we sent (default: sent by the other party).
    #[arg(long)]
    pub mine: bool,
}

/// `wa edit` options.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// Our message to edit.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Its new text.
    #[arg(long)]
    pub text: String,
}

/// `wa poll` options.
#[derive(Debug, Args)]
pub struct PollArgs {
    /// Connection and store options.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The chat: a phone number or a JID.
    #[arg(long)]
    pub to: String,
    /// The question.
    #[arg(long)]
    pub name: String,
    /// An option (at least two).
    #[arg(long = "option", required = true)]
    pub options: Vec<String>,
    /// How many options a voter may pick (0: any number).
    #[arg(long, default_value_t = 1)]
    pub selectable: u32,
}

/// Connects, sends `message` to `to`, disconnects: "sent ID to CHAT".
/// What `wa send` prints for a sent message.
pub(crate) fn sent_line(sent: &wa_client::SendResponse) -> String {
    format!(
        "sent {} to {} at {} ({} device{})",
        sent.id,
        sent.chat,
        sent.timestamp,
        sent.devices.len(),
        if sent.devices.len() == 1 { "" } else { "s" }
    )
}

async fn send_one(connect: &ConnectArgs, to: &str, message: Message) -> Result<String> {
    send_one_with(connect, to, message, SendOptions::default()).await
}

/// Sends one message with `options` and prints the line for it.
async fn send_one_with(
    connect: &ConnectArgs,
    to: &str,
    message: Message,
    options: SendOptions,
) -> Result<String> {
    let to = parse_jid(to)?;
    let session = open_session(connect).await?;
    let res = session.client.send_message_with(to, message, options).await;
    session.client.disconnect().await;
    let sent = res.context("sending")?;
    Ok(sent_line(&sent))
}

/// `wa send`: a text, or with `--image` an uploaded image captioned with the text.
pub async fn send(args: &SendArgs) -> Result<String> {
    let to = parse_jid(&args.to)?;
    if let Some(path) = &args.image {
        return crate::media::send_image(&args.connect, to, path, args.text.as_deref()).await;
    }
    let message = text_message(args, &to)?;
    let options = if args.status_to.is_empty() {
        SendOptions::default()
    } else {
        if !to.is_status_broadcast() {
            bail!("--status-to is for a status post (--to status@broadcast)");
        }
        let recipients = args
            .status_to
            .iter()
            .map(|u| parse_jid(u))
            .collect::<Result<Vec<_>>>()?;
        SendOptions::status_to(recipients)
    };
    send_one_with(&args.connect, &args.to, message, options).await
}

/// `wa react`.
pub async fn react(args: &ReactArgs) -> Result<String> {
    let chat = parse_jid(&args.target.to)?;
    let target = if args.mine {
        Target::own(chat, &args.target.id)
    } else {
        Target::from(chat.clone(), &args.target.id, chat)
    };
    let message = build::reaction(&target, &args.emoji, now_ms());
    send_one(&args.target.connect, &args.target.to, message).await
}

/// `wa edit`.
pub async fn edit(args: &EditArgs) -> Result<String> {
    let chat = parse_jid(&args.target.to)?;
    let message = build::edit(&chat, &args.target.id, build::text(&args.text), now_ms());
    send_one(&args.target.connect, &args.target.to, message).await
}

/// `wa revoke`: deletes one of our messages for everyone.
pub async fn revoke(args: &TargetArgs) -> Result<String> {
    let chat = parse_jid(&args.to)?;
    let message = build::revoke(&Target::own(chat, &args.id));
    send_one(&args.connect, &args.to, message).await
}

/// `wa poll`.
pub async fn poll(args: &PollArgs) -> Result<String> {
    let secret = random_bytes::<32>()?;
    let message = poll::poll_creation(&args.name, &args.options, args.selectable, secret)?;
    send_one(&args.connect, &args.to, message).await
}

/// `wa listen` options.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Connection and store options.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Print every event as one JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many messages.
    #[arg(long)]
    pub count: Option<u64>,
    /// Mark every received message read.
    #[arg(long)]
    pub read: bool,
    /// Stop after this many seconds.
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Subscribe to this contact's presence (repeatable): its online/offline changes and chat
    /// states are printed.
    #[arg(long)]
    pub subscribe: Vec<String>,
    /// Reject every incoming call (each rejection is printed).
    #[arg(long)]
    pub reject_calls: bool,
}

/// An event as the JSON line `wa listen --json` prints: the event's own serialization, with
/// the typed view of the message (`content`) added to message events and the counts
/// (`summary`: sync type, chunk, progress, conversations, messages, push names) added to
/// history-sync events.
pub fn event_json(event: &Event) -> Result<Value> {
    let mut value = serde_json::to_value(event).context("serializing an event")?;
    if let Value::Object(map) = &mut value {
        match event {
            Event::Message(m) => {
                map.insert(
                    "content".into(),
                    serde_json::to_value(MessageContent::from_message(&m.message))?,
                );
            }
            Event::HistorySync(h) => {
                map.insert(
                    "summary".into(),
                    serde_json::json!({
                        "sync_type": h.sync_type().map(|t| t.as_str_name()),
                        "chunk_order": h.chunk_order(),
                        "progress": h.progress(),
                        "conversations": h.conversations().len(),
                        "messages": h.message_count(),
                        "push_names": h.data.pushnames.len(),
                    }),
                );
            }
            _ => {}
        }
    }
    Ok(value)
}

/// One line for a person to read, or `None` for events not worth a line.
pub fn event_line(event: &Event) -> Option<String> {
    Some(match event {
        Event::Message(m) => message_line(m),
        Event::Receipt(r) => format!(
            "receipt {} for {} from {}",
            receipt_word(&r.kind),
            r.message_ids.join(", "),
            r.sender
        ),
        Event::UndecryptableMessage { info, reason } => format!(
            "could not decrypt {} from {}: {reason}",
            info.id, info.source.sender
        ),
        Event::Disconnected {
            reason,
            reconnecting,
        } => format!("disconnected ({reason:?}); reconnecting: {reconnecting}"),
        Event::Connected => "connected".into(),
        Event::OfflineSyncCompleted { count } => format!("offline queue drained ({count})"),
        Event::HistorySync(h) => format!("history sync {}", h.summary()),
        Event::HistorySyncFailed { message_id, error } => {
            format!("history sync {message_id} failed: {error}")
        }
        Event::Presence(p) => match (p.unavailable, p.last_seen) {
            (false, _) => format!("{} is online", p.from),
            (true, Some(t)) => format!("{} is offline (last seen {t})", p.from),
            (true, None) => format!("{} is offline", p.from),
        },
        Event::ChatPresence(c) => {
            let what = match (c.state, c.media) {
                (ChatPresence::Paused, _) => "stopped typing",
                (ChatPresence::Composing, ChatPresenceMedia::Audio) => "is recording audio",
                (ChatPresence::Composing, ChatPresenceMedia::Text) => "is typing",
            };
            if c.chat == c.sender {
                format!("{} {what}", c.sender)
            } else {
                format!("{} {what} in {}", c.sender, c.chat)
            }
        }
        Event::Call(c) => crate::calls::call_line(c),
        Event::Picture(p) => {
            let by = (p.author.as_ref())
                .filter(|a| a.to_non_ad() != p.jid.to_non_ad())
                .map(|a| format!(" (by {a})"))
                .unwrap_or_default();
            match (&p.picture_id, p.remove) {
                (_, true) | (None, _) => format!("{} removed its profile picture{by}", p.jid),
                (Some(id), false) => format!("{} has a new profile picture {id}{by}", p.jid),
            }
        }
        Event::UserAbout(a) => format!("{} changed their about text: {}", a.jid, a.status),
        Event::Blocklist(b) => {
            let changes: Vec<String> = (b.changes.iter())
                .map(|c| {
                    let what = match c.action {
                        wa_client::BlocklistAction::Block => "blocked",
                        wa_client::BlocklistAction::Unblock => "unblocked",
                    };
                    format!("{} {what}", c.jid)
                })
                .collect();
            if changes.is_empty() {
                "blocklist changed on another device".into()
            } else {
                format!("blocklist: {}", changes.join(", "))
            }
        }
        Event::PrivacySettings(_) => "privacy settings changed on another device".into(),
        _ => return None,
    })
}

fn message_line(m: &MessageEvent) -> String {
    let who = m
        .info
        .push_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .map(|n| format!("{n} ({})", m.info.source.sender))
        .unwrap_or_else(|| m.info.source.sender.to_string());
    let dir = if m.info.source.is_from_me {
        " [from me]"
    } else {
        ""
    };
    format!(
        "[{}] {who}{dir} in {}: {}",
        m.info.id,
        m.info.source.chat,
        MessageContent::from_message(&m.message).summary()
    )
}

/// A receipt kind in plain words.
pub fn receipt_word(kind: &ReceiptKind) -> &str {
    match kind {
        ReceiptKind::Delivered => "delivered",
        ReceiptKind::Read => "read",
        ReceiptKind::ReadSelf => "read on another of our devices",
        ReceiptKind::Played => "played",
        ReceiptKind::PlayedSelf => "played on another of our devices",
        ReceiptKind::Retry => "retry requested",
        ReceiptKind::Sender => "delivered to our other device",
        ReceiptKind::Inactive => "delivered (inactive device)",
        ReceiptKind::ServerError => "server error",
        ReceiptKind::Other(s) => s,
        _ => "other",
    }
}

/// `wa listen`: prints events until interrupted, `--count` messages or `--seconds`.
pub async fn listen(args: &ListenArgs) -> Result<String> {
    let mut session = open_session(&args.connect).await?;
    if !args.json {
        crate::say!("listening as {}; Ctrl-C to stop", session.own);
    }
    let early = std::mem::take(&mut session.early);
    let res = async {
        for contact in &args.subscribe {
            session
                .client
                .subscribe_presence(parse_jid(contact)?)
                .await
                .with_context(|| format!("subscribing to {contact}"))?;
        }
        listen_loop(&session.client, &mut session.events, early, args).await
    }
    .await;
    session.client.disconnect().await;
    let n = res?;
    Ok(if args.json {
        String::new()
    } else {
        format!("{n} message(s) received")
    })
}

async fn listen_loop(
    client: &Client,
    events: &mut EventStream,
    early: Vec<Event>,
    args: &ListenArgs,
) -> Result<u64> {
    let deadline = args
        .seconds
        .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let mut messages = 0u64;
    let mut stdout = std::io::stdout();
    let mut early = early.into_iter();
    loop {
        if args.count.is_some_and(|c| messages >= c) {
            return Ok(messages);
        }
        if let Some(event) = early.next() {
            messages += handle_event(client, &event, args, &mut stdout).await?;
            continue;
        }
        let next = async {
            match deadline {
                Some(d) => tokio::time::timeout_at(d, events.recv()).await.ok(),
                None => Some(events.recv().await),
            }
        };
        let event = tokio::select! {
            e = next => match e {
                None => return Ok(messages),
                Some(None) => bail!("the client stopped"),
                Some(Some(e)) => e,
            },
            _ = tokio::signal::ctrl_c() => return Ok(messages),
        };
        messages += handle_event(client, &event, args, &mut stdout).await?;
        if let Event::Disconnected {
            reconnecting: false,
            reason,
        } = &event
        {
            bail!("disconnected: {reason:?}");
        }
    }
}

/// Prints one event (and marks a message read with `--read`); 1 for a message, else 0.
async fn handle_event(
    client: &Client,
    event: &Event,
    args: &ListenArgs,
    stdout: &mut std::io::Stdout,
) -> Result<u64> {
    if args.json {
        writeln!(stdout, "{}", event_json(event)?)?;
    } else if let Some(line) = event_line(event) {
        writeln!(stdout, "{line}")?;
    }
    if args.reject_calls
        && let Event::Call(call) = event
        && let Some(line) = crate::calls::auto_reject(client, call, args.json).await?
    {
        writeln!(stdout, "{line}")?;
    }
    stdout.flush().ok();
    let Event::Message(m) = event else {
        return Ok(0);
    };
    if args.read && !m.info.source.is_from_me {
        let ts = u64::try_from(now_ms() / 1000).unwrap_or(0);
        let sender = m.info.source.is_group.then(|| m.info.source.sender.clone());
        client
            .mark_read(
                std::slice::from_ref(&m.info.id),
                m.info.source.chat.clone(),
                sender,
                ts,
            )
            .await
            .context("marking read")?;
    }
    Ok(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_blocklist_and_privacy_events_get_a_line() {
        let bob = parse_jid("15550002").unwrap();
        let picture = |picture_id: Option<&str>, remove: bool| {
            Event::Picture(wa_client::PictureEvent {
                jid: bob.clone(),
                author: Some(bob.clone()),
                remove,
                picture_id: picture_id.map(str::to_owned),
                timestamp: 1,
            })
        };
        assert_eq!(
            event_line(&picture(Some("7"), false)).unwrap(),
            "15550002@s.whatsapp.net has a new profile picture 7"
        );
        assert_eq!(
            event_line(&picture(None, true)).unwrap(),
            "15550002@s.whatsapp.net removed its profile picture"
        );
        let about = Event::UserAbout(wa_client::UserAboutEvent {
            jid: bob.clone(),
            status: "at work".into(),
            timestamp: 1,
        });
        assert_eq!(
            event_line(&about).unwrap(),
            "15550002@s.whatsapp.net changed their about text: at work"
        );
        let blocked = Event::Blocklist(wa_client::BlocklistEvent {
            dhash: "2".into(),
            prev_dhash: Some("1".into()),
            changes: vec![wa_client::BlocklistChange {
                jid: bob,
                action: wa_client::BlocklistAction::Block,
            }],
        });
        assert_eq!(
            event_line(&blocked).unwrap(),
            "blocklist: 15550002@s.whatsapp.net blocked"
        );
        let privacy = Event::PrivacySettings(wa_client::PrivacySettings::default());
        assert_eq!(
            event_line(&privacy).unwrap(),
            "privacy settings changed on another device"
        );
    }

    #[test]
    fn history_syncs_get_one_line_and_json_counts() {
        use wa_client::HistorySyncEvent;
        use wa_proto::proto::{Conversation, HistorySync, HistorySyncMsg, WebMessageInfo};
        let conversation = Conversation {
            id: "15550002@s.whatsapp.net".into(),
            messages: vec![
                HistorySyncMsg::default(),
                HistorySyncMsg {
                    message: Some(WebMessageInfo::default()),
                    msg_order_id: None,
                },
            ],
            ..Default::default()
        };
        let event = Event::HistorySync(Box::new(HistorySyncEvent {
            message_id: "N1".into(),
            own_jid: parse_jid("15550001").unwrap(),
            data: HistorySync {
                sync_type: 2,
                chunk_order: Some(3),
                progress: Some(75),
                conversations: vec![conversation],
                ..Default::default()
            },
        }));
        assert_eq!(
            event_line(&event).unwrap(),
            "history sync FULL chunk 3 (75%): 1 conversations, 2 messages, 0 push names"
        );
        let json = event_json(&event).unwrap();
        assert_eq!(json["type"], "history_sync");
        assert_eq!(json["summary"]["sync_type"], "FULL");
        assert_eq!(json["summary"]["conversations"], 1);
        assert_eq!(json["summary"]["messages"], 2);
        assert_eq!(json["message_id"], "N1");
        let failed = Event::HistorySyncFailed {
            message_id: "N2".into(),
            error: "bad hash".into(),
        };
        assert_eq!(
            event_line(&failed).unwrap(),
            "history sync N2 failed: bad hash"
        );
        assert_eq!(event_json(&failed).unwrap()["type"], "history_sync_failed");
    }

    #[test]
    fn jids_and_phone_numbers() {
        assert_eq!(
            parse_jid("+15550001").unwrap().to_string(),
            "15550001@s.whatsapp.net"
        );
        assert_eq!(parse_jid("123@lid").unwrap().to_string(), "123@lid");
        assert!(parse_jid("").is_err());
        assert!(parse_jid("s.whatsapp.net").is_err());
        assert!(parse_jid("a@b@c").is_err());
    }

    #[test]
    fn send_builds_replies_with_mentions() {
        let args = SendArgs {
            connect: ConnectArgs::offline("x"),
            to: "15550002".into(),
            text: Some("@15550003 yes".into()),
            image: None,
            reply_to: Some("3EB0X".into()),
            reply_sender: None,
            quoted_text: Some("lunch?".into()),
            mention: vec!["15550003".into()],
            status_to: Vec::new(),
        };
        let to = parse_jid(&args.to).unwrap();
        let m = text_message(&args, &to).unwrap();
        let MessageContent::Text {
            text,
            mentions,
            quoted: Some(q),
        } = MessageContent::from_message(&m)
        else {
            panic!("not a reply")
        };
        assert_eq!(text, "@15550003 yes");
        assert_eq!(mentions, vec!["15550003@s.whatsapp.net"]);
        assert_eq!(q.id, "3EB0X");
        assert_eq!(q.sender.as_deref(), Some("15550002@s.whatsapp.net"));
        assert_eq!(q.text.as_deref(), Some("lunch?"));
    }
}
