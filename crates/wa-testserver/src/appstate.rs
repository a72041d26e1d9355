//! The app-state collections the server keeps for each account: encrypted patches, opaque to
//! the server, numbered by version as devices upload them.
//!
//! A device uploads a patch on top of the version it holds; the server refuses it when the
//! collection has moved on (the device must fetch first, since the patch's MACs bind the
//! version it leads to), otherwise it stores it as the next version. Fetches return the patches
//! after a version, a page at a time. The server never builds snapshots: a fetch from 0 returns
//! every patch. Persisted with `--state` (see [`AppStateCollections::stored`]).

use std::collections::BTreeMap;

use prost::Message as _;
use wa_proto::proto::{SyncdPatch, SyncdVersion};

/// The five app-state collections.
pub const COLLECTIONS: [&str; 5] = [
    "critical_block",
    "critical_unblock_low",
    "regular_high",
    "regular_low",
    "regular",
];

/// Most patches one fetch reply carries; the reply says `has_more_patches` beyond that.
pub const FETCH_PAGE: usize = 64;

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadError {
    /// Not one of [`COLLECTIONS`].
    UnknownCollection,
    /// The device is behind (or ahead of) the server's version: fetch first.
    Conflict {
        /// The server's version.
        current: u64,
    },
    /// The bytes are not a `SyncdPatch` with mutations.
    BadPatch,
}

/// One fetch's answer: the patches (encoded `SyncdPatch`es, each with its version) after the
/// asked version, and whether more follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched<'a> {
    /// Patch bytes, oldest first.
    pub patches: &'a [Vec<u8>],
    /// The version of the last patch returned (or the asked version when none).
    pub version: u64,
    /// Whether patches after these exist.
    pub has_more: bool,
}

/// The app-state collections of one account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppStateCollections {
    /// Encoded patches by collection; patch `i` has version `i + 1`.
    patches: BTreeMap<String, Vec<Vec<u8>>>,
}

fn known(name: &str) -> bool {
    COLLECTIONS.contains(&name)
}

impl AppStateCollections {
    /// The current version of `name` (0 when empty or unknown).
    #[must_use]
    pub fn version(&self, name: &str) -> u64 {
        self.patches
            .get(name)
            .map_or(0, |p| u64::try_from(p.len()).unwrap_or(u64::MAX))
    }

    /// Stores `patch` (an encoded `SyncdPatch`) as the next version of `name`, if the uploading
    /// device holds version `base`, the current one. Returns the new version.
    pub fn upload(&mut self, name: &str, base: u64, patch: &[u8]) -> Result<u64, UploadError> {
        if !known(name) {
            return Err(UploadError::UnknownCollection);
        }
        let current = self.version(name);
        if base != current {
            return Err(UploadError::Conflict { current });
        }
        let mut decoded = SyncdPatch::decode(patch).map_err(|_| UploadError::BadPatch)?;
        if decoded.mutations.is_empty() && decoded.external_mutations.is_none() {
            return Err(UploadError::BadPatch);
        }
        let version = current.saturating_add(1);
        decoded.version = Some(SyncdVersion {
            version: Some(version),
        });
        self.patches
            .entry(name.to_owned())
            .or_default()
            .push(decoded.encode_to_vec());
        Ok(version)
    }

