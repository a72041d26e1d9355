//! 1:1 messaging end to end through the local test server (`wa-testserver` over loopback
//! WebSocket, plain `ws://`), release build, in one process on a 2-worker tokio runtime.
//!
//! Prints four measurements (no criterion: each is a whole scenario with a server):
//!
//! 1. `latency`: one sender and one receiver account with two companions each; `SEQUENTIAL`
//!    messages sent one after another from sender device 1, each timed from the call to
//!    `send_message` until receiver device 1 emits its `Event::Message` (p50, p99, max); then
//!    `PIPELINED` messages from `SENDERS` concurrent tasks, timed until both receiver devices
//!    have every message (messages/s).
//! 2. `burst`: `CHATS` sender accounts queue `BURST` texts in total for a receiver whose only
//!    companion is offline (the senders go offline too once they are done, so their
//!    receipt handling does not share the cores); the receiver logs in again from its store and the time from
//!    `Client::start` to the last `Event::Message` is the receive rate. Per-chat order is
//!    checked (every chat's sequence numbers arrive ascending, none lost or duplicated).
//! 3. `login`: `LOGINS` logins of an already paired companion on loopback, from
//!    `Client::start` to `Event::Connected` (p50, p99).
//!
//! Memory is measured by the `memory_clients` example (separate processes).
//!
//! `WA_BENCH_BURST=<n>` changes the burst size (default 10,000), `WA_BENCH_DECRYPT_THREADS=<n>`
//! sets the receiver's `Config::decrypt_threads`, `WA_BENCH_ONLY=burst` (or
//! `login`, `latency`) runs one scenario; under `cargo test --benches`
//! every count is small (a smoke run, not a measurement).
#![allow(missing_docs)]

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;
use wa_binary::Jid;
use wa_client::{Client, Config, DisconnectReason, Event, EventStream};
use wa_proto::proto::Message;
use wa_store::{Container, MemoryContainer, SqliteContainer};
use wa_testserver::TestServer;

const STEP: Duration = Duration::from_secs(60);

struct Sizes {
    sequential: usize,
    pipelined: usize,
    senders: usize,
    burst: usize,
    chats: usize,
    logins: usize,
}

fn sizes() -> Sizes {
    let benching = std::env::args().any(|a| a == "--bench");
    if !benching {
        return Sizes {
            sequential: 5,
            pipelined: 8,
            senders: 2,
            burst: 40,
            chats: 2,
            logins: 2,
        };
    }
    let burst = std::env::var("WA_BENCH_BURST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    Sizes {
        sequential: 1_000,
        pipelined: 2_000,
        senders: 8,
        burst,
        chats: 4,
        logins: 30,
    }
}

fn config(server: &TestServer) -> Config {
    Config {
        url: server.url(),
        trust_root: server.trust_root(),
        ..Config::default()
    }
}

async fn next(events: &mut EventStream) -> Event {
    tokio::time::timeout(STEP, events.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("event stream ended")
}

async fn until(events: &mut EventStream, pred: impl Fn(&Event) -> bool) -> Event {
    loop {
        let e = next(events).await;
        if pred(&e) {
            return e;
        }
    }
}

struct Companion<C = MemoryContainer> {
    client: Client,
    events: EventStream,
    container: C,
}

impl<C: Container> Companion<C> {
    async fn stop(&mut self) {
        self.client.disconnect().await;
        until(&mut self.events, |e| {
            matches!(
                e,
                Event::Disconnected {
                    reason: DisconnectReason::Requested,
                    ..
                }
            )
        })
        .await;
    }
}

async fn pair(server: &TestServer, phone: &str) -> Companion {
    pair_in(server, phone, MemoryContainer::new()).await
}

async fn pair_in<C: Container + Clone + 'static>(
    server: &TestServer,
    phone: &str,
    container: C,
) -> Companion<C> {
    let (client, mut events) = Client::start(config(server), container.clone(), None)
        .await
        .unwrap();
    let Event::Qr { code } = until(&mut events, |e| matches!(e, Event::Qr { .. })).await else {
        unreachable!()
    };
    let admin = server.admin();
    let phone = phone.to_owned();
    let scan = tokio::spawn(async move { admin.scan_qr_for(&phone, &code).await });
    until(&mut events, |e| *e == Event::Connected).await;
    scan.await.unwrap().unwrap();
    Companion {
        client,
        events,
        container,
    }
}

