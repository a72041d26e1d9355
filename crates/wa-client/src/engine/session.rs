//! The session part of the engine: pairing stanzas, `<success>`/`<failure>`, stream errors,
//! prekeys, passive/active and keepalive.

use core::time::Duration;
use std::collections::VecDeque;
use std::time::Instant;

use tracing::{debug, info, warn};
use wa_binary::Node;
use wa_signal::PreKeyRecord;
use wa_store::Changes;

use super::iq::IqKind;
use super::{Engine, Phase, Qr, StoreOp, server_jid};
use crate::error::{IqError, Result};
use crate::event::{DisconnectReason, Event};
use crate::pair;
use crate::payload::{self, KEY_BUNDLE_TYPE};

/// Below this many prekeys on the server we upload more (whatsmeow's `MinPreKeyCount`).
pub const MIN_PRE_KEY_COUNT: u64 = 5;
/// How many prekeys one upload carries (whatsmeow's `WantedPreKeyCount`).
pub const WANTED_PRE_KEY_COUNT: u32 = 50;
/// Prekey ids are 24-bit.
const MAX_PRE_KEY_ID: u32 = 0x00FF_FFFF;
/// The first QR code lives this long.
pub const FIRST_QR_TIMEOUT: Duration = Duration::from_secs(60);
/// Every later QR code lives this long.
pub const NEXT_QR_TIMEOUT: Duration = Duration::from_secs(20);