    /// The patches of `name` after version `after`, at most [`FETCH_PAGE`]. `None` for an
    /// unknown collection.
    #[must_use]
    pub fn fetch(&self, name: &str, after: u64) -> Option<Fetched<'_>> {
        if !known(name) {
            return None;
        }
        let all = self.patches.get(name).map_or(&[][..], Vec::as_slice);
        let start = usize::try_from(after).unwrap_or(usize::MAX).min(all.len());
        let rest = all.get(start..).unwrap_or_default();
        let page = rest.get(..FETCH_PAGE.min(rest.len())).unwrap_or_default();
        let version = after.saturating_add(u64::try_from(page.len()).unwrap_or(u64::MAX));
        Some(Fetched {
            patches: page,
            version,
            has_more: rest.len() > page.len(),
        })
    }

    /// Every stored patch by collection, oldest first (what `--state` saves).
    #[must_use]
    pub fn stored(&self) -> &BTreeMap<String, Vec<Vec<u8>>> {
        &self.patches
    }

    /// Collections restored from [`Self::stored`]: each name must be a collection and each
    /// patch a `SyncdPatch` numbered by its position. `None` otherwise.
    #[must_use]
    pub fn restore(patches: BTreeMap<String, Vec<Vec<u8>>>) -> Option<Self> {
        for (name, list) in &patches {
            if !known(name) {
                return None;
            }
            for (i, bytes) in list.iter().enumerate() {
                let version = SyncdPatch::decode(bytes.as_slice())
                    .ok()?
                    .version?
                    .version?;
                if usize::try_from(version).ok()? != i.checked_add(1)? {
                    return None;
                }
            }
        }
        Some(Self { patches })
    }

    /// Test fault: flips a bit of the patch MAC of version `version` of `name` (as a corrupting
    /// server would). False if there is no such patch.
    pub fn tamper(&mut self, name: &str, version: u64) -> bool {
        let Some(index) = version.checked_sub(1).and_then(|i| usize::try_from(i).ok()) else {
            return false;
        };
        let Some(stored) = self.patches.get_mut(name).and_then(|p| p.get_mut(index)) else {
            return false;
        };
        let Ok(mut patch) = SyncdPatch::decode(stored.as_slice()) else {
            return false;
        };
        let Some(first) = patch.patch_mac.as_mut().and_then(|m| m.first_mut()) else {
            return false;
        };
        *first ^= 0x01;
        *stored = patch.encode_to_vec();
        true
    }
}

impl crate::server::Admin {
    /// The current version of app-state collection `name` of account `phone`.
    pub fn app_state_version_of(&self, phone: &str, name: &str) -> crate::Result<u64> {
        let state = crate::listener::lock(&self.shared.state);
        let id = state
            .account_by_phone(phone.trim())
            .ok_or_else(|| crate::Error::UnknownAccount(phone.to_owned()))?;
        Ok(state.acct(id).map_or(0, |a| a.app_state.version(name)))
    }

    /// The phone of account `phone` makes a new app-state sync key (newer than every other)
    /// without sharing it: companions paired later get it in their first key share, the others
    /// must ask for it (an app-state key request). Returns the new key's id.
    pub fn rotate_app_state_key(&self, phone: &str) -> crate::Result<Vec<u8>> {
        let mut rng = self.shared.conn_rng();
        let mut state = crate::listener::lock(&self.shared.state);
        let id = state
            .account_by_phone(phone.trim())
            .ok_or_else(|| crate::Error::UnknownAccount(phone.to_owned()))?;
        let a = state
            .acct_mut(id)
            .ok_or_else(|| crate::Error::UnknownAccount(phone.to_owned()))?;
        let newest = a.app_state_keys.iter().map(|k| k.timestamp).max();
        let now = crate::listener::now_ms();
        let at = newest.map_or(now, |t| {
            u64::try_from(t.saturating_add(1)).unwrap_or(0).max(now)
        });
        let key = crate::phone_sync::AppStateKey::generate(at, &mut rng);
        let key_id = key.id.clone();
        a.app_state_keys.push(key);
        state.touch();
        drop(state);
        self.shared.persist();
        Ok(key_id)
    }

    /// Test fault: corrupts the patch MAC of version `version` of collection `name` of account
    /// `phone`, so clients fetching it must refuse it. False if there is no such patch.
    pub fn tamper_app_state_patch(
        &self,
        phone: &str,
        name: &str,
        version: u64,
    ) -> crate::Result<bool> {
        let mut state = crate::listener::lock(&self.shared.state);
        let id = state
            .account_by_phone(phone.trim())
            .ok_or_else(|| crate::Error::UnknownAccount(phone.to_owned()))?;
        Ok(state
            .acct_mut(id)
            .is_some_and(|a| a.app_state.tamper(name, version)))
    }
}

