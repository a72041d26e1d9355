//! The driver's app-state hooks: sync after login, on `server_sync`, and on a key share from
//! our primary device. Syncs run in tasks (they wait for IQ replies the driver answers).

use wa_binary::Node;
use wa_store::Container;

use super::{Client, Driver};
use crate::event::Event;

impl<C: Container> Driver<C> {
    /// A [`Client`] for a task, while any handle lives.
    pub(super) fn app_state_client(&self) -> Option<Client> {
        let (weak, device_id, send) = &self.handle;
        Some(Client {
            commands: weak.upgrade()?,
            device_id: *device_id,
            send: send.clone(),
        })
    }

    /// Logged in: sync every collection if a key is stored.
    pub(super) fn app_state_on_connected(&self) {
        if let Some(client) = self.app_state_client() {
            client.spawn_sync_if_keyed();
        }
    }

    /// A `<notification type='server_sync'>`: sync the collections it names.
    pub(super) fn app_state_on_stanza(&self, node: &Node) {
        let collections = crate::appstate::wire::server_sync_collections(node);
        if !collections.is_empty()
            && let Some(client) = self.app_state_client()
        {
            client.spawn_sync(collections);
        }
    }

    /// Key shares among decrypted messages from our own devices: store the keys, then sync.
    pub(super) async fn app_state_on_events(&self, events: &[Event]) {
        for event in events {
            let Event::Message(m) = event else { continue };
            if !m.info.source.is_from_me {
                continue;
            }
            let keys = crate::appstate::wire::shared_keys(&m.message);
            if keys.is_empty() {
                continue;
            }
            if let Some(client) = self.app_state_client() {
                client.on_key_share(keys).await;
            }
        }
    }
}
