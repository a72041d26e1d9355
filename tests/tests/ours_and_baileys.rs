//! Shared setup of the interop tests where our `wa-client` and a Baileys 7 peer are two
//! accounts on one `wa-testserver`: our client on the default account, Baileys
//! (`baileys_peer.mjs`) on the second account "Bob".

use wa_client::{Client, Event, EventStream};
use wa_tests::baileys::{Baileys, ONLINE, STEP_TIMEOUT, pair};
use wa_testserver::{AccountInfo, Admin, Config, TestServer};

/// Bob's phone number.
pub(crate) const B_PHONE: &str = "15550002222";

/// A server with our client and Baileys on it, both logged in.
pub(crate) struct OursAndBob {
    /// The server (kept alive for the test).
    pub(crate) server: TestServer,
    /// Its admin handle.
    pub(crate) admin: Admin,
    /// Bob's account (Baileys).
    pub(crate) bob: AccountInfo,
    /// Our account.
    pub(crate) us: AccountInfo,
    /// Our client and its events.
    pub(crate) client: Client,
    /// Our client's events.
    pub(crate) ours: EventStream,
    /// The Baileys driver.
    pub(crate) b: Baileys,
    /// Baileys' auth folder (kept alive for the test).
    pub(crate) auth: tempfile::TempDir,
}

/// A test server whose second account (`B_PHONE`, "Bob") is for Baileys; the default account
/// is for our client.
pub(crate) async fn server_with_bob() -> (TestServer, Admin, AccountInfo) {
    let server = TestServer::start(Config::default())
        .await
        .expect("start server");
    let admin = server.admin();
    let bob = admin
        .create_account(B_PHONE, "Bob")
        .expect("create the second account");
    (server, admin, bob)
}

/// Our client's config for `server`: its URL and Noise trust root.
pub(crate) fn our_config(server: &TestServer) -> wa_client::Config {
    wa_client::Config {
        url: server.url(),
        trust_root: server.trust_root(),
        ..wa_client::Config::default()
    }
}

/// Starts a server, pairs our client to its default account and Baileys to Bob's.
pub(crate) async fn ours_and_baileys_bob() -> OursAndBob {
    let (server, admin, bob) = server_with_bob().await;
    let us = admin.accounts()[0].clone();
    let (client, ours) = pair_ours(&server).await;
    let auth = tempfile::tempdir().expect("tempdir");
    let mut b = Baileys::spawn("peer", "baileys_peer.mjs", &server, auth.path(), ONLINE);
    pair(&mut b, &admin, Some(B_PHONE)).await;
    OursAndBob {
        server,
        admin,
        bob,
        us,
        client,
        ours,
        b,
        auth,
    }
}

/// Our client paired by QR to the server's default account, once connected.
pub(crate) async fn pair_ours(server: &TestServer) -> (Client, EventStream) {
    pair_ours_as(server, our_config(server), None).await
}

/// Our client with `config`, paired by QR to the account of `phone` (the default account when
/// `None`), once connected.
pub(crate) async fn pair_ours_as(
    server: &TestServer,
    config: wa_client::Config,
    phone: Option<&str>,
) -> (Client, EventStream) {
    let (client, mut events) = Client::start(config, wa_store::MemoryContainer::new(), None)
        .await
        .expect("start client");
    let Event::Qr { code } = next_where(&mut events, "QR", |e| matches!(e, Event::Qr { .. })).await
    else {
        unreachable!()
    };
    let scanner = server.admin();
    let phone = phone.map(str::to_owned);
    let scan = tokio::spawn(async move {
        match phone {
            Some(phone) => scanner.scan_qr_for(&phone, &code).await,
            None => scanner.scan_qr(&code).await,
        }
    });
    next_where(&mut events, "login", |e| *e == Event::Connected).await;
    scan.await.expect("join").expect("the phone scans our QR");
    (client, events)
}

/// The next event of ours matching `pred`.
pub(crate) async fn next_where(
    events: &mut EventStream,
    what: &str,
    pred: impl Fn(&Event) -> bool,
) -> Event {
    loop {
        let e = tokio::time::timeout(STEP_TIMEOUT, events.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .expect("event stream ended");
        if pred(&e) {
            return e;
        }
    }
}
