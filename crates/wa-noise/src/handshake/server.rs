//! The server half, for `wa-testserver`: reads the client hello, answers with its static key and
//! certificate chain, reads the client finish and hands back the client's key and payload.

use wa_proto::prost::Message;
use wa_proto::proto::HandshakeMessage;
use wa_proto::proto::handshake_message::ServerHello;

use super::key32;
use crate::error::{HandshakeError, HandshakeField};
use crate::frame::{Intro, WA_HEADER, WA_HEADER_V2};
use crate::keys::KeyPair;
use crate::symmetric::SymmetricState;
use crate::transport::Transport;

/// What the server needs for a handshake.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The server's static key, certified by the leaf of `cert_chain`.
    pub static_key: KeyPair,
    /// The encoded `CertChain` sent (encrypted) in the server hello; see [`crate::CertIssuer`].
    pub cert_chain: Vec<u8>,
}

/// Waiting for the client hello.
#[derive(Debug)]
pub struct ExpectClientHello {
    config: ServerConfig,
}

impl ExpectClientHello {
    /// Starts the server side of a handshake.
    #[must_use]
    pub fn new(config: ServerConfig) -> Self {
        Self { config }
    }

    /// Processes the client's `intro` (as read by [`crate::FrameDecoder::server`]) and serialized
    /// hello; `ephemeral` is the server's fresh key. Returns the next state and the serialized
    /// server hello.
    pub fn read_client_hello(
        self,
        intro: &Intro,
        msg: &[u8],
        ephemeral: KeyPair,
    ) -> Result<(ExpectClientFinish, Vec<u8>), HandshakeError> {
        let header = intro.header();
        if *header != WA_HEADER && *header != WA_HEADER_V2 {
            return Err(HandshakeError::UnsupportedHeader(*header));
        }
        let hello = HandshakeMessage::decode(msg)?
            .client_hello
            .ok_or(HandshakeError::Missing("client hello"))?;
        let client_ephemeral = key32(hello.ephemeral.as_deref(), "client ephemeral key")?;

        let mut st = SymmetricState::new(header)?;
        st.authenticate(&client_ephemeral);
        st.authenticate(ephemeral.public());
        st.mix_dh(&ephemeral, &client_ephemeral, "client ephemeral key")?;
        let static_ct = st.encrypt(self.config.static_key.public())?;
        st.mix_dh(
            &self.config.static_key,
            &client_ephemeral,
            "client ephemeral key",
        )?;
        let payload_ct = st.encrypt(&self.config.cert_chain)?;
        let reply = HandshakeMessage {
            server_hello: Some(ServerHello {
                ephemeral: Some(ephemeral.public().to_vec()),
                r#static: Some(static_ct),
                payload: Some(payload_ct),
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec();
        Ok((
            ExpectClientFinish {
                state: st,
                ephemeral,
            },
            reply,
        ))
    }
}

/// Waiting for the client finish.
#[derive(Debug)]
pub struct ExpectClientFinish {
    state: SymmetricState,
    ephemeral: KeyPair,
}

/// A completed server handshake.
#[derive(Debug)]
pub struct ClientFinished {
    /// The client's static Noise key (its identity towards the server).
    pub client_static: [u8; 32],
    /// The decrypted client payload (a serialized `ClientPayload`), opaque here.
    pub payload: Vec<u8>,
    /// The transport for all later frames.
    pub transport: Transport,
}

impl ExpectClientFinish {
    /// Processes the serialized client finish.
    pub fn read_client_finish(mut self, msg: &[u8]) -> Result<ClientFinished, HandshakeError> {
        let finish = HandshakeMessage::decode(msg)?
            .client_finish
            .ok_or(HandshakeError::Missing("client finish"))?;
        let static_ct = finish
            .r#static
            .as_deref()
            .ok_or(HandshakeError::Missing("client static key"))?;
        let payload_ct = finish
            .payload
            .as_deref()
            .ok_or(HandshakeError::Missing("client payload"))?;

        let st = &mut self.state;
        let client_static = st.decrypt(static_ct, HandshakeField::ClientStatic)?;
        let client_static = key32(Some(&client_static), "client static key")?;
        st.mix_dh(&self.ephemeral, &client_static, "client static key")?;
        let payload = st.decrypt(payload_ct, HandshakeField::ClientPayload)?;
        let (client_write, client_read) = st.split()?;
        let transport = Transport::new(&client_read, &client_write)
            .map_err(|_| HandshakeError::Internal("transport keys"))?;
        Ok(ClientFinished {
            client_static,
            payload,
            transport,
        })
    }
}
