//! The presence API of [`Client`]: our availability, subscriptions to contacts' presence, and
//! typing/recording states (see [`crate::presence`]).

use wa_binary::Jid;

use super::Client;
use crate::error::{Error, Result};
use crate::presence::{
    ChatPresence, ChatPresenceMedia, Presence, chat_state_node, presence_node, subscribe_node,
};

impl Client {
    /// Tells the server (and contacts subscribed to us) that we are online or offline. Going
    /// online needs a push name, as in whatsmeow: the device's, else
    /// [`crate::Config::push_name`]; [`Error::Config`] when there is neither.
    pub async fn send_presence(&self, presence: Presence) -> Result<()> {
        let device = self.send.store.device().await?;
        let name = Some(device.push_name.as_str())
            .filter(|n| !n.is_empty())
            .or_else(|| self.send.configured_push_name.get().map(String::as_str));
        if presence == Presence::Available && name.is_none() {
            return Err(Error::Config(
                "going online needs a push name (Config::push_name)".into(),
            ));
        }
        self.send_node(presence_node(presence, name)).await
    }

    /// Asks for `jid`'s presence: the server answers with its current state and reports every
    /// change as [`crate::Event::Presence`]. Our privacy token for `jid` goes along when we
    /// hold one.
    pub async fn subscribe_presence(&self, jid: Jid) -> Result<()> {
        let token = self.send.store.privacy_token(&jid).await?;
        self.send_node(subscribe_node(
            &jid,
            token.as_ref().map(|t| t.token.as_slice()),
        ))
        .await
    }

    /// Tells `chat` (a user or a group) that we are typing or recording (`Composing`, with
    /// [`ChatPresenceMedia::Audio`] for a voice note) or stopped (`Paused`).
    pub async fn send_chat_presence(
        &self,
        chat: Jid,
        state: ChatPresence,
        media: ChatPresenceMedia,
    ) -> Result<()> {
        let own = self.send.store.device().await?.jid;
        self.send_node(chat_state_node(own.as_ref(), &chat, state, media))
            .await
    }
}