fn text(s: String) -> Message {
    Message {
        conversation: Some(s),
        ..Default::default()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Waits until `events` has delivered every id in `want` as `Event::Message`.
async fn receive_all(events: &mut EventStream, mut want: std::collections::HashSet<String>) {
    while !want.is_empty() {
        if let Event::Message(m) = next(events).await {
            want.remove(&m.info.id);
        }
    }
}

async fn latency_and_throughput(s: &Sizes) {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let admin = server.admin();
    let alice = admin.create_account("15550100001", "Alice").unwrap();
    let bob = admin.create_account("15550100002", "Bob").unwrap();
    let a1 = pair(&server, "15550100001").await;
    let _a2 = pair(&server, "15550100001").await;
    let mut b1 = pair(&server, "15550100002").await;
    let mut b2 = pair(&server, "15550100002").await;
    let _ = alice;

    // Warm-up: sessions to every device exist before timing.
    for i in 0..3 {
        let id = a1
            .client
            .send_message(bob.pn.clone(), text(format!("warm {i}")))
            .await
            .unwrap()
            .id;
        for ev in [&mut b1.events, &mut b2.events] {
            receive_all(ev, [id.clone()].into()).await;
        }
    }

    let mut lat = Vec::with_capacity(s.sequential);
    for i in 0..s.sequential {
        let t0 = Instant::now();
        let id = a1
            .client
            .send_message(bob.pn.clone(), text(format!("message number {i}")))
            .await
            .unwrap()
            .id;
        receive_all(&mut b1.events, [id.clone()].into()).await;
        lat.push(t0.elapsed());
        receive_all(&mut b2.events, [id].into()).await;
    }
    lat.sort();
    println!(
        "latency: {} sequential 1:1 texts (2 sender devices, 2 receiver devices), send call -> Event::Message on receiver device 1: p50 {}, p99 {}, max {}",
        s.sequential,
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.99)),
        ms(percentile(&lat, 1.0)),
    );

    let t0 = Instant::now();
    let per = s.pipelined / s.senders;
    let tasks: Vec<_> = (0..s.senders)
        .map(|k| {
            let client = a1.client.clone();
            let to = bob.pn.clone();
            tokio::spawn(async move {
                let mut ids = Vec::with_capacity(per);
                for i in 0..per {
                    let r = client
                        .send_message(to.clone(), text(format!("pipelined {k} {i}")))
                        .await
                        .unwrap();
                    ids.push(r.id);
                }
                ids
            })
        })
        .collect();
    let mut want = std::collections::HashSet::new();
    for t in tasks {
        want.extend(t.await.unwrap());
    }
    let sent = t0.elapsed();
    let (w1, w2) = (want.clone(), want);
    let r1 = receive_all(&mut b1.events, w1);
    let r2 = receive_all(&mut b2.events, w2);
    tokio::join!(r1, r2);
    let all = t0.elapsed();
    let n = per * s.senders;
    println!(
        "throughput: {n} 1:1 texts from {} concurrent send tasks on one device: all acked in {}, all received on both receiver devices in {} = {:.0} messages/s ({:.0} device deliveries/s)",
        s.senders,
        ms(sent),
        ms(all),
        n as f64 / all.as_secs_f64(),
        2.0 * n as f64 / all.as_secs_f64(),
    );
    server.shutdown().await;
}

