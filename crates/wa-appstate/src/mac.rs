//! The four MACs of app-state sync, exposed for callers that build or check records by hand.
//!
//! Every function takes the key it needs from [`MutationKeys`](crate::MutationKeys).

use crate::Operation;
use crate::crypto::{HmacSha256Stream, hmac_sha256, hmac_sha512_trunc32};
use crate::lthash::LtHash;

/// Index MAC: HMAC-SHA256 of the index JSON bytes (for example `["mute","123@s.whatsapp.net"]`)
/// under the index key. It names the record without revealing the index.
pub fn index_mac(index_key: &[u8; 32], index_json: &[u8]) -> [u8; 32] {
    hmac_sha256(index_key, &[index_json])
}

/// Value MAC: HMAC-SHA512 under the value-MAC key of
/// `operation byte (SET = 1, REMOVE = 2) || key id || iv || ciphertext || u64 BE (len(key id) + 1)`,
/// truncated to 32 bytes. `encrypted` is the IV followed by the ciphertext.
pub fn value_mac(
    value_mac_key: &[u8; 32],
    operation: Operation,
    key_id: &[u8],
    encrypted: &[u8],
) -> [u8; 32] {
    let op = [operation.mac_byte()];
    let key_data_len = (key_id.len() as u64).wrapping_add(1).to_be_bytes();
    hmac_sha512_trunc32(value_mac_key, &[&op, key_id, encrypted, &key_data_len])
}

/// Snapshot MAC: HMAC-SHA256 under the snapshot-MAC key of
/// `LTHash (128 bytes) || version (u64 BE) || collection name`.
pub fn snapshot_mac(
    snapshot_mac_key: &[u8; 32],
    hash: &LtHash,
    version: u64,
    name: &str,
) -> [u8; 32] {
    hmac_sha256(
        snapshot_mac_key,
        &[hash.as_bytes(), &version.to_be_bytes(), name.as_bytes()],
    )
}

/// Patch MAC: HMAC-SHA256 under the patch-MAC key of
/// `snapshot MAC || value MAC of each mutation, in order || version (u64 BE) || collection name`.
pub fn patch_mac<'a, I>(
    patch_mac_key: &[u8; 32],
    snapshot_mac: &[u8],
    value_macs: I,
    version: u64,
    name: &str,
) -> [u8; 32]
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut mac = HmacSha256Stream::new(patch_mac_key);
    mac.update(snapshot_mac);
    for v in value_macs {
        mac.update(v);
    }
    mac.update(&version.to_be_bytes());
    mac.update(name.as_bytes());
    mac.finish()
}
