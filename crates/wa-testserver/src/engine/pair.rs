//! QR pairing on the server side: `pair-device` with references, `pair-success` with the phone's
//! signed device identity, and the check of the companion's `pair-device-sign`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand_core::CryptoRng;
use wa_binary::{Jid, Node, Server};
use wa_proto::proto::client_payload::DevicePairingRegistrationData;

use super::stanza::{error, result};
use crate::error::{Error, Result};
use crate::link_code;
use crate::phone::{QrCode, SignedDevice};
use crate::state::{AccountId, ConnId, Device, ServerState};
use wa_noise::KeyPair;

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
    /// Send these stanzas and keep waiting.
    Reply(Vec<Node>),
    Paired(Jid),
    Failed(String),
    Unhandled,
}

struct AwaitSign {
    iq_id: String,
    account: AccountId,
    device_id: u16,
    signed: SignedDevice,
    identity_key: [u8; 32],
    platform: Option<String>,
}

/// Pairing by phone-number code, after the companion's `companion_hello`.
struct CodePairing {
    account: AccountId,
    reference: String,
    wrapped_companion_ephemeral: Vec<u8>,
    platform: Option<String>,
    /// Set once the phone entered the code: its ephemeral key and the companion's, unwrapped.
    keys: Option<(KeyPair, [u8; 32])>,
}

pub(super) struct Pairing {
    conn: ConnId,
    noise_key: [u8; 32],
    identity_key: Option<[u8; 32]>,
    refs: Vec<String>,
    awaiting: Option<AwaitSign>,
    code: Option<CodePairing>,
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
            conn,
            noise_key,
            identity_key,
            refs,
            awaiting: None,
            code: None,
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
        account: AccountId,
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
        self.sign_and_offer(
            account,
            qr.identity_key,
            &qr.adv_secret,
            qr.platform.clone(),
            iq_id,
            now_ms,
            state,
            rng,
        )
    }

    /// The phone assigns a device id, signs the companion identity and builds `pair-success`.
    #[allow(clippy::too_many_arguments)]
    fn sign_and_offer<R: CryptoRng>(
        &mut self,
        account: AccountId,
        identity_key: [u8; 32],
        adv_secret: &[u8; 32],
        platform: Option<String>,
        iq_id: String,
        now_ms: u64,
        state: &mut ServerState,
        rng: &mut R,
    ) -> Result<Node> {
        let faults = state.faults.clone();
        let acct = state
            .acct_mut(account)
            .ok_or_else(|| Error::PairFailed("no such account".into()))?;
        let device_id = acct.next_device_id;
        acct.next_device_id = device_id
            .checked_add(1)
            .ok_or_else(|| Error::PairFailed("out of device ids".into()))?;
        let key_index = acct.next_key_index;
        acct.next_key_index = key_index.saturating_add(1);
        let raw_id = raw_id_of(&acct.account.phone_number);
        let mut signed = acct.phone.sign_device(
            &identity_key,
            adv_secret,
            raw_id,
            key_index,
            now_ms / 1000,
            rng,
        );
        if faults.bad_adv_hmac || faults.bad_account_signature {
            tracing::info!(
                bad_hmac = faults.bad_adv_hmac,
                bad_signature = faults.bad_account_signature,
                "fault: damaged pair-success"
            );
            signed.container = crate::phone::corrupt_container(
                &signed.container,
                adv_secret,
                faults.bad_adv_hmac,
                faults.bad_account_signature,
            )?;
        }
        let names = acct.account.clone();
        state.touch();
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
                            .attr("jid", names.pn_jid(device_id))
                            .attr("lid", names.lid_jid(device_id))
                            .build(),
                    )
                    .child(
                        Node::new("biz")
                            .attr("name", names.push_name.clone())
                            .build(),
                    )
                    .build(),
            )
            .build();
        tracing::info!(
            device_id,
            key_index,
            "phone signed the companion, sent pair-success"
        );
        self.awaiting = Some(AwaitSign {
            iq_id,
            account,
            device_id,
            signed,
            identity_key,
            platform,
        });
        Ok(node)
    }

    pub(super) fn handle_node<R: CryptoRng>(
        &mut self,
        node: &Node,
        fresh_id: String,
        now_ms: u64,
        state: &mut ServerState,
        rng: &mut R,
    ) -> Result<Outcome> {
        if node.tag != "iq" {
            return Ok(Outcome::Unhandled);
        }
        let id = node.attr("id").and_then(|v| v.as_str()).unwrap_or("");
        let kind = node.attr("type").and_then(|v| v.as_str()).unwrap_or("");
        if kind == "set"
            && let Some(reg) = node.child("link_code_companion_reg")
        {
            return self.handle_link_code(node, reg, fresh_id, now_ms, state, rng);
        }
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
        let Some(acct) = state.acct(wait.account) else {
            self.awaiting = None;
            return Ok(Outcome::Failed("the account is gone".into()));
        };
        if let Err(e) =
            acct.phone
                .verify_device_signature(identity, &wait.signed.details, &wait.identity_key)
        {
            self.awaiting = None;
            return Ok(Outcome::Failed(e.to_string()));
        }
        let device = Device {
            id: wait.device_id,
            noise_key: self.noise_key,
            identity_key: wait.identity_key,
            key_index: wait.signed.key_index,
            registration_id: None,
            signed_pre_key: None,
            pre_keys: Default::default(),
            logins: 0,
            platform: wait.platform.clone(),
        };
        let account = wait.account;
        let Some(acct) = state.acct_mut(account) else {
            self.awaiting = None;
            return Ok(Outcome::Failed("the account is gone".into()));
        };
        let jid = acct.account.pn_jid(wait.device_id);
        acct.devices.insert(wait.device_id, device);
        state.touch();
        state.drop_refs_of(self.conn);
        self.awaiting = None;
        tracing::info!(%jid, "device paired");
        Ok(Outcome::Paired(jid))
    }
}

