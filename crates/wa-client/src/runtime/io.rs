//! The socket stage of a connection: it opens the WebSocket, writes and reads. Once the
//! driver hands it the engine's [`StanzaReader`] and [`StanzaWriter`] it also decrypts and
//! decodes what it reads, and encodes and encrypts what it writes, so the driver deals in
//! stanzas only. It also parses each `<message>` for the account ([`PreparedMessage`]), and
//! frees what the driver's receive runs leave ([`Spent`]): most of that was allocated here,
//! and glibc malloc is slow when one thread frees many blocks another one allocated.
//!
//! Why a stage of its own: during a burst the driver's thread spent about a third of its
//! time on socket reads and writes, Noise and the binary codec, while the second core sat
//! partly idle. Here that work runs beside the driver: on the process's socket thread when the
//! application's runtime has a single thread, or as a task of a multi-thread runtime. The
//! order of stanzas is kept: one reader, one channel.
//!
//! Reading stops while the driver is behind ([`INBOUND_QUEUE`] batches waiting), so TCP's
//! window still slows the server down as it did when the driver read the socket itself.

use std::sync::{Arc, OnceLock};

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Bytes;
use tokio_tungstenite::tungstenite::Message;
use tracing::debug;
use wa_binary::{Jid, Node};

use super::socket::{self, Socket};
use crate::config::Config;
use crate::engine::{StanzaReader, StanzaWriter};
use crate::error::{Error, Result};
use crate::recv::{PreparedMessage, Spent};

/// Batches the driver has not taken yet before the stage stops reading the socket.
const INBOUND_QUEUE: usize = 8;

/// Already-arrived WebSocket messages one read pass takes after the one it woke up for.
const DRAIN_FRAMES: usize = 255;

/// Stanzas in one batch: a bound on what the driver handles (and commits) in one pass.
const BATCH_STANZAS: usize = 256;

/// How long closing waits for the socket's close handshake.
const CLOSE_WAIT: core::time::Duration = core::time::Duration::from_secs(2);

/// What the stage tells the driver, in the order it happened.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// The socket is open.
    Open,
    /// Connecting failed; the stage has stopped.
    ConnectFailed(Error),
    /// Binary messages read before the reader was handed over (the handshake), as they came.
    Frames(Vec<Bytes>),
    /// Stanzas the reader decoded, in wire order.
    Stanzas(Vec<Decoded>),
    /// The reader failed on a frame (decryption or decoding; reading has stopped), or the
    /// writer on a stanza (nothing more is written).
    TransportFailed(Error),
    /// A write failed; later writes are dropped, reading goes on.
    WriteFailed(String),
    /// The socket was closed or failed; reading has stopped.
    Closed(String),
}

/// One stanza the reader decoded.
#[derive(Debug)]
pub(crate) enum Decoded {
    /// A stanza as it was decoded.
    Stanza(Node),
    /// A `<message>`, parsed for the account here already, so that the driver's thread
    /// only decrypts it.
    Message(Box<PreparedMessage>),
}

/// The account's phone-number and LID JIDs (what a message is parsed for).
pub(crate) type OwnJids = Arc<(Jid, Option<Jid>)>;

/// What the driver tells the stage.
enum Outbound {
    /// Decrypt and decode everything read from now on; parse messages for this account
    /// (none: leave them to the driver).
    Reader(Box<StanzaReader>, Option<OwnJids>),
    /// Encode and encrypt the stanzas of every later write.
    Writer(Box<StanzaWriter>),
    /// Write these binary messages, then these stanzas, then flush once; then free what
    /// the receive runs before left (allocated here, see [`Spent`]).
    Write(Vec<Vec<u8>>, Vec<Node>, Vec<Spent>),
    /// Close the socket and stop.
    Close,
}

/// The driver's handle on the socket stage. Dropping it stops the stage and closes the socket.
#[derive(Debug)]
pub(crate) struct SocketStage {
    inbound: mpsc::Receiver<Inbound>,
    outbound: mpsc::UnboundedSender<Outbound>,
    /// What receive runs left, to go with the next write (one wake-up of the stage for both).
    spent: Vec<Spent>,
}

impl SocketStage {
    /// Starts the stage, which connects at once (report: [`Inbound::Open`] or
    /// [`Inbound::ConnectFailed`]), on the process's socket thread or as a task of the calling
    /// runtime ([`Config::socket_thread`]).
    pub(crate) fn start(config: &Config) -> Result<Self> {
        let (to_driver, inbound) = mpsc::channel(INBOUND_QUEUE);
        let (outbound, commands) = mpsc::unbounded_channel();
        let stage = run(config.clone(), to_driver, commands);
        if own_thread(config.socket_thread) {
            socket_thread()?.spawn(stage);
        } else {
            tokio::spawn(stage);
        }
        Ok(Self {
            inbound,
            outbound,
            spent: Vec::new(),
        })
    }

