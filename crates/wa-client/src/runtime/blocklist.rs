//! The blocklist API of [`Client`] (see [`crate::blocklist`]).

use wa_binary::Jid;

use super::Client;
use crate::blocklist::{Blocklist, BlocklistAction, get_request, parse_blocklist, update_request};
use crate::error::Result;

impl Client {
    /// The users this account blocked.
    pub async fn blocklist(&self) -> Result<Blocklist> {
        let reply = self.send_iq(get_request(), None).await?;
        parse_blocklist(&reply)
    }

    /// Blocks or unblocks `jid`; returns the list as it is now. The account's other devices
    /// get [`crate::Event::Blocklist`].
    pub async fn update_blocklist(&self, jid: &Jid, action: BlocklistAction) -> Result<Blocklist> {
        let reply = self.send_iq(update_request(jid, action), None).await?;
        parse_blocklist(&reply)
    }
}
