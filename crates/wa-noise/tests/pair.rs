//! Client and server in one process, over framed bytes cut at every possible point.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use wa_noise::{
    CertIssuer, ClientConfig, ExpectClientHello, FrameDecoder, FrameEncoder, Intro, KeyPair,
    ServerConfig, Transport, client_hello,
};

const NOW: u64 = 1_750_000_000;

/// Handshake, returning the two transports and every byte the client sent (intro included).
fn handshake(intro: Intro) -> (Transport, Transport, Vec<u8>, Vec<u8>) {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let issuer = CertIssuer::new(KeyPair::generate(&mut rng), 0, KeyPair::generate(&mut rng));
    let server_static = KeyPair::generate(&mut rng);
    let chain = issuer.issue(server_static.public(), 5, &mut rng);
    let client_cfg = ClientConfig::new(KeyPair::generate(&mut rng))
        .with_trust_root(issuer.trust_root())
        .with_intro(intro.clone());

    let mut c2s = Vec::new();
    let mut s2c = Vec::new();
    let mut cenc = FrameEncoder::client(intro);
    let mut senc = FrameEncoder::server();
    let (st, hello) = client_hello(client_cfg, KeyPair::generate(&mut rng)).unwrap();
    cenc.encode(&hello, &mut c2s).unwrap();

    let mut sdec = FrameDecoder::server();
    sdec.push(&c2s);
    let frame = sdec.next_frame().unwrap().unwrap();
    let (sst, sh) = ExpectClientHello::new(ServerConfig {
        static_key: server_static,
        cert_chain: chain,
    })
    .read_client_hello(sdec.intro().unwrap(), &frame, KeyPair::generate(&mut rng))
    .unwrap();
    senc.encode(&sh, &mut s2c).unwrap();

    let mut cdec = FrameDecoder::client();
    cdec.push(&s2c);
    let frame = cdec.next_frame().unwrap().unwrap();
    let (finish, ct) = st
        .read_server_hello(&frame, NOW)
        .unwrap()
        .finish(b"payload")
        .unwrap();
    let start = c2s.len();
    cenc.encode(&finish, &mut c2s).unwrap();
    sdec.push(&c2s[start..]);
    let frame = sdec.next_frame().unwrap().unwrap();
    let done = sst.read_client_finish(&frame).unwrap();
    assert_eq!(done.payload, b"payload");
    (ct, done.transport, c2s, s2c)
}

/// Feeds `stream` to a decoder as two pieces split at `cut`; returns the raw frames.
fn split_frames(mut dec: FrameDecoder, stream: &[u8], cut: usize) -> (FrameDecoder, Vec<Vec<u8>>) {
    let mut out = Vec::new();
    for piece in [&stream[..cut], &stream[cut..]] {
        dec.push(piece);
        while let Some(f) = dec.next_frame().unwrap() {
            out.push(f.to_vec());
        }
    }
    (dec, out)
}

#[test]
fn whole_session_split_at_every_byte_boundary() {
    let intro = Intro::default()
        .with_routing_info(b"routing".to_vec())
        .unwrap();
    let (mut ct, mut st, hs_c2s, hs_s2c) = handshake(intro.clone());
    let payloads: Vec<Vec<u8>> = vec![b"<iq/>".to_vec(), vec![], vec![0xAB; 200]];

    // Client to server, handshake frames included, as one stream cut at every byte: every cut
    // yields the same frames and intro as the uncut stream.
    let mut stream = hs_c2s;
    for p in &payloads {
        ct.encrypt_frame(p, &mut stream).unwrap();
    }
    let (dec, reference) = split_frames(FrameDecoder::server(), &stream, stream.len());
    assert_eq!(dec.intro(), Some(&intro));
    assert_eq!(reference.len(), 2 + payloads.len());
    for cut in 0..stream.len() {
        let (dec, frames) = split_frames(FrameDecoder::server(), &stream, cut);
        assert_eq!(frames, reference, "cut {cut}");
        assert_eq!(dec.intro(), Some(&intro), "cut {cut}");
        assert_eq!(dec.buffered(), 0);
    }
    let got: Vec<Vec<u8>> = reference[2..]
        .iter()
        .map(|f| st.decrypt(f).unwrap())
        .collect();
    assert_eq!(got, payloads);

    // Server to client, the server hello included.
    let mut stream = hs_s2c;
    for p in &payloads {
        st.encrypt_frame(p, &mut stream).unwrap();
    }
    let (_, reference) = split_frames(FrameDecoder::client(), &stream, stream.len());
    assert_eq!(reference.len(), 1 + payloads.len());
    for cut in 0..stream.len() {
        assert_eq!(
            split_frames(FrameDecoder::client(), &stream, cut).1,
            reference,
            "cut {cut}"
        );
    }
    let got: Vec<Vec<u8>> = reference[1..]
        .iter()
        .map(|f| ct.decrypt(f).unwrap())
        .collect();
    assert_eq!(got, payloads);
}

#[test]
fn large_frames_both_ways() {
    let (mut c, mut s, _, _) = handshake(Intro::default());
    for len in [
        65_535usize,
        65_536,
        70_000,
        1 << 20,
        Transport::MAX_PLAINTEXT_LEN,
    ] {
        let msg: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut wire = Vec::new();
        c.encrypt_frame(&msg, &mut wire).unwrap();
        assert_eq!(wire.len(), 3 + len + 16);
        let mut dec = FrameDecoder::client();
        // Deliver in 4 KiB WebSocket-sized pieces.
        let mut got = Vec::new();
        for chunk in wire.chunks(4096) {
            dec.push(chunk);
            while let Some(mut f) = dec.next_frame().unwrap() {
                got.push(s.decrypt_in_place(&mut f).unwrap().to_vec());
            }
        }
        assert_eq!(got, vec![msg.clone()]);
        let mut wire = Vec::new();
        s.encrypt_frame(&msg, &mut wire).unwrap();
        let mut dec = FrameDecoder::client();
        dec.push(&wire);
        let mut f = dec.next_frame().unwrap().unwrap();
        assert_eq!(c.decrypt_in_place(&mut f).unwrap(), &msg[..]);
    }
}

#[test]
fn corrupted_frame_poisons_the_receiver() {
    let (mut c, mut s, _, _) = handshake(Intro::default());
    let mut a = c.encrypt(b"first").unwrap();
    a[2] ^= 0x10;
    assert_eq!(s.decrypt(&a), Err(wa_noise::TransportError::Decrypt));
    let b = c.encrypt(b"second").unwrap();
    assert_eq!(s.decrypt(&b), Err(wa_noise::TransportError::Poisoned));
}