    /// The next report; `Closed` once the stage has stopped without saying why.
    pub(crate) async fn recv(&mut self) -> Inbound {
        self.inbound
            .recv()
            .await
            .unwrap_or_else(|| Inbound::Closed("socket stage stopped".to_owned()))
    }

    /// A report that is already waiting, if any.
    pub(crate) fn try_recv(&mut self) -> Option<Inbound> {
        self.inbound.try_recv().ok()
    }

    /// Hands the engine's reader over: everything read after this arrives decoded, and
    /// messages parsed for the account `own` (when it has its JIDs).
    pub(crate) fn hand_over_reader(&self, reader: StanzaReader, own: Option<OwnJids>) {
        let _ = self.outbound.send(Outbound::Reader(Box::new(reader), own));
    }

    /// Hands the engine's writer over: the stanzas of later writes are encoded with it.
    pub(crate) fn hand_over_writer(&self, writer: StanzaWriter) {
        let _ = self.outbound.send(Outbound::Writer(Box::new(writer)));
    }

    /// Queues binary messages, then stanzas, for the socket (written in order, flushed once),
    /// with what receive runs left since the last write.
    pub(crate) fn write(&mut self, frames: Vec<Vec<u8>>, stanzas: Vec<Node>) {
        if !frames.is_empty() || !stanzas.is_empty() || !self.spent.is_empty() {
            let spent = core::mem::take(&mut self.spent);
            let _ = self.outbound.send(Outbound::Write(frames, stanzas, spent));
        }
    }

    /// Hands what a receive run left back to the stage's thread, which allocated most of it,
    /// to be freed there (with the next [`Self::write`]).
    pub(crate) fn free(&mut self, spent: Spent) {
        if !spent.is_empty() {
            self.spent.push(spent);
        }
    }

    /// Closes the socket after the writes queued before, and waits (at most
    /// [`CLOSE_WAIT`]) until the stage has stopped: when the driver reports the connection
    /// closed, the server has seen it close.
    pub(crate) async fn close(mut self) {
        let _ = self.outbound.send(Outbound::Close);
        let stopped = async { while self.inbound.recv().await.is_some() {} };
        if tokio::time::timeout(CLOSE_WAIT, stopped).await.is_err() {
            debug!("socket stage still closing; leaving it");
        }
    }
}

/// The process's socket thread, started on first use: one runtime thread that runs the
/// socket stages of every client placed there. One thread for all of them, not one each:
/// a hundred idle clients should not cost a hundred threads and their heaps.
fn socket_thread() -> Result<&'static tokio::runtime::Handle> {
    static SHARED: OnceLock<core::result::Result<tokio::runtime::Handle, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let handle = runtime.handle().clone();
            std::thread::Builder::new()
                .name("wa-socket".into())
                .spawn(move || runtime.block_on(core::future::pending::<()>()))
                .map_err(|e| e.to_string())?;
            Ok(handle)
        })
        .as_ref()
        .map_err(|e| Error::Connect(format!("starting the socket thread: {e}")))
}

fn own_thread(setting: Option<bool>) -> bool {
    setting.unwrap_or_else(|| {
        let single = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread);
        single && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
    })
}

async fn run(
    config: Config,
    to_driver: mpsc::Sender<Inbound>,
    mut commands: mpsc::UnboundedReceiver<Outbound>,
) {
    let connected = tokio::time::timeout(config.connect_timeout, socket::connect(&config))
        .await
        .unwrap_or_else(|_| Err(Error::Connect("timed out".into())));
    let socket = match connected {
        Ok(s) => s,
        Err(e) => {
            let _ = to_driver.send(Inbound::ConnectFailed(e)).await;
            return;
        }
    };
    drop(config);
    if to_driver.send(Inbound::Open).await.is_err() {
        return;
    }
    let (mut sink, mut stream) = socket.split();
    let mut reader: Option<Box<StanzaReader>> = None;
    let mut own: Option<OwnJids> = None;
    let mut writer: Option<Box<StanzaWriter>> = None;
    // Reports waiting for room in the channel; the socket is not read while there are any.
    let mut waiting: std::collections::VecDeque<Inbound> = std::collections::VecDeque::new();
    let mut reading = true;
    let mut write_failed = false;
    loop {
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                Some(Outbound::Write(frames, stanzas, spent)) if !write_failed => {
                    let written = write_all(&mut sink, frames, &stanzas, writer.as_deref_mut()).await;
                    // Freed once the stanzas are on their way.
                    drop(spent);
                    match written {
                        Ok(()) => {}
                        Err(WriteError::Socket(e)) => {
                            debug!(error = %e, "socket write failed; reading what is left");
                            write_failed = true;
                            waiting.push_back(Inbound::WriteFailed(e));
                        }
                        Err(WriteError::Encode(e)) => {
                            write_failed = true;
                            waiting.push_back(Inbound::TransportFailed(e));
                        }
                    }
                }
                Some(Outbound::Write(..)) => {}
                Some(Outbound::Reader(r, account)) => {
                    reader = Some(r);
                    own = account;
                }
                Some(Outbound::Writer(w)) => writer = Some(w),
                Some(Outbound::Close) | None => {
                    let _ = sink.close().await;
                    return;
                }
            },
            permit = to_driver.reserve(), if !waiting.is_empty() => match (permit, waiting.pop_front()) {
                (Ok(permit), Some(report)) => permit.send(report),
                // The driver is gone.
                (Err(_), _) => return,
                (Ok(_), None) => {}
            },
            message = stream.next(), if reading && waiting.is_empty() => {
                let reader = reader.as_deref_mut().map(|r| (r, own.as_ref()));
                reading = read_pass(message, &mut stream, reader, &mut waiting);
            }
        }
    }
}

