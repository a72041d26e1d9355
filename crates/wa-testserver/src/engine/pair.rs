//! QR pairing on the server side: `pair-device` with references, `pair-success` with the phone's
//! signed device identity, and the check of the companion's `pair-device-sign`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand_core::CryptoRng;
use wa_binary::{Jid, Node, Server};
use wa_proto::proto::client_payload::DevicePairingRegistrationData;

use crate::error::{Error, Result};
use crate::phone::{QrCode, SignedDevice};
use crate::state::{ConnId, Device, ServerState};

/// Number of references sent in one `pair-device` (the real server sends six).
pub const PAIR_REF_COUNT: usize = 6;

/// What a pairing connection knows about its companion (for the admin and tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingInfo {
    /// The connection waiting for a scan.
    pub conn: ConnId,
    /// Its references, in the order sent.
    pub refs: Vec<String>,
}

pub(super) enum Outcome {
    Continue,
    Paired(Jid),
    Failed(String),
    Unhandled,
}

struct AwaitSign {
    iq_id: String,
    device_id: u16,
    signed: SignedDevice,
    qr: QrCode,
}

pub(super) struct Pairing {
    noise_key: [u8; 32],
    identity_key: Option<[u8; 32]>,
    refs: Vec<String>,
    awaiting: Option<AwaitSign>,
}

impl Pairing {
    pub(super) fn start<R: CryptoRng>(
        conn: ConnId,
        noise_key: [u8; 32],
        reg: &DevicePairingRegistrationData,
        state: &mut ServerState,
        rng: &mut R,
    ) -> Result<Self> {
        let identity_key = match reg.e_ident.as_deref() {
            None => None,
            Some(k) => Some(<[u8; 32]>::try_from(k).map_err(|_| {
                Error::Protocol(format!("pairing identity key is {} bytes", k.len()))
            })?),
        };
        let mut refs = Vec::with_capacity(PAIR_REF_COUNT);
        for _ in 0..PAIR_REF_COUNT {
            let mut raw = [0u8; 24];
            rng.fill_bytes(&mut raw);
            let r = format!("2@{}", B64.encode(raw));
            state.pair_refs.insert(r.clone(), conn);
            refs.push(r);
        }
        tracing::info!(conn, "registration: sent {} pairing references", refs.len());
        Ok(Self {
            noise_key,
            identity_key,
            refs,
            awaiting: None,
        })
    }

    pub(super) fn refs(&self) -> &[String] {
        &self.refs
    }

    pub(super) fn awaiting_sign(&self) -> bool {
        self.awaiting.is_some()
    }

    pub(super) fn pair_device_node(&self, id: String) -> Node {
        Node::new("iq")
            .attr("from", Jid::new("", Server::User))
            .attr("type", "set")
            .attr("id", id)
            .attr("xmlns", "md")
            .child(
                Node::new("pair-device")
                    .children(
                        self.refs
                            .iter()
                            .map(|r| Node::new("ref").bytes(r.as_bytes()).build()),
                    )
                    .build(),
            )
            .build()
    }

    /// The phone scanned `qr`: checks it against this connection, assigns a device id and builds
    /// `pair-success`.
    pub(super) fn scanned<R: CryptoRng>(
        &mut self,
        qr: &QrCode,
        iq_id: String,
        now_ms: u64,
        state: &mut ServerState,
        rng: &mut R,
    ) -> Result<Node> {
        if !self.refs.contains(&qr.reference) {
            return Err(Error::UnknownPairRef);
        }
        if self.awaiting.is_some() {
            return Err(Error::PairFailed("this QR was already scanned".into()));
        }
        if qr.noise_key != self.noise_key {
            return Err(Error::BadQr(
                "noise key differs from the one the client connected with".into(),
            ));
        }
        if self.identity_key.is_some_and(|k| k != qr.identity_key) {
            return Err(Error::BadQr(
                "identity key differs from the client's registration data".into(),
            ));
        }
        let device_id = state.next_device_id;
        state.next_device_id = device_id
            .checked_add(1)
            .ok_or_else(|| Error::PairFailed("out of device ids".into()))?;
        let key_index = state.next_key_index;
        state.next_key_index = key_index.saturating_add(1);
        let raw_id = raw_id_of(&state.account.phone_number);
        let signed = state.phone.sign_device(
            &qr.identity_key,
            &qr.adv_secret,
            raw_id,
            key_index,
            now_ms / 1000,
            rng,
        );
        let account = &state.account;
        let node = Node::new("iq")
            .attr("from", Jid::new("", Server::User))
            .attr("type", "set")
            .attr("id", iq_id.clone())
            .child(
                Node::new("pair-success")
                    .child(
                        Node::new("device-identity")
                            .bytes(signed.container.clone())
                            .build(),
                    )
                    .child(Node::new("platform").attr("name", "android").build())
                    .child(
                        Node::new("device")
                            .attr("jid", account.pn_jid(device_id))
                            .attr("lid", account.lid_jid(device_id))
                            .build(),
                    )
                    .child(
                        Node::new("biz")
                            .attr("name", account.push_name.clone())
                            .build(),
                    )
                    .build(),
            )
            .build();
        tracing::info!(device_id, key_index, "phone scanned QR, sent pair-success");
        self.awaiting = Some(AwaitSign {
            iq_id,
            device_id,
            signed,
            qr: qr.clone(),
        });
        Ok(node)
    }

    pub(super) fn handle_node(&mut self, node: &Node, state: &mut ServerState) -> Result<Outcome> {
        if node.tag != "iq" {
            return Ok(Outcome::Unhandled);
        }
        let id = node.attr("id").and_then(|v| v.as_str()).unwrap_or("");
        let kind = node.attr("type").and_then(|v| v.as_str()).unwrap_or("");
        let Some(wait) = self.awaiting.as_ref().filter(|w| w.iq_id == id) else {
            // The client's result for pair-device, pings and anything else.
            if kind == "result" {
                return Ok(Outcome::Continue);
            }
            return Ok(Outcome::Unhandled);
        };
        if kind != "result" {
            let reason = format!("client answered pair-success with type '{kind}'");
            self.awaiting = None;
            return Ok(Outcome::Failed(reason));
        }
        let Some(identity) = node
            .child_path(&["pair-device-sign", "device-identity"])
            .and_then(Node::bytes)
        else {
            self.awaiting = None;
            return Ok(Outcome::Failed(
                "pair-device-sign without device-identity bytes".into(),
            ));
        };
        if let Err(e) = state.phone.verify_device_signature(
            identity,
            &wait.signed.details,
            &wait.qr.identity_key,
        ) {
            self.awaiting = None;
            return Ok(Outcome::Failed(e.to_string()));
        }
        let device = Device {
            id: wait.device_id,
            noise_key: self.noise_key,
            identity_key: wait.qr.identity_key,
            key_index: wait.signed.key_index,
            registration_id: None,
            signed_pre_key: None,
            pre_keys: Default::default(),
            logins: 0,
            platform: wait.qr.platform.clone(),
        };
        let jid = state.account.pn_jid(wait.device_id);
        state.devices.insert(wait.device_id, device);
        for r in &self.refs {
            state.pair_refs.remove(r);
        }
        self.awaiting = None;
        tracing::info!(%jid, "device paired");
        Ok(Outcome::Paired(jid))
    }
}

/// The account's ADV raw id: a stable 32-bit value derived from the phone number.
fn raw_id_of(phone_number: &str) -> u32 {
    let n: u64 = phone_number.parse().unwrap_or(0);
    (n % u64::from(u32::MAX)) as u32
}
