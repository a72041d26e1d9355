//! Reaching `wa-testserver` through an HTTP CONNECT proxy, a SOCKS5 proxy, and `wss://` with
//! a self-signed certificate trusted through `Config::extra_ca_der`.

use crate::support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wa_client::{Client, Config, Event, EventStream, Proxy};
use wa_store::MemoryContainer;
use wa_testserver::TestServer;

const STEP: Duration = Duration::from_secs(20);

async fn until(events: &mut EventStream, pred: impl Fn(&Event) -> bool) -> Event {
    loop {
        let e = tokio::time::timeout(STEP, events.recv())
            .await
            .expect("timed out waiting for an event")
            .expect("event stream ended");
        if pred(&e) {
            return e;
        }
    }
}

fn config(server: &TestServer) -> Config {
    Config {
        url: server.url(),
        trust_root: server.trust_root(),
        ..Config::default()
    }
}

/// Connects and expects the server's first QR code: the whole path (socket, proxy or TLS,
/// WebSocket, Noise, registration payload) works.
async fn reaches_pairing(cfg: Config) {
    let (client, mut events) = Client::start(cfg, MemoryContainer::new(), None)
        .await
        .unwrap();
    until(&mut events, |e| matches!(e, Event::Qr { .. })).await;
    client.disconnect().await;
    // As a `Stream`, the events end after the final Disconnected.
    let rest: Vec<Event> = tokio::time::timeout(STEP, futures_util::StreamExt::collect(events))
        .await
        .unwrap();
    assert!(
        matches!(
            rest.last(),
            Some(Event::Disconnected {
                reconnecting: false,
                ..
            })
        ),
        "{rest:?}"
    );
}

async fn pipe(a: TcpStream, b: TcpStream) {
    let (mut ar, mut aw) = a.into_split();
    let (mut br, mut bw) = b.into_split();
    let _ = tokio::join!(
        tokio::io::copy(&mut ar, &mut bw),
        tokio::io::copy(&mut br, &mut aw)
    );
}

/// A one-target HTTP CONNECT proxy that records the requested authority.
async fn http_proxy(seen: Arc<Mutex<Vec<String>>>) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if s.read_exact(&mut b).await.is_err() {
                        return;
                    }
                    head.push(b[0]);
                }
                let head = String::from_utf8(head).unwrap();
                let target = head.split_whitespace().nth(1).unwrap().to_owned();
                assert!(head.starts_with("CONNECT "), "{head}");
                seen.lock().unwrap().push(target.clone());
                let up = TcpStream::connect(&target).await.unwrap();
                s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                pipe(s, up).await;
            });
        }
    });
    addr
}

/// A SOCKS5 proxy (no auth, CONNECT with a domain name or IPv4) that records the target.
async fn socks5_proxy(seen: Arc<Mutex<Vec<String>>>) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut g = [0u8; 3];
                s.read_exact(&mut g).await.unwrap();
                assert_eq!(g, [5, 1, 0]);
                s.write_all(&[5, 0]).await.unwrap();
                let mut h = [0u8; 4];
                s.read_exact(&mut h).await.unwrap();
                assert_eq!(&h[..3], &[5, 1, 0]);
                let host = match h[3] {
                    3 => {
                        let mut l = [0u8; 1];
                        s.read_exact(&mut l).await.unwrap();
                        let mut name = vec![0u8; usize::from(l[0])];
                        s.read_exact(&mut name).await.unwrap();
                        String::from_utf8(name).unwrap()
                    }
                    t => panic!("address type {t}"),
                };
                let mut p = [0u8; 2];
                s.read_exact(&mut p).await.unwrap();
                let target = format!("{host}:{}", u16::from_be_bytes(p));
                seen.lock().unwrap().push(target.clone());
                let up = TcpStream::connect(&target).await.unwrap();
                s.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])
                    .await
                    .unwrap();
                pipe(s, up).await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_an_http_connect_proxy() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let proxy = http_proxy(Arc::clone(&seen)).await;
    let mut cfg = config(&server);
    cfg.proxy = Some(Proxy::HttpConnect(proxy.to_string()));
    reaches_pairing(cfg).await;
    assert_eq!(seen.lock().unwrap().as_slice(), [server.addr().to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_socks5_proxy() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let proxy = socks5_proxy(Arc::clone(&seen)).await;
    let mut cfg = config(&server);
    cfg.proxy = Some(Proxy::Socks5(proxy.to_string()));
    reaches_pairing(cfg).await;
    assert_eq!(seen.lock().unwrap().as_slice(), [server.addr().to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_refuses_is_a_connect_error() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
        }
    });
    let err = wa_client::runtime::socket::http_connect(&addr.to_string(), "127.0.0.1", 1)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
}

/// A TLS terminator with a fresh self-signed certificate for `localhost`, relaying to `target`.
async fn tls_relay(target: SocketAddr) -> (SocketAddr, Vec<u8>) {
    let (acceptor, der) = support::self_signed_localhost();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(s).await else {
                    return;
                };
                let up = TcpStream::connect(target).await.unwrap();
                let (mut tr, mut tw) = tokio::io::split(tls);
                let (mut ur, mut uw) = up.into_split();
                let _ = tokio::join!(
                    tokio::io::copy(&mut tr, &mut uw),
                    tokio::io::copy(&mut ur, &mut tw)
                );
            });
        }
    });
    (addr, der)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_a_trusted_extra_ca() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    let (relay, der) = tls_relay(server.addr()).await;
    let mut cfg = config(&server);
    cfg.url = format!("wss://localhost:{}/ws/chat", relay.port());
    cfg.extra_ca_der = vec![der];
    reaches_pairing(cfg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_an_untrusted_certificate_fails() {
    let (relay, _der) = tls_relay("127.0.0.1:9".parse().unwrap()).await;
    let cfg = Config {
        url: format!("wss://localhost:{}/ws/chat", relay.port()),
        ..Config::default()
    };
    let err = wa_client::runtime::socket::connect(&cfg).await.unwrap_err();
    assert!(matches!(err, wa_client::Error::Connect(_)), "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}

#[test]
fn pem_certificates_load_and_garbage_is_refused() {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let ders = wa_client::runtime::load_pem_certificates(cert.pem().as_bytes()).unwrap();
    assert_eq!(ders, vec![cert.der().to_vec()]);
    assert!(wa_client::runtime::load_pem_certificates(b"not a pem").is_err());
}
