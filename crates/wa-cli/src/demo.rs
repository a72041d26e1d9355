//! `wa demo`: two accounts talking through an embedded `wa-testserver`, narrated.
//!
//! The server runs in this process on a loopback port. Alice and Bob each get an account with
//! a simulated phone; a companion client for each shows its QR code, the phone scans it, the
//! client pairs and logs in. Then, in both directions: a text, a reply quoting it, a reaction
//! and an edit, with the delivery and read receipts the sender sees. Every step waits at most
//! [`STEP_TIMEOUT`]; the first one that does not happen ends the demo with an error saying
//! which.

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use wa_binary::Jid;
use wa_client::message::build::{self, Quote, Target, TextBuilder};
use wa_client::message::content::MessageContent;
use wa_client::{
    ChatPresence, ChatPresenceMedia, Client, Config, Event, EventStream, MessageEvent, ReceiptKind,
};
use wa_proto::proto::Message;
use wa_store::MemoryContainer;
use wa_testserver::{AccountInfo, TestServer};

use crate::messaging::{now_ms, receipt_word};
use crate::session::render_qr;

/// How long one step may take.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// What the demo saw happen, for tests and for the closing summary.
#[derive(Debug, Default)]
pub struct DemoReport {
    /// The narration, line by line, as printed.
    pub lines: Vec<String>,
    /// The typed content of every message Alice received, in order.
    pub alice_received: Vec<MessageContent>,
    /// The typed content of every message Bob received, in order.
    pub bob_received: Vec<MessageContent>,
    /// Receipts Alice saw for her messages: (message id, kind).
    pub alice_receipts: Vec<(String, ReceiptKind)>,
    /// Receipts Bob saw for his messages: (message id, kind).
    pub bob_receipts: Vec<(String, ReceiptKind)>,
    /// Wall time of the conversation part (after both are logged in).
    pub conversation_time: Duration,
    /// Who Alice saw typing to her (the sender of each chat state she received).
    pub alice_saw_typing: Vec<Jid>,
}

/// Collects (and optionally prints) the narration.
#[derive(Debug, Default)]
pub struct Narrator {
    echo: bool,
    lines: Vec<String>,
}

impl Narrator {
    /// A narrator that prints each line when `echo`.
    pub fn new(echo: bool) -> Self {
        Self {
            echo,
            lines: Vec::new(),
        }
    }

    /// The lines so far.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Adds (and prints) a line.
    pub fn say(&mut self, line: impl Into<String>) {
        let line = line.into();
        if self.echo {
            crate::say!("{line}");
        }
        self.lines.push(line);
    }
}

/// One side of the conversation: an account, its companion client and unread events.
pub struct Party {
    /// The person's name (also the account's push name).
    pub name: &'static str,
    /// The account on the test server.
    pub account: AccountInfo,
    /// The companion client.
    pub client: Client,
    events: EventStream,
    backlog: VecDeque<Event>,
    received: Vec<MessageContent>,
    receipts: Vec<(String, ReceiptKind)>,
}

impl std::fmt::Debug for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Party")
            .field("name", &self.name)
            .field("account", &self.account)
            .field("queued_events", &self.backlog.len())
            .finish_non_exhaustive()
    }
}

impl Party {
    /// The first event matching `pred` (earlier non-matching ones stay queued), within
    /// [`STEP_TIMEOUT`]; `what` names the step in the error.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Result<Event> {
        if let Some(pos) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(pos).context("backlog");
        }
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let event = match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(e)) => e,
                Ok(None) => return Err(anyhow!("{}'s client stopped while {what}", self.name)),
                Err(_) => {
                    return Err(anyhow!(
                        "{}: timed out after {} s while {what}",
                        self.name,
                        STEP_TIMEOUT.as_secs()
                    ));
                }
            };
            if let Event::Disconnected {
                reconnecting: false,
                reason,
            } = &event
            {
                return Err(anyhow!(
                    "{} was disconnected ({reason:?}) while {what}",
                    self.name
                ));
            }
            if pred(&event) {
                return Ok(event);
            }
            self.backlog.push_back(event);
        }
    }

    /// The message with id `id`.
    pub async fn message(&mut self, id: &str, what: &str) -> Result<MessageEvent> {
        let event = self
            .wait_for(what, |e| matches!(e, Event::Message(m) if m.info.id == id))
            .await?;
        let Event::Message(m) = event else {
            return Err(anyhow!("unexpected event"));
        };
        self.received.push(MessageContent::from_message(&m.message));
        Ok(*m)
    }

    /// A receipt of `kind` covering message `id`; returns the device that sent it.
    pub async fn receipt(&mut self, id: &str, kind: ReceiptKind, what: &str) -> Result<String> {
        let event = self
            .wait_for(what, |e| {
                matches!(e, Event::Receipt(r) if r.kind == kind && r.message_ids.iter().any(|m| m == id))
            })
            .await?;
        let Event::Receipt(r) = event else {
            return Err(anyhow!("unexpected event"));
        };
        self.receipts.push((id.to_owned(), kind));
        Ok(r.sender)
    }

    /// Sends `message` to `to` and waits for the server's ack: the message id.
    pub async fn send(&self, to: &Jid, message: Message, what: &str) -> Result<String> {
        let sent = self
            .client
            .send_message(to.clone(), message)
            .await
            .with_context(|| format!("{} sending {what}", self.name))?;
        Ok(sent.id)
    }
}

