//! Helpers for the fuzz targets (`fuzz/fuzz_targets/appstate_patch.rs`) and tests: they let
//! arbitrary input reach past the MAC checks. Not a stable API.

use wa_proto::proto::{SyncdPatch, SyncdRecord};

use crate::collection::Collection;
use crate::crypto::aes_cbc_encrypt;
use crate::keys::MutationKeys;
use crate::mac;
use crate::mutation::Operation;
use crate::state::{HashState, IndexMac, Tracker, ValueMac, apply_all};

/// `iv || AES-256-CBC(plaintext) || value MAC`: a record value with a valid value MAC around
/// any plaintext.
pub fn seal_value(
    keys: &MutationKeys,
    operation: Operation,
    key_id: &[u8],
    iv: &[u8; 16],
    plaintext: &[u8],
) -> Vec<u8> {
    let mut blob = iv.to_vec();
    blob.extend_from_slice(&aes_cbc_encrypt(keys.value_encryption(), iv, plaintext));
    let value_mac = mac::value_mac(keys.value_mac(), operation, key_id, &blob);
    blob.extend_from_slice(&value_mac);
    blob
}

fn blob_mut(record: &mut SyncdRecord) -> Option<&mut Vec<u8>> {
    record.value.as_mut()?.blob.as_mut()
}

/// Rewrites the MACs of `patch` under `keys` (every record is taken to use them) so that every
/// check before decryption passes: each value MAC of a value long enough to hold one, the
/// snapshot MAC of the LTHash that applying the patch to `state` gives, and the patch MAC.
/// Records too malformed to parse are left alone (decoding rejects them anyway). The patch
/// must carry a version; without one nothing is changed.
pub fn remac_patch(
    name: Collection,
    state: &HashState,
    patch: &mut SyncdPatch,
    keys: &MutationKeys,
) {
    let Some(version) = patch.version.and_then(|v| v.version) else {
        return;
    };
    let mut applied: Vec<(Operation, IndexMac, ValueMac)> = Vec::new();
    let mut value_macs: Vec<ValueMac> = Vec::new();
    for m in &mut patch.mutations {
        let op = Operation::from_wire(m.operation).unwrap_or(Operation::Set);
        let Some(record) = m.record.as_mut() else {
            continue;
        };
        let key_id = record
            .key_id
            .as_ref()
            .and_then(|k| k.id.clone())
            .unwrap_or_default();
        let index = record
            .index
            .as_ref()
            .and_then(|i| i.blob.as_deref())
            .and_then(|b| IndexMac::try_from(b).ok());
        let Some(blob) = blob_mut(record) else {
            continue;
        };
        let Some(split) = blob.len().checked_sub(32) else {
            continue;
        };
        let value_mac = mac::value_mac(
            keys.value_mac(),
            op,
            &key_id,
            blob.get(..split).unwrap_or_default(),
        );
        blob.truncate(split);
        blob.extend_from_slice(&value_mac);
        value_macs.push(value_mac);
        if let Some(index) = index {
            applied.push((op, index, value_mac));
        }
    }
    let mut next = state.clone();
    apply_all(&mut next, &mut Tracker::default(), applied);
    let snapshot_mac = mac::snapshot_mac(keys.snapshot_mac(), &next.hash, version, name.as_str());
    let patch_mac = mac::patch_mac(
        keys.patch_mac(),
        &snapshot_mac,
        value_macs.iter().map(|v| v.as_slice()),
        version,
        name.as_str(),
    );
    patch.snapshot_mac = Some(snapshot_mac.to_vec());
    patch.patch_mac = Some(patch_mac.to_vec());
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use wa_proto::proto::SyncdVersion;

    use super::*;
    use crate::{AppStateError, AppStateKey, PatchInfo, decode_patch, encode_patch};

    #[test]
    fn remac_makes_a_tampered_patch_verify_up_to_decryption() {
        let key = AppStateKey::new([1; 32]);
        let keys = key.expand();
        let source = |_: &[u8]| Some(key.clone());
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let info = PatchInfo::pin("1@s.whatsapp.net", true);
        let out = encode_patch(&info, &HashState::new(), b"k", &key, 5, &mut rng).unwrap();
        let mut patch = out.patch;
        patch.version = Some(SyncdVersion { version: Some(1) });
        let name = info.collection;
        // Flip a ciphertext bit: the value MAC fails; re-MACed, decryption is reached.
        let blob = blob_mut(patch.mutations[0].record.as_mut().unwrap()).unwrap();
        blob[20] ^= 1;
        assert!(matches!(
            decode_patch(name, &HashState::new(), &patch, &source),
            Err(AppStateError::MismatchingContentMac { .. })
        ));
        remac_patch(name, &HashState::new(), &mut patch, &keys);
        let err = decode_patch(name, &HashState::new(), &patch, &source).unwrap_err();
        assert!(
            matches!(
                err,
                AppStateError::UndecryptableValue { .. }
                    | AppStateError::MismatchingIndexMac { .. }
            ),
            "{err:?}"
        );
        // A sealed plaintext with the right index MAC decodes.
        let data = wa_proto::proto::SyncActionData {
            index: Some(b"[\"x\"]".to_vec()),
            ..Default::default()
        };
        let plaintext = wa_proto::prost::Message::encode_to_vec(&data);
        let record = patch.mutations[0].record.as_mut().unwrap();
        *blob_mut(record).unwrap() = seal_value(&keys, Operation::Set, b"k", &[2; 16], &plaintext);
        record.index.as_mut().unwrap().blob =
            Some(mac::index_mac(keys.index(), b"[\"x\"]").to_vec());
        remac_patch(name, &HashState::new(), &mut patch, &keys);
        let got = decode_patch(name, &HashState::new(), &patch, &source).unwrap();
        assert_eq!(got.mutations[0].index, vec!["x".to_owned()]);
    }
}
