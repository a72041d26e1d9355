//! Shared by the engine and socket tests: a scripted server with the plaintext in our hands
//! (the Noise responder from `wa-noise`), hand-written stanzas, and the simulated phone from
//! `wa-testserver` for signatures.
#![allow(dead_code)]

pub mod live;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use wa_binary::{Jid, Node, Server, decode_frame, marshal};
use wa_noise::{
    CertIssuer, ExpectClientHello, FrameDecoder, KeyPair, ServerConfig, Transport, TrustRoot,
};
use wa_proto::prost::Message;
use wa_proto::proto::ClientPayload;
use wa_store::Device;
use wa_testserver::phone::Phone;

/// The wall clock the scripted server's certificates are checked against.
pub const UNIX: u64 = 1_750_000_000;

/// The server side of one connection, with the plaintext in our hands.
pub struct FakeServer {
    pub hello: Option<ExpectClientHello>,
    pub finish: Option<wa_noise::ExpectClientFinish>,
    pub transport: Option<Transport>,
    pub decoder: FrameDecoder,
    pub rng: ChaCha20Rng,
    pub payload: Option<ClientPayload>,
    pub received: Vec<Node>,
    pub out: Vec<u8>,
}

impl FakeServer {
    pub fn recv(&mut self, bytes: &[u8]) {
        self.decoder.push(bytes);
        while let Some(mut frame) = self.decoder.next_frame().unwrap() {
            if let Some(hs) = self.hello.take() {
                let intro = self.decoder.intro().unwrap().clone();
                let (next, reply) = hs
                    .read_client_hello(&intro, &frame, KeyPair::generate(&mut self.rng))
                    .unwrap();
                self.finish = Some(next);
                self.out
                    .extend_from_slice(&wa_noise::frame_header(reply.len()).unwrap());
                self.out.extend_from_slice(&reply);
            } else if let Some(f) = self.finish.take() {
                let done = f.read_client_finish(&frame).unwrap();
                self.payload = Some(ClientPayload::decode(done.payload.as_slice()).unwrap());
                self.transport = Some(done.transport);
            } else {
                let t = self.transport.as_mut().unwrap();
                let plain = t.decrypt_in_place(&mut frame).unwrap();
                self.received.push(decode_frame(plain).unwrap());
            }
        }
    }

    pub fn send(&mut self, node: &Node) {
        let t = self.transport.as_mut().unwrap();
        t.encrypt_frame(&marshal(node), &mut self.out).unwrap();
    }

    pub fn take_received(&mut self) -> Vec<Node> {
        std::mem::take(&mut self.received)
    }
}

impl FakeServer {
    /// A server under a fresh test root; returns the root the client must trust.
    pub fn new(seed: u64) -> (Self, TrustRoot) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let issuer = CertIssuer::new(KeyPair::generate(&mut rng), 0, KeyPair::generate(&mut rng));
        let static_key = KeyPair::generate(&mut rng);
        let cert_chain = issuer.issue(static_key.public(), 1, &mut rng);
        (
            Self {
                hello: Some(ExpectClientHello::new(ServerConfig {
                    static_key,
                    cert_chain,
                })),
                finish: None,
                transport: None,
                decoder: FrameDecoder::server(),
                rng,
                payload: None,
                received: Vec::new(),
                out: Vec::new(),
            },
            issuer.trust_root(),
        )
    }
}

pub fn device(seed: u64) -> Device {
    Device::generate(&mut ChaCha20Rng::seed_from_u64(seed))
}

pub fn paired_device(seed: u64) -> Device {
    let mut d = device(seed);
    d.jid = Some("15551234567:3@s.whatsapp.net".parse().unwrap());
    d
}

pub fn iq(id: &str, ty: &str, child: Node) -> Node {
    Node::new("iq")
        .attr("from", Jid::new("", Server::User))
        .attr("id", id)
        .attr("type", ty)
        .child(child)
        .build()
}

pub fn pair_device(refs: &[&str]) -> Node {
    iq(
        "pd-1",
        "set",
        Node::new("pair-device")
            .children(
                refs.iter()
                    .map(|r| Node::new("ref").bytes(r.as_bytes().to_vec()).build()),
            )
            .build(),
    )
}

pub fn pair_success(container: Vec<u8>) -> Node {
    iq(
        "ps-1",
        "set",
        Node::new("pair-success")
            .child(Node::new("device-identity").bytes(container).build())
            .child(Node::new("platform").attr("name", "android").build())
            .child(
                Node::new("device")
                    .attr(
                        "jid",
                        "15551234567:3@s.whatsapp.net".parse::<Jid>().unwrap(),
                    )
                    .attr("lid", "99887766554433:3@lid".parse::<Jid>().unwrap())
                    .build(),
            )
            .build(),
    )
}

pub struct Signed {
    pub phone: Phone,
    pub container: Vec<u8>,
    pub details: Vec<u8>,
}

pub fn sign(dev: &Device) -> Signed {
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let phone = Phone::new(KeyPair::generate(&mut rng));
    let s = phone.sign_device(
        dev.identity_key.public().raw(),
        &dev.adv_secret_key.0,
        3,
        1,
        UNIX,
        &mut rng,
    );
    Signed {
        phone,
        container: s.container,
        details: s.details,
    }
}