/// Why a write failed.
enum WriteError {
    /// The socket failed.
    Socket(String),
    /// A stanza could not be encoded (no writer, or its cipher is exhausted).
    Encode(Error),
}

/// Writes `frames`, then `stanzas` encoded with `writer`, and flushes once.
async fn write_all<S>(
    sink: &mut S,
    frames: Vec<Vec<u8>>,
    stanzas: &[Node],
    mut writer: Option<&mut StanzaWriter>,
) -> core::result::Result<(), WriteError>
where
    S: futures_util::Sink<Message> + Unpin,
    S::Error: core::fmt::Display,
{
    let socket = |e: S::Error| WriteError::Socket(e.to_string());
    for frame in frames {
        sink.feed(Message::Binary(frame.into()))
            .await
            .map_err(socket)?;
    }
    for stanza in stanzas {
        let writer = writer
            .as_deref_mut()
            .ok_or_else(|| WriteError::Encode(Error::Protocol("no stanza writer".into())))?;
        let mut out = Vec::new();
        writer
            .encode(stanza, &mut out)
            .map_err(WriteError::Encode)?;
        sink.feed(Message::Binary(out.into()))
            .await
            .map_err(socket)?;
    }
    sink.flush().await.map_err(socket)
}

type Read = Option<core::result::Result<Message, tokio_tungstenite::tungstenite::Error>>;

/// Takes `first` and the messages already buffered behind it (bounded), decoded when there
/// is a reader, into reports. Returns whether reading goes on.
fn read_pass(
    first: Read,
    stream: &mut futures_util::stream::SplitStream<Socket>,
    mut reader: Option<(&mut StanzaReader, Option<&OwnJids>)>,
    out: &mut std::collections::VecDeque<Inbound>,
) -> bool {
    let mut frames = Vec::new();
    let mut stanzas = Vec::new();
    let mut next = Some(first);
    let mut drained = 0;
    let mut reading = true;
    while let Some(message) = next.take() {
        match message {
            Some(Ok(Message::Binary(bytes))) => match reader.as_mut() {
                Some((reader, own)) => {
                    reader.push(&bytes);
                    if let Err(e) = decode_all(reader, *own, &mut stanzas) {
                        reading = false;
                        flush_batch(&mut frames, &mut stanzas, out);
                        out.push_back(Inbound::TransportFailed(e));
                        break;
                    }
                }
                None => frames.push(bytes),
            },
            Some(Ok(Message::Close(_))) | None => {
                reading = false;
                flush_batch(&mut frames, &mut stanzas, out);
                out.push_back(Inbound::Closed("socket closed".to_owned()));
                break;
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                reading = false;
                flush_batch(&mut frames, &mut stanzas, out);
                out.push_back(Inbound::Closed(e.to_string()));
                break;
            }
        }
        if drained < DRAIN_FRAMES && stanzas.len() < BATCH_STANZAS {
            next = stream.next().now_or_never();
            drained += 1;
        }
    }
    flush_batch(&mut frames, &mut stanzas, out);
    reading
}

fn decode_all(
    reader: &mut StanzaReader,
    own: Option<&OwnJids>,
    stanzas: &mut Vec<Decoded>,
) -> Result<()> {
    while let Some(node) = reader.next_stanza()? {
        stanzas.push(match own {
            Some(own) if node.tag.as_str() == "message" => {
                Decoded::Message(Box::new(PreparedMessage::new(node, own.clone())))
            }
            _ => Decoded::Stanza(node),
        });
    }
    Ok(())
}

fn flush_batch(
    frames: &mut Vec<Bytes>,
    stanzas: &mut Vec<Decoded>,
    out: &mut std::collections::VecDeque<Inbound>,
) {
    if !frames.is_empty() {
        out.push_back(Inbound::Frames(core::mem::take(frames)));
    }
    if !stanzas.is_empty() {
        out.push_back(Inbound::Stanzas(core::mem::take(stanzas)));
    }
}