fn unix_now() -> u64 {
    u64::try_from(now_ms() / 1000).unwrap_or(0)
}

/// Creates the account, pairs a companion by QR (the phone scanning it) and waits for login.
pub async fn join(
    server: &TestServer,
    narrator: &mut Narrator,
    name: &'static str,
    phone: &str,
) -> Result<Party> {
    let admin = server.admin();
    let account = admin
        .create_account(phone, name)
        .with_context(|| format!("creating {name}'s account"))?;
    narrator.say(format!(
        "{name}'s account: phone {}, LID {} (a simulated phone holds it).",
        account.pn, account.lid
    ));
    let config = Config {
        url: server.url(),
        trust_root: server.trust_root(),
        ..Config::default()
    };
    let (client, events) = Client::start(config, MemoryContainer::new(), None)
        .await
        .with_context(|| format!("starting {name}'s client"))?;
    let mut party = Party {
        name,
        account,
        client,
        events,
        backlog: VecDeque::new(),
        received: Vec::new(),
        receipts: Vec::new(),
    };
    let Event::Qr { code } = party
        .wait_for("waiting for a QR code", |e| matches!(e, Event::Qr { .. }))
        .await?
    else {
        return Err(anyhow!("unexpected event"));
    };
    narrator.say(format!("{name}'s new companion device shows this QR code:"));
    for line in render_qr(&code)?.lines() {
        narrator.say(line);
    }
    narrator.say(format!("  ({code})"));
    narrator.say(format!(
        "{name}'s phone scans it (Linked devices > Link a device)..."
    ));
    let scan = {
        let admin = server.admin();
        let phone = phone.to_owned();
        tokio::spawn(async move { admin.scan_qr_for(&phone, &code).await })
    };
    let paired = party
        .wait_for("pairing", |e| matches!(e, Event::PairSuccess { .. }))
        .await?;
    scan.await
        .context("the phone's scan task")?
        .context("the phone's scan")?;
    if let Event::PairSuccess { jid, .. } = paired {
        narrator.say(format!("{name}'s companion is paired as {jid}."));
    }
    party
        .wait_for("logging in", |e| *e == Event::Connected)
        .await?;
    narrator.say(format!("{name}'s companion is logged in."));
    Ok(party)
}

/// `sender` sends `text` to `recipient` (at `to`); the recipient gets it, the sender sees it
/// delivered, the recipient reads it, the sender sees it read. Returns the message as the
/// recipient received it.
async fn text_exchange(
    n: &mut Narrator,
    sender: &mut Party,
    recipient: &mut Party,
    to: &Jid,
    message: Message,
    label: &str,
) -> Result<MessageEvent> {
    let id = sender.send(to, message, label).await?;
    n.say(format!("{} sends {label} (id {id}).", sender.name));
    let got = recipient
        .message(&id, &format!("waiting for {}'s {label}", sender.name))
        .await?;
    n.say(format!(
        "{} receives it from {} ({}): {}",
        recipient.name,
        got.info.push_name.as_deref().unwrap_or("?"),
        got.info.source.sender,
        MessageContent::from_message(&got.message).summary()
    ));
    let by = sender
        .receipt(
            &id,
            ReceiptKind::Delivered,
            &format!("waiting for the delivery receipt of {label}"),
        )
        .await?;
    n.say(format!(
        "{} sees: {} (receipt from {by}).",
        sender.name,
        receipt_word(&ReceiptKind::Delivered)
    ));
    recipient
        .client
        .mark_read(
            std::slice::from_ref(&got.info.id),
            got.info.source.chat.clone(),
            None,
            unix_now(),
        )
        .await
        .with_context(|| format!("{} marking {label} read", recipient.name))?;
    n.say(format!("{} opens the chat and reads it.", recipient.name));
    let by = sender
        .receipt(
            &id,
            ReceiptKind::Read,
            &format!("waiting for the read receipt of {label}"),
        )
        .await?;
    n.say(format!(
        "{} sees: {} (receipt from {by}).",
        sender.name,
        receipt_word(&ReceiptKind::Read)
    ));
    Ok(got)
}

/// `sender` sends `message` (a reaction or an edit); `recipient` gets it.
async fn one_way(
    n: &mut Narrator,
    sender: &mut Party,
    recipient: &mut Party,
    to: &Jid,
    message: Message,
    label: &str,
) -> Result<()> {
    let id = sender.send(to, message, label).await?;
    n.say(format!("{} sends {label} (id {id}).", sender.name));
    let got = recipient
        .message(&id, &format!("waiting for {}'s {label}", sender.name))
        .await?;
    n.say(format!(
        "{} receives: {}",
        recipient.name,
        MessageContent::from_message(&got.message).summary()
    ));
    Ok(())
}

