//! The receipts API of [`Client`]: marking messages read or played, and sending a prebuilt
//! stanza.

use tokio::sync::oneshot;
use wa_binary::{Jid, Node};

use super::{Client, Command};
use crate::error::{Error, Result};
use crate::event::ReceiptKind;
use crate::recv::outgoing_receipt;

impl Client {
    /// Sends a stanza as it is (no id is filled in, no reply is awaited). Fails with
    /// [`Error::NotConnected`] when the session is not logged in.
    pub async fn send_node(&self, node: Node) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::SendNode(node, reply))
            .map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Marks messages `ids` of `chat` as read at `timestamp` (Unix seconds): one `<receipt
    /// type="read">` with the extra ids in a `<list>`. In groups `sender` is the author of the
    /// messages. The server tells our other devices (`read-self`).
    pub async fn mark_read(
        &self,
        ids: &[String],
        chat: Jid,
        sender: Option<Jid>,
        timestamp: u64,
    ) -> Result<()> {
        let node = outgoing_receipt(ids, &chat, sender.as_ref(), timestamp, &ReceiptKind::Read)?;
        self.send_node(node).await
    }

    /// Marks voice or view-once messages `ids` of `chat` as played (`<receipt type="played">`),
    /// like [`Client::mark_read`].
    pub async fn mark_played(
        &self,
        ids: &[String],
        chat: Jid,
        sender: Option<Jid>,
        timestamp: u64,
    ) -> Result<()> {
        let node = outgoing_receipt(ids, &chat, sender.as_ref(), timestamp, &ReceiptKind::Played)?;
        self.send_node(node).await
    }
}