impl Engine {
    pub(super) fn handle_pair_device(&mut self, now: Instant, node: &Node, id: &str) -> Result<()> {
        let ack = Node::new("iq")
            .attr("to", server_jid())
            .attr("id", id)
            .attr("type", "result")
            .build();
        self.send_node(&ack);
        if self.device.jid.is_some() {
            warn!("pair-device for an already paired device; ignoring");
            return Ok(());
        }
        let refs: VecDeque<String> = node
            .child("pair-device")
            .map(|pd| {
                pd.children_by_tag("ref")
                    .filter_map(|r| r.bytes())
                    .filter_map(|b| core::str::from_utf8(b).ok())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if refs.is_empty() {
            return Err(crate::Error::Protocol("pair-device without refs".into()));
        }
        // Pairing waits for a human; the login timeout does not apply.
        self.login_deadline = None;
        self.qr = Some(Qr {
            refs,
            next_at: now,
            started: false,
        });
        self.rotate_qr(now);
        Ok(())
    }

    /// Emits the next QR code when its time has come, or ends pairing when refs run out.
    pub(super) fn rotate_qr(&mut self, now: Instant) {
        let Some(qr) = self.qr.as_mut() else {
            return;
        };
        if qr.next_at > now {
            return;
        }
        let first = !qr.started;
        match qr.refs.pop_front() {
            Some(r) => {
                qr.next_at = now
                    + if first {
                        FIRST_QR_TIMEOUT
                    } else {
                        NEXT_QR_TIMEOUT
                    };
                qr.started = true;
                let code = pair::qr_code(
                    &r,
                    &self.device,
                    self.config.device_props.companion_platform_id(),
                );
                self.events.push_back(Event::Qr { code });
            }
            None => {
                info!("QR refs exhausted without a scan");
                self.events.push_back(Event::QrTimeout);
                self.close(DisconnectReason::PairingEnded);
            }
        }
    }

    pub(super) fn handle_pair_success(&mut self, node: &Node, id: &str) {
        self.qr = None;
        match pair::handle_pair_success(node, &self.device, &mut self.rng) {
            Ok(paired) => {
                let jid = paired
                    .device
                    .jid
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let lid = paired.device.lid.as_ref().map(ToString::to_string);
                info!(%jid, "paired");
                self.device = paired.device.clone();
                self.store_ops
                    .push_back(StoreOp::SaveDevice(Box::new(paired.device)));
                self.send_node(&paired.reply);
                self.events.push_back(Event::PairSuccess {
                    jid,
                    lid,
                    platform: paired.platform,
                    business_name: paired.business_name,
                });
            }
            Err(error) => {
                warn!(%error, "refusing pair-success");
                self.send_node(&pair::pair_error_reply(id));
                self.events.push_back(Event::PairError { error });
                self.close(DisconnectReason::PairingEnded);
            }
        }
    }

    /// The phone's `primary_hello` of phone-code pairing.
    pub(super) fn handle_link_code(&mut self, now: Instant, node: &Node) {
        let Some(reg) = node.child("link_code_companion_reg") else {
            return;
        };
        if reg.attr("stage").and_then(|s| s.as_str()) != Some("primary_hello") {
            debug!("link_code_companion_reg stage not handled");
            return;
        }
        let Some(pairing) = self.phone_pairing.take() else {
            warn!("primary_hello without a phone-code pairing in progress");
            return;
        };
        match crate::pair_code::primary_hello(&pairing, &self.device, reg, &mut self.rng) {
            Ok((finish, adv_secret)) => {
                // pair-success is checked against this secret; it is saved only with it.
                self.device.adv_secret_key = wa_store::AdvSecret(adv_secret);
                let timeout = self.config.iq_timeout;
                self.send_iq_kind(now, finish, IqKind::PairCode, timeout);
            }
            Err(error) => {
                warn!(%error, "phone-code pairing failed");
                self.events.push_back(Event::PairError { error });
                self.close(DisconnectReason::PairingEnded);
            }
        }
    }

    pub(super) fn handle_success(&mut self, now: Instant, node: &Node) {
        self.login_deadline = None;
        self.phase = Phase::LoggedIn;
        let lid = node.attr_reader().optional_jid("lid");
        if let Some(lid) = lid
            && self.device.lid.as_ref() != Some(&lid)
        {
            self.device.lid = Some(lid);
            self.store_ops
                .push_back(StoreOp::SaveDevice(Box::new(self.device.clone())));
        }
        info!("logged in");
        let count = Node::new("iq")
            .attr("xmlns", "encrypt")
            .attr("type", "get")
            .child(Node::new("count").build())
            .build();
        let timeout = self.config.iq_timeout;
        self.send_iq_kind(now, count, IqKind::PreKeyCount, timeout);
    }

    pub(super) fn handle_failure(&mut self, node: &Node) {
        let mut r = node.attr_reader();
        let reason = r
            .optional_u64("reason")
            .and_then(|v| u16::try_from(v).ok())
            .unwrap_or(0);
        let message = r.optional_string("message").map(str::to_owned);
        if reason == 401 {
            self.logged_out(true, Some("401".into()));
        } else {
            self.events
                .push_back(Event::ConnectFailure { reason, message });
            self.close(DisconnectReason::LoginRefused { reason });
        }
    }

    pub(super) fn handle_stream_error(&mut self, node: &Node) {
        let code = node
            .attr("code")
            .map(ToString::to_string)
            .unwrap_or_default();
        let conflict = node
            .child("conflict")
            .and_then(|c| c.attr("type"))
            .map(ToString::to_string);
        match (code.as_str(), conflict.as_deref()) {
            ("515", _) => self.close(DisconnectReason::Restart),
            ("401", Some("device_removed")) | ("401", None) => {
                self.logged_out(false, conflict.or(Some("401".into())));
            }
            (_, Some("replaced")) | ("440", _) => {
                self.events.push_back(Event::StreamReplaced);
                self.close(DisconnectReason::Replaced);
            }
            _ => self.close(DisconnectReason::StreamError { code }),
        }
    }

    fn logged_out(&mut self, on_connect: bool, reason: Option<String>) {
        self.store_ops.push_back(StoreOp::DeleteDevice);
        self.events
            .push_back(Event::LoggedOut { on_connect, reason });
        self.close(DisconnectReason::LoggedOut);
    }

    pub(super) fn on_iq_reply(&mut self, now: Instant, kind: IqKind, res: Result<Node, IqError>) {
        match kind {
            IqKind::User(token) => self.iq_results.push_back((token, res)),
            IqKind::PreKeyCount => match res {
                Ok(reply) => {
                    let count = reply
                        .child("count")
                        .and_then(|c| c.attr_reader().optional_u64("value"));
                    match count {
                        Some(n) if n < MIN_PRE_KEY_COUNT => self.upload_pre_keys(now, true),
                        Some(_) => self.set_active(now),
                        None => {
                            warn!("prekey count reply without a value");
                            self.set_active(now);
                        }
                    }
                }
                Err(e) => {
                    warn!(error = %e, "prekey count failed");
                    self.set_active(now);
                }
            },
            IqKind::PreKeyUpload {
                last_id,
                count,
                at_login,
            } => {
                match res {
                    Ok(_) => {
                        self.prekeys.uploaded = self.prekeys.uploaded.saturating_add(count);
                        let mut c = Changes::new();
                        c.mark_pre_keys_uploaded(last_id);
                        self.store_ops.push_back(StoreOp::Commit(Box::new(c)));
                        self.events.push_back(Event::PreKeysUploaded { count });
                    }
                    Err(e) => warn!(error = %e, "prekey upload failed"),
                }
                if at_login {
                    self.set_active(now);
                } else {
                    self.prekey_refill_pending = false;
                }
            }
            IqKind::Passive => {
                if let Err(e) = res {
                    warn!(error = %e, "setting active failed");
                }
                self.events.push_back(Event::Connected);
                self.keepalive.last_success = now;
                let wait = self.random_between(
                    self.config.keepalive.interval_min,
                    self.config.keepalive.interval_max,
                );
                self.keepalive.next_ping = Some(now + wait);
            }
            IqKind::Ping => match res {
                Ok(_) | Err(IqError::Server { .. } | IqError::UnexpectedType(_)) => {
                    if self.keepalive.error_count > 0 {
                        self.events.push_back(Event::KeepAliveRestored);
                    }
                    self.keepalive.error_count = 0;
                    self.keepalive.last_success = now;
                }
                Err(IqError::Timeout) => {
                    self.keepalive.error_count = self.keepalive.error_count.saturating_add(1);
                    let since = now.saturating_duration_since(self.keepalive.last_success);
                    self.events.push_back(Event::KeepAliveTimeout {
                        error_count: self.keepalive.error_count,
                        seconds_since_last_success: since.as_secs(),
                    });
                    if since > self.config.keepalive.max_fail_time {
                        self.close(DisconnectReason::KeepAliveFailed);
                    }
                }
                Err(IqError::Disconnected) => {}
            },
            IqKind::PairCode => {
                if let Err(e) = res {
                    let error = crate::error::PairError::PhoneCode(format!("server refused: {e}"));
                    self.events.push_back(Event::PairError { error });
                    self.close(DisconnectReason::PairingEnded);
                }
            }
            IqKind::Logout => {
                if let Err(e) = &res {
                    warn!(error = %e, "logout IQ failed; clearing the session anyway");
                }
                self.logged_out(false, Some("user_initiated".into()));
            }
        }
    }

    /// A `<notification type=encrypt><count value=N/>`: the server is running out of our
    /// one-time prekeys (others fetched them), so upload a new batch as whatsmeow does. At
    /// most one such upload is in flight; during login the count IQ already covers it.
    pub(super) fn handle_pre_key_low(&mut self, now: Instant, node: &Node) {
        let Some(count) = node
            .child("count")
            .and_then(|c| c.attr_reader().optional_u64("value"))
        else {
            return;
        };
        if count >= MIN_PRE_KEY_COUNT || self.prekey_refill_pending || !self.is_logged_in() {
            return;
        }
        debug!(count, "server low on our prekeys");
        self.prekey_refill_pending = true;
        self.upload_pre_keys(now, false);
    }

    fn upload_pre_keys(&mut self, now: Instant, at_login: bool) {
        let mut changes = Changes::new();
        let mut keys = Vec::new();
        let start = self.prekeys.last_id;
        let mut last_id = start;
        for i in 0..WANTED_PRE_KEY_COUNT {
            let id = (start.wrapping_add(i) % MAX_PRE_KEY_ID) + 1;
            let record = PreKeyRecord::generate(id, &mut self.rng);
            keys.push(payload::pre_key_node(&record));
            changes.put_pre_key(record);
            last_id = id;
        }
        self.prekeys.last_id = last_id;
        self.prekeys.total = self.prekeys.total.saturating_add(WANTED_PRE_KEY_COUNT);
        // The keys must be stored before the server can hand them out.
        self.store_ops.push_back(StoreOp::Commit(Box::new(changes)));
        let spk = &self.device.signed_pre_key;
        let node = Node::new("iq")
            .attr("xmlns", "encrypt")
            .attr("type", "set")
            .child(
                Node::new("registration")
                    .bytes(self.device.registration_id.to_be_bytes().to_vec())
                    .build(),
            )
            .child(Node::new("type").bytes(vec![KEY_BUNDLE_TYPE]).build())
            .child(
                Node::new("identity")
                    .bytes(self.device.identity_key.public().raw().to_vec())
                    .build(),
            )
            .child(Node::new("list").children(keys).build())
            .child(payload::signed_pre_key_node(spk))
            .build();
        debug!(count = WANTED_PRE_KEY_COUNT, last_id, "uploading prekeys");
        let timeout = self.config.iq_timeout;
        self.send_iq_kind(
            now,
            node,
            IqKind::PreKeyUpload {
                last_id,
                count: WANTED_PRE_KEY_COUNT,
                at_login,
            },
            timeout,
        );
    }

    fn set_active(&mut self, now: Instant) {
        let node = Node::new("iq")
            .attr("xmlns", "passive")
            .attr("type", "set")
            .child(Node::new("active").build())
            .build();
        let timeout = self.config.iq_timeout;
        self.send_iq_kind(now, node, IqKind::Passive, timeout);
    }

    pub(super) fn keepalive_tick(&mut self, now: Instant) {
        let Some(at) = self.keepalive.next_ping else {
            return;
        };
        if at > now {
            return;
        }
        let ping = Node::new("iq")
            .attr("xmlns", "w:p")
            .attr("type", "get")
            .child(Node::new("ping").build())
            .build();
        let deadline = self.config.keepalive.response_deadline;
        self.send_iq_kind(now, ping, IqKind::Ping, deadline);
        let wait = self.random_between(
            self.config.keepalive.interval_min,
            self.config.keepalive.interval_max,
        );
        self.keepalive.next_ping = Some(now + wait.max(deadline));
    }
}
