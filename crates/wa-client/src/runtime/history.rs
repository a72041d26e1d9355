//! The driver's history-sync hooks (see [`crate::history`]). A history-sync notification from
//! our own account with an inline chunk is handled in the driver pass that delivers it (decode,
//! store, event, `hist_sync` receipt), like the app-state key share, and its buffer entry is
//! marked with the others of the pass. A chunk to download goes to one worker task (a download
//! waits for `<media_conn>`, which the driver answers), which takes chunks in the order they
//! arrived and marks each buffer entry handled only once the chunk was stored, emitted and
//! acknowledged. Notifications replayed from the event buffer after a restart are processed
//! by the worker once the connection is up.

use std::collections::HashSet;

use tracing::{debug, info, warn};
use wa_binary::{Jid, Node};
use wa_proto::proto::HistorySync;
use wa_proto::proto::message::HistorySyncNotification;
use wa_store::{Changes, Container, Store as _};

use super::{Client, Driver};
use crate::error::{Error, Result};
use crate::event::{Event, MessageEvent};
use crate::history::{HistoryOptions, HistorySyncEvent};
use crate::media::MediaError;

/// A notification waiting to be processed: the notification, its message id and its buffer key.
#[derive(Debug, Clone)]
pub(super) struct PendingHistory {
    notification: HistorySyncNotification,
    message_id: String,
    hash: [u8; 32],
}

/// What became of a history notification replayed from the event buffer.
#[derive(Debug)]
pub(super) enum HistoryReplay {
    /// Not a history notification of ours.
    NotHistory,
    /// Handled: these events follow the message; mark it handled once they are delivered.
    Done(Vec<Event>),
    /// Left for later: do not mark it handled.
    Pending,
}

/// One notification to process, with a client handle and the options in force.
type Job = (Client, PendingHistory, HistoryOptions);

/// History state shared by the client handles: a queue worked by one task (chunks are
/// processed one at a time, in the order they arrived), and the buffer keys queued or being
/// processed (a redelivery of the same notification is not run twice).
#[derive(Debug, Default)]
pub(crate) struct HistoryShared {
    queue: std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<Job>>>,
    in_flight: std::sync::Mutex<HashSet<[u8; 32]>>,
}

impl HistoryShared {
    /// Claims `hash`; false if it is already queued or being processed.
    fn claim(&self, hash: [u8; 32]) -> bool {
        self.in_flight
            .lock()
            .map(|mut s| s.insert(hash))
            .unwrap_or(false)
    }

    fn release(&self, hash: &[u8; 32]) {
        if let Ok(mut s) = self.in_flight.lock() {
            s.remove(hash);
        }
    }

    /// Queues `job`, starting the worker task if none runs.
    fn enqueue(&self, job: Job) {
        let Ok(mut queue) = self.queue.lock() else {
            return;
        };
        let job = match queue.as_ref() {
            Some(tx) => match tx.send(job) {
                Ok(()) => return,
                Err(tokio::sync::mpsc::error::SendError(job)) => job,
            },
            None => job,
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            while let Some((client, pending, options)) = rx.recv().await {
                let hash = pending.hash;
                client.process_history(pending, &options).await;
                client.send.history.release(&hash);
            }
        });
        if tx.send(job).is_ok() {
            *queue = Some(tx);
        }
    }
}

/// The history notification `event` carries, if it is one from our own account.
fn own_notification(event: &MessageEvent) -> Option<&HistorySyncNotification> {
    if !event.info.source.is_from_me {
        return None;
    }
    crate::history::notification_of(&event.message)
}

/// The `hist_sync` receipt for notification `id`, to our own account (whatsmeow
/// `SendProtocolMessageReceipt`).
pub(crate) fn hist_sync_receipt(id: &str, own: &Jid) -> Node {
    Node::new("receipt")
        .attr("id", id)
        .attr("type", "hist_sync")
        .attr("to", own.to_non_ad())
        .build()
}

