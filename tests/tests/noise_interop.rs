//! wa-noise against Baileys' `makeNoiseHandler` through the Node oracle
//! (`tests/interop/commands/noise.mjs`).
//!
//! - With fixed ephemeral and static keys, the framed client hello (intro included), the server
//!   hello, the framed client finish and the first transport frame each way are byte-identical.
//! - Baileys' handler as a client, with its own random keys, completes the handshake with our
//!   server half and exchanges frames both ways (Baileys decodes ours as binary nodes).
//! - XEdDSA signatures agree byte for byte with curve25519-js (given the same random input) and
//!   verify there; libsignal-node's deterministic signatures verify with ours.
//!
//! Baileys' `Curve.verify` accepts any signature (libsignal-node's `verifySignature` returns false
//! rather than throwing), so Baileys cannot be the oracle for chain *rejections*; those are tested
//! in `crates/wa-noise/tests/cert_chain.rs`.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use wa_noise::{
    CertIssuer, ClientConfig, ExpectClientHello, FrameDecoder, FrameEncoder, Intro, KeyPair,
    ServerConfig, client_hello,
};
use wa_tests::oracle;

const NOW: u64 = 1_750_000_000;

fn call(cmd: &str, params: Value) -> Value {
    oracle::call(cmd, params).unwrap_or_else(|e| panic!("oracle {cmd}: {e}"))
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

fn kp(b: u8) -> KeyPair {
    let mut k = [b; 32];
    k[0] = b.wrapping_mul(13);
    KeyPair::from_private_bytes(k)
}

struct Server {
    issuer: CertIssuer,
    static_key: KeyPair,
    chain: Vec<u8>,
}

fn server() -> Server {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let issuer = CertIssuer::new(kp(1), 0, kp(2))
        .intermediate_serial(3)
        .validity(NOW - 3600, NOW + 3600);
    let static_key = kp(3);
    let chain = issuer.issue(static_key.public(), 4, &mut rng);
    Server {
        issuer,
        static_key,
        chain,
    }
}

fn fixed_key_vector(routing_info: Option<&[u8]>) {
    let srv = server();
    let (client_eph, client_static, server_eph) = (kp(10), kp(11), kp(12));
    let payload = b"\x08\x01 opaque ClientPayload bytes".to_vec();
    let c2s = b"client to server, first transport frame".to_vec();
    let s2c = vec![0x5a; 1000];

    let mut intro = Intro::default();
    if let Some(ri) = routing_info {
        intro = intro.with_routing_info(ri.to_vec()).unwrap();
    }
    let cfg = ClientConfig::new(client_static.clone())
        .with_trust_root(srv.issuer.trust_root())
        .with_intro(intro.clone());
    let mut enc = FrameEncoder::client(intro.clone());
    let (expect_sh, hello) = client_hello(cfg, client_eph.clone()).unwrap();
    let mut hello_frame = Vec::new();
    enc.encode(&hello, &mut hello_frame).unwrap();

    let (expect_cf, server_hello) = ExpectClientHello::new(ServerConfig {
        static_key: srv.static_key.clone(),
        cert_chain: srv.chain.clone(),
    })
    .read_client_hello(&intro, &hello, server_eph.clone())
    .unwrap();
    let (finish, mut client_t) = expect_sh
        .read_server_hello(&server_hello, NOW)
        .unwrap()
        .finish(&payload)
        .unwrap();
    let mut finish_frame = Vec::new();
    enc.encode(&finish, &mut finish_frame).unwrap();
    let done = expect_cf.read_client_finish(&finish).unwrap();
    assert_eq!(done.payload, payload);
    let mut server_t = done.transport;
    let mut c2s_frame = Vec::new();
    client_t.encrypt_frame(&c2s, &mut c2s_frame).unwrap();
    let mut s2c_frame = Vec::new();
    server_t.encrypt_frame(&s2c, &mut s2c_frame).unwrap();

    let v = call(
        "noise.vector",
        json!({
            "clientEphemeral": hex::encode(*client_eph.private_bytes()),
            "clientStatic": hex::encode(*client_static.private_bytes()),
            "serverEphemeral": hex::encode(*server_eph.private_bytes()),
            "serverStatic": hex::encode(*srv.static_key.private_bytes()),
            "rootPub": hex::encode(srv.issuer.trust_root().public_key()),
            "certChain": hex::encode(&srv.chain),
            "payload": hex::encode(&payload),
            "routingInfo": routing_info.map(hex::encode),
            "c2s": hex::encode(&c2s),
            "s2c": hex::encode(&s2c),
        }),
    );
    assert_eq!(
        hex::encode(&hello_frame),
        v["helloFrame"].as_str().unwrap(),
        "client hello frame"
    );
    assert_eq!(
        hex::encode(&server_hello),
        v["serverHello"].as_str().unwrap(),
        "server hello"
    );
    assert_eq!(
        hex::encode(&finish_frame),
        v["finishFrame"].as_str().unwrap(),
        "client finish frame"
    );
    assert_eq!(
        hex::encode(&c2s_frame),
        v["c2sFrame"].as_str().unwrap(),
        "first client transport frame"
    );
    assert_eq!(
        hex::encode(&s2c_frame),
        v["s2cFrame"].as_str().unwrap(),
        "first server transport frame"
    );
    assert_eq!(unhex(&v["s2cDecrypted"]), s2c);
    // Our side reads what Baileys produced.
    assert_eq!(server_t.decrypt(&unhex(&v["c2sFrame"])[3..]).unwrap(), c2s);
}

#[test]
fn fixed_keys_byte_exact_with_baileys() {
    fixed_key_vector(None);
}

#[test]
fn fixed_keys_byte_exact_with_edge_routing_preamble() {
    fixed_key_vector(Some(b"\x08\x02\x08\x05 routing"));
}

#[test]
fn baileys_client_completes_handshake_with_our_server() {
    let srv = server();
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    for routing in [None, Some("0a0b0c")] {
        let start = call(
            "noise.clientStart",
            json!({"rootPub": hex::encode(srv.issuer.trust_root().public_key()), "routingInfo": routing}),
        );
        let id = start["id"].clone();
        let mut dec = FrameDecoder::server();
        dec.push(&unhex(&start["helloFrame"]));
        let hello = dec.next_frame().unwrap().expect("client hello frame");
        let intro = dec.intro().expect("intro read").clone();
        assert_eq!(intro.routing_info().map(hex::encode).as_deref(), routing);
        let (expect_cf, server_hello) = ExpectClientHello::new(ServerConfig {
            static_key: srv.static_key.clone(),
            cert_chain: srv.chain.clone(),
        })
        .read_client_hello(&intro, &hello, KeyPair::generate(&mut rng))
        .unwrap();
        let mut out = Vec::new();
        FrameEncoder::server()
            .encode(&server_hello, &mut out)
            .unwrap();

        let payload = b"ClientPayload from Baileys".to_vec();
        let fin = call(
            "noise.clientFinish",
            json!({"id": id, "serverBytes": hex::encode(&out), "payload": hex::encode(&payload)}),
        );
        dec.push(&unhex(&fin["finishFrame"]));
        let finish = dec.next_frame().unwrap().expect("client finish frame");
        let done = expect_cf.read_client_finish(&finish).unwrap();
        assert_eq!(done.payload, payload);
        assert_eq!(
            hex::encode(done.client_static),
            start["noisePub"].as_str().unwrap()
        );
        let mut t = done.transport;

        // Baileys to us, several frames and a large one.
        for msg in [b"hello".to_vec(), vec![7u8; 100_000]] {
            let frame = call(
                "noise.clientSend",
                json!({"id": id, "plaintext": hex::encode(&msg)}),
            );
            dec.push(&unhex(&frame));
            let mut f = dec.next_frame().unwrap().expect("transport frame");
            assert_eq!(t.decrypt_in_place(&mut f).unwrap(), &msg[..]);
        }

        // Us to Baileys: binary nodes, which its decodeFrame decrypts and decodes.
        let node = call(
            "binary.encode",
            json!([{"tag": "iq", "attrs": [["id", "42"], ["type", "result"]], "content": null}]),
        );
        let node = unhex(&node[0]["ok"]);
        let mut wire = Vec::new();
        t.encrypt_frame(&node, &mut wire).unwrap();
        t.encrypt_frame(&node, &mut wire).unwrap();
        let nodes = call(
            "noise.clientRecv",
            json!({"id": id, "bytes": hex::encode(&wire)}),
        );
        assert_eq!(
            nodes,
            json!([
                {"tag": "iq", "attrs": {"id": "42", "type": "result"}},
                {"tag": "iq", "attrs": {"id": "42", "type": "result"}},
            ])
        );
    }
}

#[test]
fn xeddsa_agrees_with_curve25519_js() {
    for i in 0u8..8 {
        let key = kp(40 + i);
        let msg: Vec<u8> = (0..usize::from(i) * 17).map(|j| j as u8).collect();
        let random = [i ^ 0xA5; 64];
        let ours = wa_noise::xeddsa::sign(&key.private_bytes(), &msg, &random);
        let theirs = call(
            "noise.xeddsaSign",
            json!({"priv": hex::encode(*key.private_bytes()), "message": hex::encode(&msg), "random": hex::encode(random)}),
        );
        assert_eq!(hex::encode(ours), theirs.as_str().unwrap(), "key {i}");
        let ok = call(
            "noise.xeddsaVerify",
            json!({"pub": hex::encode(key.public()), "message": hex::encode(&msg), "signature": hex::encode(ours)}),
        );
        assert_eq!(ok, json!(true));
        let mut bad = ours;
        bad[10] ^= 1;
        let ok = call(
            "noise.xeddsaVerify",
            json!({"pub": hex::encode(key.public()), "message": hex::encode(&msg), "signature": hex::encode(bad)}),
        );
        assert_eq!(ok, json!(false));
        // Baileys' own deterministic signatures (libsignal calculateSignature) verify with ours.
        let sig = unhex(&call(
            "signal.sign",
            json!({"priv": hex::encode(*key.private_bytes()), "message": hex::encode(&msg)}),
        ));
        let sig: [u8; 64] = sig.try_into().unwrap();
        assert!(wa_noise::xeddsa::verify(key.public(), &msg, &sig));
    }
}
