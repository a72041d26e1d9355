//! The call API of [`Client`]: refusing an incoming call (see [`crate::call`]).

use wa_binary::Jid;

use super::Client;
use crate::call::reject_node;
use crate::error::{Error, Result};

impl Client {
    /// Refuses the incoming call `call_id` from `caller` (the `call_creator` of its
    /// [`crate::CallEvent::Offer`]), as whatsmeow's `RejectCall` does: one `<call><reject>` to
    /// the caller's account, with our privacy token for it when we hold one. The server tells
    /// the caller and our other devices (which stop ringing).
    ///
    /// Fails with [`Error::NotPaired`] before pairing and [`Error::NotConnected`] while not
    /// logged in.
    pub async fn reject_call(&self, caller: Jid, call_id: &str) -> Result<()> {
        let own = self
            .send
            .store
            .device()
            .await?
            .jid
            .ok_or(Error::NotPaired)?;
        let caller = caller.to_non_ad();
        let token = self.send.store.privacy_token(&caller).await?;
        let node = reject_node(
            &self.generate_message_id(),
            &own,
            &caller,
            call_id,
            token.as_ref().map(|t| t.token.as_slice()),
        );
        self.send_node(node).await
    }
}