/// Whether a failure may pass by itself (so the notification stays pending for a later try).
fn transient(e: &Error) -> bool {
    matches!(
        e,
        Error::Stopped
            | Error::NotConnected
            | Error::Iq(_)
            | Error::Store(_)
            | Error::Media(MediaError::Transport { .. })
    ) || matches!(e, Error::Media(MediaError::Http { status, .. }) if *status >= 500)
}

impl<C: Container> Driver<C> {
    /// Handles the history notifications among a stanza's output. An inline chunk (and, with
    /// automatic processing off, any notification) is dealt with here, in the same pass: the
    /// chunk decoded and stored, [`Event::HistorySync`] (or the failure) added after the
    /// message event, the `hist_sync` receipt queued; its buffer key stays in `handled`, so it
    /// is marked once the events reached the application. A chunk to download goes to the
    /// worker task and its key leaves `handled` (the task marks it once processed). A store
    /// failure leaves the notification pending (it is replayed on the next start).
    pub(super) async fn history_on_output(
        &self,
        engine: &mut crate::engine::Engine,
        events: &mut Vec<Event>,
        handled: &mut Vec<[u8; 32]>,
    ) {
        // Each delivered message event has its buffer key at the same position in `handled`.
        let found: Vec<(usize, HistorySyncNotification, String)> = events
            .iter()
            .filter_map(|e| match e {
                Event::Message(m) => Some(m),
                _ => None,
            })
            .enumerate()
            .filter_map(|(i, m)| Some((i, own_notification(m)?.clone(), m.info.id.clone())))
            .collect();
        if found.is_empty() {
            return;
        }
        let own = engine.device().jid.as_ref().map(Jid::to_non_ad);
        let options = &self.config.history;
        let mut drop_keys = Vec::new();
        for (i, notification, message_id) in found {
            let Some(&hash) = handled.get(i) else {
                continue;
            };
            let inline = notification.initial_hist_bootstrap_inline_payload.is_some();
            let Some(own) = own.clone().filter(|_| inline || !options.automatic) else {
                drop_keys.push(hash);
                self.spawn_history(PendingHistory {
                    notification,
                    message_id,
                    hash,
                });
                continue;
            };
            if options.automatic {
                match self.inline_chunk(&notification, &message_id, &own).await {
                    Ok(event) => events.push(event),
                    Err(e) if transient(&e) => {
                        warn!(id = %message_id, error = %e, "history chunk not stored; kept for a retry");
                        drop_keys.push(hash);
                        continue;
                    }
                    Err(e) => {
                        warn!(id = %message_id, error = %e, "history sync failed");
                        events.push(Event::HistorySyncFailed {
                            message_id: message_id.clone(),
                            error: e.to_string(),
                        });
                    }
                }
            }
            engine.send_stanza(&hist_sync_receipt(&message_id, &own));
        }
        handled.retain(|h| !drop_keys.contains(h));
    }

    /// Decodes and stores an inline chunk; its event.
    async fn inline_chunk(
        &self,
        notification: &HistorySyncNotification,
        message_id: &str,
        own: &Jid,
    ) -> Result<Event> {
        let blob = match crate::history::blob_payload(notification)? {
            crate::history::Payload::Inline(bytes) => bytes,
            crate::history::Payload::Media(_) => {
                return Err(crate::history::HistoryError::NoPayload("inline payload").into());
            }
        };
        let data = crate::history::decode_blob(blob, self.config.history.max_inflated)?;
        let (changes, stored) = crate::history::store_changes(&data, own);
        self.store.commit(changes).await?;
        let event = HistorySyncEvent {
            message_id: message_id.to_owned(),
            own_jid: own.clone(),
            data,
        };
        info!(id = %message_id, stored, "history sync: {}", event.summary());
        Ok(Event::HistorySync(Box::new(event)))
    }

