//! The admin's call controls. Neither whatsmeow nor Baileys can place a call, so the simulated
//! phone of an account does: [`Admin::place_call`] rings another account's companions with an
//! `<offer>`, [`Admin::end_call`] hangs up with `<terminate>`, and [`Admin::phone_call_stanza`]
//! sends any other signalling. What reached the phones and which call stanzas companions acked
//! is in [`Admin::calls_to_phone`] and [`Admin::call_acks`] (see [`crate::engine::CallLog`]).

use rand_core::Rng as _;
use wa_binary::{Jid, Node};

use crate::engine::CallStanzaRecord;
use crate::error::{Error, Result};
use crate::listener::{lock, now_ms};
use crate::server::Admin;
use crate::state::{AccountId, DeviceKey};

/// How a simulated call is addressed: the JID forms of the two accounts' phones.
struct Parties {
    caller: AccountId,
    /// The callee's LID (phones address calls by LID, as current WhatsApp does).
    callee_lid: Jid,
    caller_lid: Jid,
    caller_pn: Jid,
}

impl Admin {
    fn parties(&self, caller: &str, callee: &str) -> Result<Parties> {
        let state = lock(&self.shared.state);
        let find = |phone: &str| {
            state
                .account_by_phone(phone.trim())
                .ok_or_else(|| Error::UnknownAccount(phone.to_owned()))
        };
        let (caller, callee) = (find(caller)?, find(callee)?);
        let account = |id: AccountId| {
            state
                .acct(id)
                .map(|a| a.account.clone())
                .ok_or_else(|| Error::UnknownAccount(id.to_string()))
        };
        let (caller_account, callee_account) = (account(caller)?, account(callee)?);
        Ok(Parties {
            caller,
            callee_lid: callee_account.lid_jid(0),
            caller_lid: caller_account.lid_jid(0),
            caller_pn: caller_account.pn_jid(0),
        })
    }

    /// The phone of account `caller` sends call signalling `child` to account `callee`; it
    /// reaches the callee's online companions as `<call from=CALLER_LID>` (offline ones miss
    /// it). Returns how many companions it was handed to.
    pub fn phone_call_stanza(&self, caller: &str, callee: &str, child: Node) -> Result<usize> {
        let parties = self.parties(caller, callee)?;
        let deliveries = {
            let mut state = lock(&self.shared.state);
            let sender = DeviceKey::new(parties.caller, 0);
            let routed = crate::engine::route_call(
                &mut state,
                sender,
                &parties.callee_lid,
                &child,
                now_ms(),
            )
            .unwrap_or_default();
            routed
                .into_iter()
                .filter_map(|(device, node)| {
                    state.online.get(&device).map(|conn| (*conn, device, node))
                })
                .collect::<Vec<_>>()
        };
        let mut handed = 0;
        for (conn, device, node) in deliveries {
            if self.shared.deliver(conn, device, node).is_none() {
                handed += 1;
            }
        }
        Ok(handed)
    }

    /// The phone of account `caller` calls account `callee` (a 1:1 voice call, or video when
    /// `video`): an `<offer call-id call-creator=CALLER_LID caller_pn>` with audio codecs (and
    /// a `<video>`). Returns the new call id (32 hex digits).
    pub fn place_call(&self, caller: &str, callee: &str, video: bool) -> Result<String> {
        let parties = self.parties(caller, callee)?;
        let mut random = [0u8; 16];
        self.shared.conn_rng().fill_bytes(&mut random);
        let call_id = hex::encode_upper(random);
        let audio = |rate: &str| {
            Node::new("audio")
                .attr("enc", "opus")
                .attr("rate", rate)
                .build()
        };
        let mut children = vec![audio("16000"), audio("8000")];
        if video {
            children.push(
                Node::new("video")
                    .attr("enc", "vp8")
                    .attr("dec", "vp8")
                    .build(),
            );
        }
        children.push(Node::new("net").attr("medium", "3").build());
        children.push(Node::new("encopt").attr("keygen", "2").build());
        let offer = Node::new("offer")
            .attr("call-id", call_id.clone())
            .attr("call-creator", parties.caller_lid)
            .attr("caller_pn", parties.caller_pn)
            .children(children)
            .build();
        let handed = self.phone_call_stanza(caller, callee, offer)?;
        tracing::info!(caller, callee, handed, "phone placed a call");
        Ok(call_id)
    }

    /// The phone of account `caller` hangs up call `call_id` to `callee` (`<terminate>`, with
    /// `reason` such as `timeout` when given). Returns how many companions it reached.
    pub fn end_call(
        &self,
        caller: &str,
        callee: &str,
        call_id: &str,
        reason: Option<&str>,
    ) -> Result<usize> {
        let parties = self.parties(caller, callee)?;
        let terminate = Node::new("terminate")
            .attr("call-id", call_id)
            .attr("call-creator", parties.caller_lid)
            .attr_opt("reason", reason.map(str::to_owned))
            .build();
        self.phone_call_stanza(caller, callee, terminate)
    }

    /// The call stanzas that reached the phone of account `phone` (answers of the other
    /// account's companions, and those of this account's companions), oldest first.
    pub fn calls_to_phone(&self, phone: &str) -> Result<Vec<Node>> {
        let state = lock(&self.shared.state);
        let account = state
            .account_by_phone(phone.trim())
            .ok_or_else(|| Error::UnknownAccount(phone.to_owned()))?;
        Ok(state
            .calls
            .to_phone
            .get(&account)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default())
    }

    /// The call stanzas handed to companions (device and stanza id), oldest first.
    #[must_use]
    pub fn delivered_calls(&self) -> Vec<CallStanzaRecord> {
        lock(&self.shared.state)
            .calls
            .delivered
            .iter()
            .cloned()
            .collect()
    }

    /// The `<ack class="call">` stanzas companions sent (device and stanza id), oldest first.
    #[must_use]
    pub fn call_acks(&self) -> Vec<CallStanzaRecord> {
        lock(&self.shared.state)
            .calls
            .acks
            .iter()
            .cloned()
            .collect()
    }
}