async fn burst(s: &Sizes) {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let admin = server.admin();
    let bob = admin.create_account("15550200000", "Bob").unwrap();
    // WA_BENCH_STORE=sqlite keeps the receiver in a SQLite file (the default store of `wa`).
    let dir = tempfile::tempdir().unwrap();
    let sqlite = std::env::var("WA_BENCH_STORE").is_ok_and(|v| v == "sqlite");
    let mut receiver = if sqlite {
        let c = SqliteContainer::open(dir.path().join("receiver.db"))
            .await
            .unwrap();
        Receiver::Sqlite(pair_in(&server, "15550200000", c).await)
    } else {
        Receiver::Memory(pair(&server, "15550200000").await)
    };
    let mut senders = Vec::new();
    for k in 0..s.chats {
        let phone = format!("1555020{:04}", k + 1);
        admin
            .create_account(&phone, &format!("Sender {k}"))
            .unwrap();
        senders.push(pair(&server, &phone).await);
    }
    receiver.stop().await;
    println!(
        "burst: receiver store: {}, decrypt threads: {}",
        if sqlite { "SQLite file" } else { "memory" },
        std::env::var("WA_BENCH_DECRYPT_THREADS").unwrap_or_else(|_| "by core count".into())
    );

    let t0 = Instant::now();
    let per = s.burst / s.chats;
    let tasks: Vec<_> = senders
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let client = c.client.clone();
            let to = bob.pn.clone();
            tokio::spawn(async move {
                for i in 0..per {
                    client
                        .send_message(to.clone(), text(format!("{k} {i}")))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // The senders go offline too: the receiver's delivery receipts then wait in their
    // queues instead of being decrypted by four more clients on the same two cores,
    // which would be measured as the receiver's time.
    for sender in &mut senders {
        sender.stop().await;
    }
    let n = per * s.chats;
    let queued = admin
        .queued_stanzas(&receiver.client_jid().await)
        .map(|q| q.iter().filter(|n| n.tag == "message").count())
        .unwrap_or(0);
    println!(
        "burst: {n} texts from {} chats queued for the offline receiver in {} ({queued} <message> stanzas in its queue)",
        s.chats,
        ms(t0.elapsed())
    );

    // `perf record -D -1 --control fifo:CTL` profiles just the receive phase when
    // WA_BENCH_PERF_CTL=CTL is set.
    if let Ok(ctl) = std::env::var("WA_BENCH_PERF_CTL") {
        std::fs::write(ctl, "enable\n").unwrap();
    }
    // The receiver runs alone on its own thread with a current-thread runtime (as `wa listen`
    // does), so its CPU time can be read apart from the server's and the senders'.
    // WA_BENCH_DECRYPT_THREADS=n sets Config::decrypt_threads (default: by core count).
    let receiver_config = Config {
        decrypt_threads: std::env::var("WA_BENCH_DECRYPT_THREADS")
            .ok()
            .and_then(|v| v.parse().ok()),
        ..config(&server)
    };
    let chats = s.chats;
    let container = receiver.container();
    let received = std::thread::Builder::new()
        .name("burst-receiver".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                match container {
                    Receiver::Memory(c) => receive_burst(receiver_config, c, n, chats).await,
                    Receiver::Sqlite(c) => receive_burst(receiver_config, c, n, chats).await,
                }
            })
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(received.last_seq.values().all(|&v| v == per));
    let total = received.total;
    println!(
        "burst: {n} queued texts received (order kept in all {} chats): Client::start -> last Event::Message {} = {:.0} messages/s (first message at {}, Connected at {})",
        s.chats,
        ms(total),
        n as f64 / total.as_secs_f64(),
        ms(received.first),
        received.connected.map(ms).unwrap_or_else(|| "-".into()),
    );
    // The same burst without the login: from the first message to the last.
    let steady = total.saturating_sub(received.first);
    println!(
        "burst: first -> last Event::Message {} = {:.0} messages/s (the rate above without connecting and logging in)",
        ms(steady),
        (n.saturating_sub(1)) as f64 / steady.as_secs_f64().max(1e-9),
    );
    if let Some(cpu) = received.cpu {
        println!(
            "burst: CPU time of the receiving client's thread (driver and event loop) over those {}: {} = {:.1} µs per message, i.e. {:.0} messages/s per core",
            ms(total),
            ms(cpu),
            cpu.as_secs_f64() * 1e6 / n as f64,
            n as f64 / cpu.as_secs_f64().max(1e-9),
        );
    }
    if let Some(cpu) = received.socket_cpu.filter(|c| !c.is_zero()) {
        println!(
            "burst: CPU time of the socket stage's thread (wa-socket: socket, Noise, binary decoding, parsing messages) over those {}: {} = {:.1} µs per message",
            ms(total),
            ms(cpu),
            cpu.as_secs_f64() * 1e6 / n as f64,
        );
    }
    if let Some(cpu) = received.process_cpu {
        println!(
            "burst: CPU time of the whole process (receiver thread, its decrypt threads, server) over those {}: {} = {:.1} µs per message",
            ms(total),
            ms(cpu),
            cpu.as_secs_f64() * 1e6 / n as f64,
        );
    }
    server.shutdown().await;
}

/// The burst's receiver, in either store.
enum Receiver<M, S> {
    Memory(M),
    Sqlite(S),
}

impl Receiver<Companion, Companion<SqliteContainer>> {
    async fn stop(&mut self) {
        match self {
            Self::Memory(c) => c.stop().await,
            Self::Sqlite(c) => c.stop().await,
        }
    }

    async fn client_jid(&self) -> Jid {
        match self {
            Self::Memory(c) => c.client_jid().await,
            Self::Sqlite(c) => c.client_jid().await,
        }
    }

    fn container(&self) -> Receiver<MemoryContainer, SqliteContainer> {
        match self {
            Self::Memory(c) => Receiver::Memory(c.container.clone()),
            Self::Sqlite(c) => Receiver::Sqlite(c.container.clone()),
        }
    }
}

/// What the receiving thread of the burst saw.
struct BurstReceived {
    total: Duration,
    first: Duration,
    connected: Option<Duration>,
    /// CPU time of the receiving thread, where Linux reports it.
    cpu: Option<Duration>,
    /// CPU time of the whole process (receiver, any threads it starts, server) meanwhile.
    process_cpu: Option<Duration>,
    /// CPU time of the socket stage's thread (`wa-socket`) meanwhile.
    socket_cpu: Option<Duration>,
    /// The next expected sequence number of every chat (= how many arrived in order).
    last_seq: HashMap<Jid, usize>,
}

/// Logs the receiver in and takes `n` messages from `chats` chats, checking every chat's order.
async fn receive_burst<C: Container + 'static>(
    config: Config,
    container: C,
    n: usize,
    chats: usize,
) -> BurstReceived {
    let cpu0 = thread_cpu();
    let process0 = process_cpu();
    let socket0 = named_threads_cpu("wa-socket");
    let t0 = Instant::now();
    let (_client, mut events) = Client::start(config, container, None).await.unwrap();
    let mut next_seq: HashMap<Jid, usize> = HashMap::new();
    let mut got = 0usize;
    let mut first = None;
    let mut connected = None;
    // One deadline for the whole burst, not a timer per event: an application's event loop
    // does not arm one either, and the timer would be counted as the client's time.
    let take_all = async {
        while got < n {
            match events.recv().await.expect("event stream ended") {
                Event::Message(m) => {
                    first.get_or_insert_with(|| t0.elapsed());
                    let body = m.message.conversation.as_deref().unwrap_or_default();
                    let seq: usize = body
                        .split(' ')
                        .nth(1)
                        .and_then(|v| v.parse().ok())
                        .expect("a burst text");
                    let chat = m.info.source.chat.to_non_ad();
                    let expected = next_seq.entry(chat.clone()).or_insert(0);
                    assert_eq!(
                        seq, *expected,
                        "chat {chat}: message {seq} arrived when {expected} was next"
                    );
                    *expected += 1;
                    got += 1;
                }
                Event::Connected => connected = Some(t0.elapsed()),
                Event::UndecryptableMessage { reason, .. } => panic!("undecryptable: {reason:?}"),
                _ => {}
            }
        }
    };
    tokio::time::timeout(STEP, take_all)
        .await
        .expect("timed out waiting for the burst");
    let total = t0.elapsed();
    let cpu = thread_cpu().zip(cpu0).map(|(b, a)| b.saturating_sub(a));
    let process_cpu = process_cpu()
        .zip(process0)
        .map(|(b, a)| b.saturating_sub(a));
    let socket_cpu = named_threads_cpu("wa-socket")
        .zip(socket0)
        .map(|(b, a)| b.saturating_sub(a));
    assert_eq!(next_seq.len(), chats);
    BurstReceived {
        total,
        first: first.unwrap_or_default(),
        connected,
        cpu,
        process_cpu,
        socket_cpu,
        last_seq: next_seq,
    }
}

async fn login(s: &Sizes) {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    server
        .admin()
        .create_account("15550300000", "Login")
        .unwrap();
    let mut c = pair(&server, "15550300000").await;
    c.stop().await;
    let mut times = Vec::with_capacity(s.logins);
    for _ in 0..s.logins {
        let t0 = Instant::now();
        let (client, mut events) = Client::start(config(&server), c.container.clone(), None)
            .await
            .unwrap();
        until(&mut events, |e| *e == Event::Connected).await;
        times.push(t0.elapsed());
        client.disconnect().await;
        until(&mut events, |e| matches!(e, Event::Disconnected { .. })).await;
    }
    times.sort();
    println!(
        "login: {} logins of a paired companion on loopback, Client::start -> Event::Connected: p50 {}, p99 {}, min {}",
        s.logins,
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(percentile(&times, 0.0)),
    );
    server.shutdown().await;
}

impl<C: Container> Companion<C> {
    async fn client_jid(&self) -> Jid {
        use wa_store::Store as _;
        let store = self
            .container
            .get(self.client.device_id())
            .await
            .unwrap()
            .unwrap();
        store.device().await.unwrap().jid.unwrap()
    }
}

fn main() {
    // RUST_LOG=... shows the client's and the server's logs (with timestamps).
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
    }
    let s = sizes();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // WA_BENCH_ONLY=login|latency|burst runs one scenario (for profiling).
    let only = std::env::var("WA_BENCH_ONLY").ok();
    let runs = |name: &str| only.as_deref().is_none_or(|o| o == name);
    rt.block_on(async {
        if runs("login") {
            login(&s).await;
        }
        if runs("latency") {
            latency_and_throughput(&s).await;
        }
        if runs("burst") {
            burst(&s).await;
        }
    });
}