    /// What to do with a buffered event replayed after a restart: an inline chunk (or any
    /// notification with automatic processing off) is handled now, its events follow the
    /// message and its `hist_sync` receipt waits for the connection; a chunk to download is
    /// kept for the worker once connected (and must not be marked handled yet).
    pub(super) async fn history_on_replay(
        &mut self,
        event: &MessageEvent,
        hash: [u8; 32],
    ) -> HistoryReplay {
        let Some(n) = own_notification(event) else {
            return HistoryReplay::NotHistory;
        };
        let id = event.info.id.clone();
        let own = match self.store.device().await {
            Ok(d) => d.jid.as_ref().map(Jid::to_non_ad),
            Err(_) => None,
        };
        let inline = n.initial_hist_bootstrap_inline_payload.is_some();
        let Some(own) = own.filter(|_| inline || !self.config.history.automatic) else {
            self.history_replay.push(PendingHistory {
                notification: n.clone(),
                message_id: id,
                hash,
            });
            return HistoryReplay::Pending;
        };
        let mut extra = Vec::new();
        if self.config.history.automatic {
            match self.inline_chunk(n, &id, &own).await {
                Ok(e) => extra.push(e),
                Err(e) if transient(&e) => {
                    warn!(id = %id, error = %e, "history chunk not stored; kept for a retry");
                    return HistoryReplay::Pending;
                }
                Err(e) => {
                    warn!(id = %id, error = %e, "history sync failed");
                    extra.push(Event::HistorySyncFailed {
                        message_id: id.clone(),
                        error: e.to_string(),
                    });
                }
            }
        }
        self.history_receipts.push(id);
        HistoryReplay::Done(extra)
    }

    /// Connected: sends the `hist_sync` receipts of replayed chunks and hands the replayed
    /// chunks to download to the worker.
    pub(super) fn history_on_connected(&mut self, engine: &mut crate::engine::Engine) {
        if let Some(own) = engine.device().jid.clone() {
            for id in std::mem::take(&mut self.history_receipts) {
                engine.send_stanza(&hist_sync_receipt(&id, &own));
            }
        }
        for p in std::mem::take(&mut self.history_replay) {
            self.spawn_history(p);
        }
    }

    fn spawn_history(&self, pending: PendingHistory) {
        let Some(client) = self.app_state_client() else {
            return;
        };
        if !client.send.history.claim(pending.hash) {
            debug!(id = %pending.message_id, "history notification already being processed");
            return;
        }
        let options = self.config.history.clone();
        let shared = client.send.clone();
        shared.history.enqueue((client, pending, options));
    }
}

impl Client {
    /// Downloads (unless inline), inflates and decodes the blob of a history-sync
    /// notification (whatsmeow `DownloadHistorySync`), at most `max_inflated` bytes once
    /// inflated. Nothing is stored.
    pub async fn download_history_sync(
        &self,
        notification: &HistorySyncNotification,
        max_inflated: usize,
    ) -> Result<HistorySync> {
        let downloaded;
        let blob: &[u8] = match crate::history::blob_payload(notification)? {
            crate::history::Payload::Inline(bytes) => bytes,
            crate::history::Payload::Media(media) => {
                downloaded = self.download(&media).await?;
                &downloaded
            }
        };
        Ok(crate::history::decode_blob(blob, max_inflated)?)
    }

