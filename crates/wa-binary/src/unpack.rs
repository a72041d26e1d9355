//! Frame unpacking: the flags byte and zlib-compressed frames.

use std::borrow::Cow;
use std::io::Read;

use crate::DecodeError;
use crate::decode::{DecodeOptions, unmarshal_with};
use crate::node::Node;

/// Flag bit set in the first byte of a frame whose body is zlib-compressed.
pub const FLAG_COMPRESSED: u8 = 2;

/// Strips the flags byte and inflates the body when [`FLAG_COMPRESSED`] is set (whatsmeow's
/// `Unpack`), with the default 64 MiB limit on the inflated size.
pub fn unpack(frame: &[u8]) -> Result<Cow<'_, [u8]>, DecodeError> {
    unpack_with_limit(frame, crate::decode::DEFAULT_MAX_DECOMPRESSED)
}

/// [`unpack`] with an explicit limit on the inflated size, in bytes.
pub fn unpack_with_limit(frame: &[u8], limit: usize) -> Result<Cow<'_, [u8]>, DecodeError> {
    let (&flags, body) = frame.split_first().ok_or(DecodeError::EmptyFrame)?;
    if flags & FLAG_COMPRESSED == 0 {
        return Ok(Cow::Borrowed(body));
    }
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::ZlibDecoder::new(body)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Zlib(e.to_string()))?;
    if out.len() > limit {
        return Err(DecodeError::DecompressedTooLarge { limit });
    }
    Ok(Cow::Owned(out))
}

/// Unpacks a whole frame (flags byte first) and decodes its node: what Baileys'
/// `decodeBinaryNode` does.
pub fn decode_frame(frame: &[u8]) -> Result<Node, DecodeError> {
    decode_frame_with(frame, &DecodeOptions::default())
}

/// [`decode_frame`] with explicit limits.
pub fn decode_frame_with(frame: &[u8], opts: &DecodeOptions) -> Result<Node, DecodeError> {
    let body = unpack_with_limit(frame, opts.max_decompressed)?;
    unmarshal_with(&body, opts)
}