/// CPU time of the calling thread so far (Linux `/proc/thread-self/schedstat`), or `None`
/// where that file does not exist.
fn thread_cpu() -> Option<Duration> {
    schedstat_cpu("/proc/thread-self/schedstat")
}

/// CPU time of the whole process's live threads so far (the sum of their
/// `/proc/self/task/*/schedstat`), or `None` where those files do not exist.
fn process_cpu() -> Option<Duration> {
    threads_cpu(|_| true)
}

/// CPU time so far of the process's live threads named `name` (the socket stage's thread).
fn named_threads_cpu(name: &str) -> Option<Duration> {
    threads_cpu(|comm| comm.trim_end() == name)
}

fn threads_cpu(pick: impl Fn(&str) -> bool) -> Option<Duration> {
    let mut total = Duration::ZERO;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let dir = task.ok()?.path();
        // A thread that ended meanwhile has no files left: it is skipped.
        if std::fs::read_to_string(dir.join("comm")).is_ok_and(|c| pick(&c)) {
            total += schedstat_cpu(dir.join("schedstat").to_str()?).unwrap_or_default();
        }
    }
    Some(total)
}

/// The time on CPU a `schedstat` file reports (its first field, in nanoseconds: precise,
/// where `/proc/*/stat` counts 10 ms ticks).
fn schedstat_cpu(path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(path).ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}