impl Pairing {
    fn handle_link_code<R: CryptoRng>(
        &mut self,
        iq: &Node,
        reg: &Node,
        fresh_id: String,
        now_ms: u64,
        state: &mut ServerState,
        rng: &mut R,
    ) -> Result<Outcome> {
        let bad = |why: &str| {
            tracing::warn!("link_code_companion_reg refused: {why}");
            Ok(Outcome::Reply(vec![error(iq, 400, "bad-request")]))
        };
        let bytes = |tag: &str| reg.child(tag).and_then(Node::bytes);
        match reg.attr("stage").and_then(|v| v.as_str()).unwrap_or("") {
            "companion_hello" => {
                let phone = reg.attr("jid").and_then(|v| v.as_jid());
                let Some(account) = phone
                    .filter(|j| *j.server() == Server::User)
                    .and_then(|j| state.account_by_phone(j.user()))
                else {
                    tracing::info!("code pairing requested for an unknown phone number");
                    return Ok(Outcome::Reply(vec![error(iq, 404, "item-not-found")]));
                };
                let Some(wrapped) = bytes("link_code_pairing_wrapped_companion_ephemeral_pub")
                    .filter(|w| w.len() == link_code::WRAPPED_KEY_LEN)
                else {
                    return bad("wrapped companion ephemeral key missing or not 80 bytes");
                };
                if bytes("companion_server_auth_key_pub") != Some(self.noise_key.as_slice()) {
                    return bad("companion_server_auth_key_pub is not the connection's noise key");
                }
                let platform = bytes("companion_platform_display")
                    .map(|p| String::from_utf8_lossy(p).into_owned());
                let mut raw = [0u8; 24];
                rng.fill_bytes(&mut raw);
                let reference = format!("2@{}", B64.encode(raw));
                self.code = Some(CodePairing {
                    account,
                    reference: reference.clone(),
                    wrapped_companion_ephemeral: wrapped.to_vec(),
                    platform,
                    keys: None,
                });
                state.code_waiting.retain(|(c, _)| *c != self.conn);
                state.code_waiting.push((self.conn, account));
                tracing::info!(conn = self.conn, "code pairing requested");
                let answer = Node::new("link_code_companion_reg")
                    .child(
                        Node::new("link_code_pairing_ref")
                            .bytes(reference.into_bytes())
                            .build(),
                    )
                    .build();
                Ok(Outcome::Reply(vec![result(iq, vec![answer])]))
            }
            "companion_finish" => {
                let Some(code) = self.code.as_ref() else {
                    return bad("companion_finish without companion_hello");
                };
                let Some((phone_ephemeral, companion_ephemeral)) = code.keys.as_ref() else {
                    return bad("companion_finish before the code was entered on the phone");
                };
                if bytes("link_code_pairing_ref") != Some(code.reference.as_bytes()) {
                    return bad("link_code_pairing_ref does not match");
                }
                let Some(identity) =
                    bytes("companion_identity_public").and_then(|b| <[u8; 32]>::try_from(b).ok())
                else {
                    return bad("companion_identity_public missing or not 32 bytes");
                };
                let Some(wrapped) = bytes("link_code_pairing_wrapped_key_bundle") else {
                    return bad("wrapped key bundle missing");
                };
                let shared =
                    link_code::agree(&phone_ephemeral.private_bytes(), companion_ephemeral);
                let bundle = match link_code::open_key_bundle(&shared, wrapped) {
                    Ok(b) => b,
                    Err(e) => return Ok(Outcome::Failed(e.to_string())),
                };
                let account = code.account;
                let Some(phone_identity) = state.acct(account).map(|a| a.phone.identity().clone())
                else {
                    return Ok(Outcome::Failed("the account is gone".into()));
                };
                if bundle.companion_identity != identity
                    || self.identity_key.is_some_and(|k| k != identity)
                    || bundle.primary_identity != *phone_identity.public()
                {
                    return Ok(Outcome::Failed(
                        "key bundle names other identity keys".into(),
                    ));
                }
                let identity_shared = link_code::agree(&phone_identity.private_bytes(), &identity);
                let adv = link_code::adv_secret(&shared, &identity_shared, &bundle.adv_random);
                let platform = code.platform.clone();
                let success = self.sign_and_offer(
                    account, identity, &adv, platform, fresh_id, now_ms, state, rng,
                )?;
                Ok(Outcome::Reply(vec![result(iq, Vec::new()), success]))
            }
            other => bad(&format!("unknown stage '{other}'")),
        }
    }

