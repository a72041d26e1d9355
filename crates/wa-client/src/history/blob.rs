//! The history blob: recognising the notification, where its bytes are, and inflating and
//! decoding them with a size cap.

use flate2::{Decompress, FlushDecompress, Status};
use wa_proto::prost::Message as _;
use wa_proto::proto::message::{HistorySyncNotification, protocol_message};
use wa_proto::proto::{HistorySync, Message};

use super::HistoryError;
use crate::media::{DownloadableMessage, MediaError, MediaRef};

/// Default cap on an inflated history blob: 256 MiB (WhatsApp's chunks are a few MiB).
pub const MAX_INFLATED: usize = 256 << 20;

/// How much output room one inflate step adds.
const STEP: usize = 64 << 10;

/// The history-sync notification a decrypted message carries, if it is one (a
/// `protocolMessage` of type `HISTORY_SYNC_NOTIFICATION` with the notification set). Whether
/// it came from our own account is the caller's check (whatsmeow ignores others').
#[must_use]
pub fn notification_of(message: &Message) -> Option<&HistorySyncNotification> {
    let pm = message.protocol_message.as_deref()?;
    if pm.r#type != Some(protocol_message::Type::HistorySyncNotification as i32) {
        return None;
    }
    pm.history_sync_notification.as_ref()
}

/// Inflates a zlib stream (header, deflate data, Adler-32), refusing output beyond `limit`
/// bytes and a stream that ends before its end marker.
pub fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>, HistoryError> {
    let mut z = Decompress::new(true);
    let mut out: Vec<u8> = Vec::with_capacity(data.len().saturating_mul(4).min(limit).min(STEP));
    loop {
        if out.len() == out.capacity() {
            if out.len() >= limit.saturating_add(1) {
                return Err(HistoryError::TooLarge { limit });
            }
            // One byte past the cap tells "exactly at the cap" from "beyond it".
            let room = STEP.min(limit.saturating_add(1).saturating_sub(out.len()));
            out.reserve_exact(room);
        }
        let consumed = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let input = data.get(consumed..).unwrap_or_default();
        let before_out = out.len();
        let status = z
            .decompress_vec(input, &mut out, FlushDecompress::None)
            .map_err(|e| HistoryError::Inflate(e.to_string()))?;
        if out.len() > limit {
            return Err(HistoryError::TooLarge { limit });
        }
        match status {
            Status::StreamEnd => return Ok(out),
            Status::Ok | Status::BufError => {
                let consumed_now = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
                let progressed = consumed_now != consumed || out.len() != before_out;
                if !progressed && out.len() < out.capacity() {
                    // Room left, nothing consumed or produced: the input ran out.
                    return Err(HistoryError::Truncated);
                }
            }
        }
    }
}

/// Inflates (at most `limit` bytes) and decodes a history blob.
pub fn decode_blob(data: &[u8], limit: usize) -> Result<HistorySync, HistoryError> {
    let raw = inflate(data, limit)?;
    HistorySync::decode(raw.as_slice()).map_err(|e| HistoryError::Decode(e.to_string()))
}

/// Where a notification's blob is: inline bytes, or media to download.
#[derive(Debug)]
pub(crate) enum Payload<'a> {
    /// `initialHistBootstrapInlinePayload`.
    Inline(&'a [u8]),
    /// Encrypted media of type history.
    Media(MediaRef),
}

/// The notification's payload: the inline bytes when present, else its media reference.
pub(crate) fn payload(n: &HistorySyncNotification) -> Result<Payload<'_>, HistoryError> {
    if let Some(inline) = &n.initial_hist_bootstrap_inline_payload {
        return Ok(Payload::Inline(inline));
    }
    n.media_ref().map(Payload::Media).map_err(|e| match e {
        MediaError::MissingField(f) => HistoryError::NoPayload(f),
        _ => HistoryError::NoPayload("media reference"),
    })
}