    /// Processes one notification: blob, store, event, receipt, then the buffer entry.
    async fn process_history(&self, p: PendingHistory, options: &HistoryOptions) {
        let outcome = if options.automatic {
            self.history_chunk(&p, options).await
        } else {
            Ok(())
        };
        if let Err(e) = &outcome {
            warn!(id = %p.message_id, error = %e, "history sync failed");
            self.send.app_state.emit(vec![Event::HistorySyncFailed {
                message_id: p.message_id.clone(),
                error: e.to_string(),
            }]);
            if transient(e) {
                return;
            }
        }
        match self.send.store.device().await.map(|d| d.jid) {
            Ok(Some(own)) => {
                if let Err(e) = self.send_node(hist_sync_receipt(&p.message_id, &own)).await {
                    warn!(id = %p.message_id, error = %e, "hist_sync receipt not sent");
                    return;
                }
            }
            Ok(None) => return,
            Err(e) => {
                warn!(error = %e, "device not readable for the hist_sync receipt");
                return;
            }
        }
        let mut c = Changes::new();
        c.clear_buffered_event(p.hash);
        if let Err(e) = self.send.store.commit(c).await {
            warn!(error = %e, "history notification not marked handled");
        }
    }

    /// The blob of `p`, decoded, stored and emitted.
    async fn history_chunk(&self, p: &PendingHistory, options: &HistoryOptions) -> Result<()> {
        let data = self
            .download_history_sync(&p.notification, options.max_inflated)
            .await?;
        let own = self
            .send
            .store
            .device()
            .await?
            .jid
            .ok_or(Error::NotPaired)?
            .to_non_ad();
        let (changes, stored) = crate::history::store_changes(&data, &own);
        self.send.store.commit(changes).await?;
        let event = HistorySyncEvent {
            message_id: p.message_id.clone(),
            own_jid: own,
            data,
        };
        info!(id = %p.message_id, stored, "history sync: {}", event.summary());
        self.send
            .app_state
            .emit(vec![Event::HistorySync(Box::new(event))]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use wa_proto::proto::Message;
    use wa_proto::proto::message::{ProtocolMessage, protocol_message};

    use super::*;
    use crate::message::{MessageInfo, MessageSource};

    fn event(from_me: bool) -> MessageEvent {
        let jid: Jid = "111@s.whatsapp.net".parse().unwrap();
        MessageEvent {
            info: MessageInfo {
                source: MessageSource {
                    chat: jid.clone(),
                    sender: jid,
                    sender_alt: None,
                    recipient_alt: None,
                    is_from_me: from_me,
                    is_group: false,
                },
                id: "N1".into(),
                push_name: None,
                timestamp: 0,
                kind: "text".into(),
                category: Some("peer".into()),
            },
            message: Box::new(Message {
                protocol_message: Some(Box::new(ProtocolMessage {
                    r#type: Some(protocol_message::Type::HistorySyncNotification as i32),
                    history_sync_notification: Some(HistorySyncNotification::default()),
                    ..Default::default()
                })),
                ..Default::default()
            }),
            retry_count: 0,
            unwrapped_from_device_sent: false,
            from_buffer: false,
        }
    }

    #[test]
    fn only_our_own_accounts_notifications_count() {
        assert!(own_notification(&event(true)).is_some());
        // Someone else's history notification is ignored, as whatsmeow does.
        assert!(own_notification(&event(false)).is_none());
    }

    #[test]
    fn the_receipt_goes_to_our_account_as_hist_sync() {
        let own: Jid = "111:7@s.whatsapp.net".parse().unwrap();
        let r = hist_sync_receipt("N1", &own);
        assert_eq!(r.tag, "receipt");
        assert_eq!(r.attr("id").and_then(|v| v.as_str()), Some("N1"));
        assert_eq!(r.attr("type").and_then(|v| v.as_str()), Some("hist_sync"));
        assert_eq!(
            r.attr("to").and_then(|v| v.as_jid()),
            Some(&"111@s.whatsapp.net".parse().unwrap())
        );
    }

    #[test]
    fn passing_failures_leave_the_notification_pending() {
        assert!(transient(&Error::NotConnected));
        assert!(transient(&Error::Media(MediaError::Http {
            status: 503,
            url: String::new()
        })));
        assert!(!transient(&Error::Media(MediaError::Http {
            status: 404,
            url: String::new()
        })));
        assert!(!transient(&Error::History(
            crate::history::HistoryError::Truncated
        )));
    }
}
