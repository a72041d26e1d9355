use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;

use super::*;
use crate::cert::CertIssuer;
use crate::error::{CertError, CertKind, HandshakeField};
use crate::frame::{FrameDecoder, FrameEncoder, Intro, WA_HEADER_V2};
use crate::keys::KeyPair;
use crate::transport::Transport;

const NOW: u64 = 1_750_000_000;

struct Fixture {
    client: ClientConfig,
    server: ServerConfig,
}

fn kp(b: u8) -> KeyPair {
    KeyPair::from_private_bytes([b; 32])
}

fn fixture() -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let issuer = CertIssuer::new(kp(1), 0, kp(2)).validity(NOW - 100, NOW + 100);
    let server_static = kp(3);
    let chain = issuer.issue(server_static.public(), 42, &mut rng);
    Fixture {
        client: ClientConfig::new(kp(4)).with_trust_root(issuer.trust_root()),
        server: ServerConfig {
            static_key: server_static,
            cert_chain: chain,
        },
    }
}

/// Runs a whole handshake over framed bytes; returns both transports and the server's view.
fn run(f: Fixture, intro: Intro) -> (Transport, Transport, [u8; 32], Vec<u8>) {
    let client_cfg = f.client.with_intro(intro.clone());
    let mut cenc = FrameEncoder::client(intro.clone());
    let mut cdec = FrameDecoder::client();
    let mut senc = FrameEncoder::server();
    let mut sdec = FrameDecoder::server();

    let (expect_sh, hello) = client_hello(client_cfg, kp(5)).unwrap();
    let mut wire = Vec::new();
    cenc.encode(&hello, &mut wire).unwrap();
    sdec.push(&wire);
    let got = sdec.next_frame().unwrap().unwrap();
    assert_eq!(sdec.intro(), Some(&intro));
    let (expect_cf, sh) = ExpectClientHello::new(f.server)
        .read_client_hello(sdec.intro().unwrap(), &got, kp(6))
        .unwrap();

    let mut wire = Vec::new();
    senc.encode(&sh, &mut wire).unwrap();
    cdec.push(&wire);
    let got = cdec.next_frame().unwrap().unwrap();
    let send_finish = expect_sh.read_server_hello(&got, NOW).unwrap();
    assert_eq!(send_finish.server_static_key(), kp(3).public());
    assert_eq!(send_finish.cert_chain().leaf.serial, 42);
    let (finish, client_t) = send_finish.finish(b"client payload").unwrap();

    let mut wire = Vec::new();
    cenc.encode(&finish, &mut wire).unwrap();
    sdec.push(&wire);
    let got = sdec.next_frame().unwrap().unwrap();
    let done = expect_cf.read_client_finish(&got).unwrap();
    (client_t, done.transport, done.client_static, done.payload)
}

#[test]
fn handshake_then_frames_both_ways() {
    let (mut c, mut s, client_static, payload) = run(fixture(), Intro::default());
    assert_eq!(&client_static, kp(4).public());
    assert_eq!(payload, b"client payload");
    for i in 0..5u8 {
        let msg = vec![i; usize::from(i) * 100];
        let ct = c.encrypt(&msg).unwrap();
        assert_eq!(s.decrypt(&ct).unwrap(), msg);
        let ct = s.encrypt(&msg).unwrap();
        assert_eq!(c.decrypt(&ct).unwrap(), msg);
    }
}

#[test]
fn handshake_with_routing_info_and_v2_header() {
    let intro = Intro::new(WA_HEADER_V2)
        .unwrap()
        .with_routing_info(vec![0xAA; 9])
        .unwrap();
    let (mut c, mut s, _, _) = run(fixture(), intro);
    let ct = s.encrypt(b"ok").unwrap();
    assert_eq!(c.decrypt(&ct).unwrap(), b"ok");
}

/// The header is part of the hash: a server that saw a different header cannot finish.
#[test]
fn header_is_authenticated() {
    let f = fixture();
    let (expect_sh, hello) = client_hello(f.client, kp(5)).unwrap();
    let (_, sh) = ExpectClientHello::new(f.server)
        .read_client_hello(&Intro::new(WA_HEADER_V2).unwrap(), &hello, kp(6))
        .unwrap();
    assert_eq!(
        expect_sh.read_server_hello(&sh, NOW).unwrap_err(),
        HandshakeError::Decrypt(HandshakeField::ServerStatic)
    );
}

