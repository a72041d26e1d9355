//! The client half: sends the hello, checks the server's hello and certificate chain, sends the
//! finish with the caller's opaque payload (wa-client's serialized `ClientPayload`).

use wa_proto::prost::Message;
use wa_proto::proto::HandshakeMessage;
use wa_proto::proto::handshake_message::{ClientFinish, ClientHello};

use super::key32;
use crate::cert::{TrustRoot, VerifiedCertChain, verify_cert_chain};
use crate::error::{HandshakeError, HandshakeField};
use crate::frame::Intro;
use crate::keys::KeyPair;
use crate::symmetric::SymmetricState;
use crate::transport::Transport;

/// What the client needs for a handshake.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The long-term Noise static key (whatsmeow's "noise key").
    pub static_key: KeyPair,
    /// The root that must sign the server's certificate chain.
    pub trust_root: TrustRoot,
    /// The intro sent before the first frame; its `WA` header enters the handshake hash.
    pub intro: Intro,
}

impl ClientConfig {
    /// A configuration trusting WhatsApp's root, sending the `WA 6 3` header without routing info.
    #[must_use]
    pub fn new(static_key: KeyPair) -> Self {
        Self {
            static_key,
            trust_root: TrustRoot::WHATSAPP,
            intro: Intro::default(),
        }
    }

    /// Replaces the trust root (test servers sign under their own).
    #[must_use]
    pub fn with_trust_root(mut self, trust_root: TrustRoot) -> Self {
        self.trust_root = trust_root;
        self
    }

    /// Replaces the intro (to add edge-routing info).
    #[must_use]
    pub fn with_intro(mut self, intro: Intro) -> Self {
        self.intro = intro;
        self
    }
}

/// Starts a handshake with the fresh `ephemeral` key: returns the state awaiting the server
/// hello and the serialized client hello to send as the first frame.
pub fn client_hello(
    config: ClientConfig,
    ephemeral: KeyPair,
) -> Result<(ExpectServerHello, Vec<u8>), HandshakeError> {
    let mut state = SymmetricState::new(config.intro.header())?;
    state.authenticate(ephemeral.public());
    let msg = HandshakeMessage {
        client_hello: Some(ClientHello {
            ephemeral: Some(ephemeral.public().to_vec()),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec();
    Ok((
        ExpectServerHello {
            config,
            ephemeral,
            state,
        },
        msg,
    ))
}

/// Waiting for the server hello.
#[derive(Debug)]
pub struct ExpectServerHello {
    config: ClientConfig,
    ephemeral: KeyPair,
    state: SymmetricState,
}

impl ExpectServerHello {
    /// Processes the serialized server hello; `now` (Unix seconds) is checked against the
    /// certificates' validity.
    pub fn read_server_hello(
        mut self,
        msg: &[u8],
        now: u64,
    ) -> Result<SendClientFinish, HandshakeError> {
        let hello = HandshakeMessage::decode(msg)?
            .server_hello
            .ok_or(HandshakeError::Missing("server hello"))?;
        let server_ephemeral = key32(hello.ephemeral.as_deref(), "server ephemeral key")?;
        let static_ct = hello
            .r#static
            .as_deref()
            .ok_or(HandshakeError::Missing("server static key"))?;
        let payload_ct = hello
            .payload
            .as_deref()
            .ok_or(HandshakeError::Missing("server certificate payload"))?;

        let st = &mut self.state;
        st.authenticate(&server_ephemeral);
        st.mix_dh(&self.ephemeral, &server_ephemeral, "server ephemeral key")?;
        let server_static = st.decrypt(static_ct, HandshakeField::ServerStatic)?;
        let server_static = key32(Some(&server_static), "server static key")?;
        st.mix_dh(&self.ephemeral, &server_static, "server static key")?;
        let chain = st.decrypt(payload_ct, HandshakeField::ServerPayload)?;
        let cert = verify_cert_chain(&chain, &self.config.trust_root, &server_static, now)?;

        Ok(SendClientFinish {
            config: self.config,
            state: self.state,
            server_ephemeral,
            server_static,
            cert,
        })
    }
}

/// The server is authenticated; waiting for the caller's payload to send the finish.
#[derive(Debug)]
pub struct SendClientFinish {
    config: ClientConfig,
    state: SymmetricState,
    server_ephemeral: [u8; 32],
    server_static: [u8; 32],
    cert: VerifiedCertChain,
}

impl SendClientFinish {
    /// The server's static key, as certified by the chain.
    #[must_use]
    pub fn server_static_key(&self) -> &[u8; 32] {
        &self.server_static
    }

    /// The verified certificate chain.
    #[must_use]
    pub fn cert_chain(&self) -> &VerifiedCertChain {
        &self.cert
    }

    /// Encrypts the static key and `payload` (opaque here; wa-client passes a serialized
    /// `ClientPayload`) into the client finish; returns it with the transport for what follows.
    pub fn finish(mut self, payload: &[u8]) -> Result<(Vec<u8>, Transport), HandshakeError> {
        let st = &mut self.state;
        let static_ct = st.encrypt(self.config.static_key.public())?;
        st.mix_dh(
            &self.config.static_key,
            &self.server_ephemeral,
            "server ephemeral key",
        )?;
        let payload_ct = st.encrypt(payload)?;
        let msg = HandshakeMessage {
            client_finish: Some(ClientFinish {
                r#static: Some(static_ct),
                payload: Some(payload_ct),
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec();
        let (write, read) = st.split()?;
        let transport = Transport::new(&write, &read)
            .map_err(|_| HandshakeError::Internal("transport keys"))?;
        Ok((msg, transport))
    }
}