/// Runs the whole demo; prints the narration when `echo`.
pub async fn run(echo: bool) -> Result<DemoReport> {
    let mut n = Narrator::new(echo);
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .context("starting the embedded wa-testserver")?;
    n.say(format!(
        "Started an embedded wa-testserver on {} (its own Noise certificate root).",
        server.url()
    ));
    let (mut report, mut alice, mut bob) = match conversation(&server, &mut n).await {
        Ok(done) => done,
        Err(e) => {
            server.shutdown().await;
            return Err(e);
        }
    };
    alice.client.disconnect().await;
    bob.client.disconnect().await;
    server.shutdown().await;
    report.alice_received = std::mem::take(&mut alice.received);
    report.bob_received = std::mem::take(&mut bob.received);
    report.alice_receipts = std::mem::take(&mut alice.receipts);
    report.bob_receipts = std::mem::take(&mut bob.receipts);
    report.lines = n.lines;
    Ok(report)
}

async fn conversation(server: &TestServer, n: &mut Narrator) -> Result<(DemoReport, Party, Party)> {
    let mut alice = join(server, n, "Alice", "15550100001").await?;
    let mut bob = join(server, n, "Bob", "15550100002").await?;
    let started = tokio::time::Instant::now();
    n.say("");
    n.say("Alice writes to Bob's phone number.");
    let bob_pn = bob.account.pn.clone();
    let first = "Hi Bob! Lunch today?";
    let got = text_exchange(
        n,
        &mut alice,
        &mut bob,
        &bob_pn,
        build::text(first),
        &format!("a text {first:?}"),
    )
    .await?;
    let alice_msg_id = got.info.id.clone();
    // Bob answers in the chat as the server showed it to him.
    let chat_for_bob = got.info.source.chat.clone();
    let alice_sender = got.info.source.sender.to_non_ad();

    n.say("");
    bob.client
        .send_chat_presence(
            chat_for_bob.clone(),
            ChatPresence::Composing,
            ChatPresenceMedia::Text,
        )
        .await
        .context("Bob sending his typing state")?;
    let typing = alice
        .wait_for(
            "waiting for Bob's typing state",
            |e| matches!(e, Event::ChatPresence(c) if c.state == ChatPresence::Composing),
        )
        .await?;
    let typist = match typing {
        Event::ChatPresence(c) => c.sender,
        _ => return Err(anyhow!("unexpected event")),
    };
    n.say(format!(
        "Bob starts typing; Alice sees \"{typist} is typing…\"."
    ));
    let reply = TextBuilder::new("Sure, 12:30 at the usual place?")
        .reply_to(Quote {
            id: alice_msg_id.clone(),
            sender: alice_sender.clone(),
            message: build::text(first),
        })
        .build();
    let got = text_exchange(
        n,
        &mut bob,
        &mut alice,
        &chat_for_bob,
        reply,
        "a reply quoting Alice's text",
    )
    .await?;
    let bob_reply_id = got.info.id.clone();
    let chat_for_alice = got.info.source.chat.clone();
    let bob_sender = got.info.source.sender.to_non_ad();

    n.say("");
    let like = build::reaction(
        &Target::from(chat_for_alice.clone(), &bob_reply_id, bob_sender),
        "👍",
        now_ms(),
    );
    one_way(
        n,
        &mut alice,
        &mut bob,
        &chat_for_alice,
        like,
        "a 👍 reaction to Bob's reply",
    )
    .await?;
    let heart = build::reaction(
        &Target::from(chat_for_bob.clone(), &alice_msg_id, alice_sender),
        "❤️",
        now_ms(),
    );
    one_way(
        n,
        &mut bob,
        &mut alice,
        &chat_for_bob,
        heart,
        "a ❤️ reaction to Alice's text",
    )
    .await?;

    n.say("");
    let fixed = build::edit(
        &chat_for_alice,
        &alice_msg_id,
        build::text("Hi Bob! Lunch tomorrow instead?"),
        now_ms(),
    );
    one_way(
        n,
        &mut alice,
        &mut bob,
        &chat_for_alice,
        fixed,
        "an edit of her first text",
    )
    .await?;
    let fixed = build::edit(
        &chat_for_bob,
        &bob_reply_id,
        build::text("Sure, 13:00 tomorrow at the usual place?"),
        now_ms(),
    );
    one_way(
        n,
        &mut bob,
        &mut alice,
        &chat_for_bob,
        fixed,
        "an edit of his reply",
    )
    .await?;

    let report = DemoReport {
        conversation_time: started.elapsed(),
        alice_saw_typing: vec![typist],
        ..DemoReport::default()
    };
    n.say("");
    n.say(format!(
        "Done: texts, replies, reactions and edits went both ways, delivered and read, with a typing indicator, in {} ms.",
        report.conversation_time.as_millis()
    ));
    Ok((report, alice, bob))
}