#[test]
fn wrong_root_is_refused() {
    let f = fixture();
    let client = f.client.with_trust_root(crate::TrustRoot::WHATSAPP);
    let (expect_sh, hello) = client_hello(client, kp(5)).unwrap();
    let (_, sh) = ExpectClientHello::new(f.server)
        .read_client_hello(&Intro::default(), &hello, kp(6))
        .unwrap();
    assert_eq!(
        expect_sh.read_server_hello(&sh, NOW).unwrap_err(),
        HandshakeError::Cert(CertError::BadSignature(CertKind::Intermediate))
    );
}

#[test]
fn server_static_must_match_leaf() {
    let mut f = fixture();
    f.server.static_key = kp(9);
    let (expect_sh, hello) = client_hello(f.client, kp(5)).unwrap();
    let (_, sh) = ExpectClientHello::new(f.server)
        .read_client_hello(&Intro::default(), &hello, kp(6))
        .unwrap();
    assert_eq!(
        expect_sh.read_server_hello(&sh, NOW).unwrap_err(),
        HandshakeError::Cert(CertError::KeyMismatch)
    );
}

#[test]
fn truncated_and_garbled_server_hello() {
    let f = fixture();
    let (expect_sh, hello) = client_hello(f.client.clone(), kp(5)).unwrap();
    let (_, sh) = ExpectClientHello::new(f.server)
        .read_client_hello(&Intro::default(), &hello, kp(6))
        .unwrap();
    drop(expect_sh);
    for cut in 0..sh.len() {
        let (st, _) = client_hello(f.client.clone(), kp(5)).unwrap();
        assert!(st.read_server_hello(&sh[..cut], NOW).is_err(), "cut {cut}");
    }
    // Cut inside the length-delimited server hello: protobuf decoding fails.
    let (st, _) = client_hello(f.client.clone(), kp(5)).unwrap();
    assert!(matches!(
        st.read_server_hello(&sh[..sh.len() - 1], NOW),
        Err(HandshakeError::Malformed(_))
    ));
    // A flipped ciphertext byte in the certificate payload.
    let (st, _) = client_hello(f.client.clone(), kp(5)).unwrap();
    let mut bad = sh.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert_eq!(
        st.read_server_hello(&bad, NOW).unwrap_err(),
        HandshakeError::Decrypt(HandshakeField::ServerPayload)
    );
    // A client hello where a server hello is expected.
    let (st, _) = client_hello(f.client, kp(5)).unwrap();
    assert_eq!(
        st.read_server_hello(&hello, NOW).unwrap_err(),
        HandshakeError::Missing("server hello")
    );
}

#[test]
fn client_hello_rejections() {
    let f = fixture();
    let intro = Intro::default();
    let st = ExpectClientHello::new(f.server.clone());
    assert!(matches!(
        st.read_client_hello(&intro, &[0x12, 0x05, 0x0a], kp(6)),
        Err(HandshakeError::Malformed(_))
    ));
    let st = ExpectClientHello::new(f.server.clone());
    assert_eq!(
        st.read_client_hello(&intro, &[], kp(6)).unwrap_err(),
        HandshakeError::Missing("client hello")
    );
    // ephemeral of 3 bytes: field 2 (clientHello) { field 1: [1,2,3] }
    let st = ExpectClientHello::new(f.server.clone());
    assert_eq!(
        st.read_client_hello(&intro, &[0x12, 0x05, 0x0a, 0x03, 1, 2, 3], kp(6))
            .unwrap_err(),
        HandshakeError::KeyLength {
            field: "client ephemeral key",
            len: 3
        }
    );
    // An all-zero (low-order) ephemeral.
    let mut low = vec![0x12, 0x22, 0x0a, 0x20];
    low.extend_from_slice(&[0; 32]);
    let st = ExpectClientHello::new(f.server);
    assert_eq!(
        st.read_client_hello(&intro, &low, kp(6)).unwrap_err(),
        HandshakeError::WeakKey("client ephemeral key")
    );
}

#[test]
fn client_finish_rejections() {
    let f = fixture();
    let (expect_sh, hello) = client_hello(f.client.clone(), kp(5)).unwrap();
    let (expect_cf, sh) = ExpectClientHello::new(f.server)
        .read_client_hello(&Intro::default(), &hello, kp(6))
        .unwrap();
    let (finish, _) = expect_sh
        .read_server_hello(&sh, NOW)
        .unwrap()
        .finish(b"p")
        .unwrap();
    let mut bad = finish.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x40;
    assert_eq!(
        expect_cf.read_client_finish(&bad).unwrap_err(),
        HandshakeError::Decrypt(HandshakeField::ClientPayload)
    );
}