    /// The user typed `code` on the phone: unwrap the companion's ephemeral key, wrap the
    /// phone's, and build the `primary_hello` notification.
    pub(super) fn code_entered<R: CryptoRng>(
        &mut self,
        code: &str,
        fresh_id: String,
        now_ms: u64,
        phone_identity: &[u8; 32],
        rng: &mut R,
    ) -> Result<Node> {
        let code = link_code::normalize_code(code)?;
        let pairing = self.code.as_mut().ok_or(Error::UnknownPairRef)?;
        if pairing.keys.is_some() {
            return Err(Error::PairFailed("a code was already entered".into()));
        }
        let companion_ephemeral =
            link_code::unwrap_key(&code, &pairing.wrapped_companion_ephemeral)?;
        let ephemeral = KeyPair::generate(rng);
        let wrapped = link_code::wrap_key(&code, ephemeral.public(), rng);
        pairing.keys = Some((ephemeral, companion_ephemeral));
        Ok(Node::new("notification")
            .attr("from", Jid::new("", Server::User))
            .attr("type", "link_code_companion_reg")
            .attr("id", fresh_id)
            .attr("t", (now_ms / 1000).to_string())
            .child(
                Node::new("link_code_companion_reg")
                    .attr("stage", "primary_hello")
                    .child(
                        Node::new("link_code_pairing_ref")
                            .bytes(pairing.reference.clone().into_bytes())
                            .build(),
                    )
                    .child(
                        Node::new("link_code_pairing_wrapped_primary_ephemeral_pub")
                            .bytes(wrapped.to_vec())
                            .build(),
                    )
                    .child(
                        Node::new("primary_identity_pub")
                            .bytes(phone_identity.to_vec())
                            .build(),
                    )
                    .build(),
            )
            .build())
    }
}

/// The account's ADV raw id: a stable 32-bit value derived from the phone number.
pub(super) fn raw_id_of(phone_number: &str) -> u32 {
    let n: u64 = phone_number.parse().unwrap_or(0);
    (n % u64::from(u32::MAX)) as u32
}
