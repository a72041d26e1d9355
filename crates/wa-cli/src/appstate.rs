//! `wa mute`, `wa pin` and `wa archive`: chat settings shared with the account's other devices
//! through app-state sync, with the session saved by `wa login`.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use wa_client::appstate::{Collection, PatchInfo};
use wa_client::{Event, EventStream};
use wa_store::{Container, DeviceId, Store};

use crate::messaging::{now_ms, parse_jid};
use crate::session::{ConnectArgs, open_session};

/// The chat a setting applies to, and whether to turn it off.
#[derive(Debug, Args)]
pub struct ChatSettingArgs {
    /// Connection and store options.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The chat: a phone number or a JID.
    #[arg(long)]
    pub chat: String,
    /// Undo the setting (unmute, unpin, unarchive).
    #[arg(long)]
    pub off: bool,
}

/// `wa mute` options.
#[derive(Debug, Args)]
pub struct MuteArgs {
    /// The chat.
    #[command(flatten)]
    pub setting: ChatSettingArgs,
    /// Mute for this many hours (default: forever).
    #[arg(long, conflicts_with = "off")]
    pub hours: Option<u32>,
}

/// The patch of `wa mute`: `end_ms` is when a mute for `hours` ends.
pub fn mute_patch(chat: &str, off: bool, hours: Option<u32>, now_ms: i64) -> PatchInfo {
    let end = hours.map(|h| now_ms.saturating_add(i64::from(h).saturating_mul(3_600_000)));
    PatchInfo::mute(chat, !off, if off { None } else { end })
}

/// Waits until the store of device `id` in `container` holds an app-state sync key (the
/// primary device's key share arrived), at most `timeout`; whether it does.
pub async fn wait_for_key<C: Container>(container: &C, id: DeviceId, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Ok(Some(store)) = container.get(id).await
            && let Ok(Some(_)) = store.latest_app_state_sync_key().await
        {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `collection` was synced (its key is there and the state is current): in the
/// events seen before login (`early`) or from now on, at most `timeout`.
async fn until_synced(
    early: &[Event],
    events: &mut EventStream,
    collection: Collection,
    timeout: Duration,
) -> Result<()> {
    let done = |e: &Event| -> Option<Result<()>> {
        match e {
            Event::AppStateSynced { collection: c, .. } if c == collection.as_str() => Some(Ok(())),
            Event::AppStateSyncFailed {
                collection: c,
                error,
            } if c == collection.as_str() => {
                Some(Err(anyhow::anyhow!("syncing {c} failed: {error}")))
            }
            _ => None,
        }
    };
    if let Some(r) = early.iter().find_map(done) {
        return r;
    }
    let wait = async {
        while let Some(e) = events.recv().await {
            if let Some(r) = done(&e) {
                return r;
            }
        }
        bail!("the client stopped before {collection} was synced")
    };
    tokio::time::timeout(timeout, wait).await.with_context(|| {
        format!("{collection} was not synced in time (has the phone shared its app-state keys?)")
    })?
}

async fn apply(connect: &ConnectArgs, patch: PatchInfo, what: &str, chat: &str) -> Result<String> {
    let session = open_session(connect).await?;
    let mut events = session.events;
    let res = async {
        until_synced(
            &session.early,
            &mut events,
            patch.collection,
            Duration::from_secs(connect.timeout),
        )
        .await?;
        session
            .client
            .send_app_state(&patch)
            .await
            .context("uploading the change")
    }
    .await;
    session.client.disconnect().await;
    let version = res?;
    Ok(format!(
        "{what} {chat} ({} version {version})",
        patch.collection
    ))
}

/// `wa mute`.
pub async fn mute(args: &MuteArgs) -> Result<String> {
    let s = &args.setting;
    let chat = parse_jid(&s.chat)?.to_string();
    let patch = mute_patch(&chat, s.off, args.hours, now_ms());
    let what = if s.off { "unmuted" } else { "muted" };
    apply(&s.connect, patch, what, &chat).await
}

/// `wa pin`.
pub async fn pin(args: &ChatSettingArgs) -> Result<String> {
    let chat = parse_jid(&args.chat)?.to_string();
    let what = if args.off { "unpinned" } else { "pinned" };
    apply(&args.connect, PatchInfo::pin(&chat, !args.off), what, &chat).await
}

/// `wa archive`.
pub async fn archive(args: &ChatSettingArgs) -> Result<String> {
    let chat = parse_jid(&args.chat)?.to_string();
    let what = if args.off { "unarchived" } else { "archived" };
    apply(
        &args.connect,
        PatchInfo::archive(&chat, !args.off),
        what,
        &chat,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mute_patches_carry_the_end_time() {
        let chat = "15550001111@s.whatsapp.net";
        assert_eq!(
            mute_patch(chat, false, Some(2), 1_000),
            PatchInfo::mute(chat, true, Some(1_000 + 7_200_000))
        );
        assert_eq!(
            mute_patch(chat, false, None, 1_000),
            PatchInfo::mute(chat, true, None)
        );
        assert_eq!(
            mute_patch(chat, true, None, 1_000),
            PatchInfo::mute(chat, false, None)
        );
    }
}