#[cfg(test)]
mod tests {
    use wa_proto::proto::{SyncdMutation, SyncdRecord};

    use super::*;

    fn patch(mac: u8) -> Vec<u8> {
        SyncdPatch {
            mutations: vec![SyncdMutation {
                operation: Some(0),
                record: Some(SyncdRecord::default()),
            }],
            patch_mac: Some(vec![mac; 32]),
            ..SyncdPatch::default()
        }
        .encode_to_vec()
    }

    fn version_of(bytes: &[u8]) -> Option<u64> {
        SyncdPatch::decode(bytes).ok()?.version?.version
    }

    #[test]
    fn uploads_are_numbered_and_conflicts_refused() {
        let mut c = AppStateCollections::default();
        assert_eq!(c.upload("regular_high", 0, &patch(1)), Ok(1));
        assert_eq!(c.upload("regular_high", 1, &patch(2)), Ok(2));
        assert_eq!(
            c.upload("regular_high", 1, &patch(3)),
            Err(UploadError::Conflict { current: 2 })
        );
        assert_eq!(
            c.upload("nope", 0, &patch(1)),
            Err(UploadError::UnknownCollection)
        );
        assert_eq!(
            c.upload("regular", 0, &[0xff, 0xff]),
            Err(UploadError::BadPatch)
        );
        assert_eq!(
            c.upload("regular", 0, &SyncdPatch::default().encode_to_vec()),
            Err(UploadError::BadPatch)
        );
        assert_eq!(c.version("regular_high"), 2);
        assert_eq!(c.version("regular"), 0);
        let f = c.fetch("regular_high", 0).unwrap();
        assert_eq!(f.patches.len(), 2);
        assert_eq!(version_of(&f.patches[0]), Some(1));
        assert_eq!(version_of(&f.patches[1]), Some(2));
        assert_eq!((f.version, f.has_more), (2, false));
        let f = c.fetch("regular_high", 1).unwrap();
        assert_eq!((f.patches.len(), f.version), (1, 2));
        let f = c.fetch("regular_high", 7).unwrap();
        assert_eq!((f.patches.len(), f.version), (0, 7));
        assert!(c.fetch("nope", 0).is_none());
    }

    #[test]
    fn stored_patches_restore_only_when_consistent() {
        let mut c = AppStateCollections::default();
        c.upload("regular", 0, &patch(1)).unwrap();
        c.upload("regular", 1, &patch(2)).unwrap();
        let back = AppStateCollections::restore(c.stored().clone()).unwrap();
        assert_eq!(back, c);
        let mut bad = c.stored().clone();
        bad.insert("nope".into(), Vec::new());
        assert!(AppStateCollections::restore(bad).is_none());
        let mut bad = c.stored().clone();
        bad.get_mut("regular").unwrap().swap(0, 1);
        assert!(AppStateCollections::restore(bad).is_none());
        let mut bad = c.stored().clone();
        bad.get_mut("regular").unwrap()[0] = vec![0xff];
        assert!(AppStateCollections::restore(bad).is_none());
    }

    #[test]
    fn fetch_pages_and_tamper_flips_the_patch_mac() {
        let mut c = AppStateCollections::default();
        for v in 0..(FETCH_PAGE as u64 + 3) {
            c.upload("regular", v, &patch(9)).unwrap();
        }
        let f = c.fetch("regular", 0).unwrap();
        assert_eq!(
            (f.patches.len(), f.version, f.has_more),
            (FETCH_PAGE, 64, true)
        );
        let f = c.fetch("regular", f.version).unwrap();
        assert_eq!((f.patches.len(), f.version, f.has_more), (3, 67, false));

        assert!(c.tamper("regular", 2));
        let f = c.fetch("regular", 1).unwrap();
        let p = SyncdPatch::decode(f.patches[0].as_slice()).unwrap();
        assert_eq!(p.patch_mac.unwrap()[0], 9 ^ 1);
        assert!(!c.tamper("regular", 0));
        assert!(!c.tamper("regular", 99));
        assert!(!c.tamper("regular_low", 1));
    }
}
