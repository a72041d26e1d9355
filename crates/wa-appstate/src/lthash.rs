//! The LTHash ("WhatsApp Patch Integrity"): a 128-byte summation hash over a set of value MACs.
//!
//! Each value is expanded with HKDF-SHA256 (zero salt, info `"WhatsApp Patch Integrity"`) to 128
//! bytes, read as 64 little-endian `u16` lanes, and added to (or subtracted from) the state lane
//! by lane with wrapping arithmetic. Addition commutes, so the hash of a set does not depend on
//! the order its members were added in, and subtracting a value undoes adding it.

use std::fmt;

use crate::crypto::hkdf_zero_salt;

/// Size of the LTHash state in bytes.
pub const LT_HASH_LEN: usize = 128;

/// HKDF info string of the app-state LTHash.
const INFO: &[u8] = b"WhatsApp Patch Integrity";

/// A 128-byte LTHash state (the `hash` of an app-state collection).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LtHash([u8; LT_HASH_LEN]);

impl LtHash {
    /// The hash of the empty set: all zeros (a new collection's state).
    pub const ZERO: Self = Self([0u8; LT_HASH_LEN]);

    /// Wraps 128 stored bytes.
    pub const fn from_bytes(bytes: [u8; LT_HASH_LEN]) -> Self {
        Self(bytes)
    }

    /// Reads a stored hash; `None` unless `bytes` is exactly 128 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; LT_HASH_LEN]>::try_from(bytes).ok().map(Self)
    }

    /// The 128 state bytes, as stored and as MACed into the snapshot MAC.
    pub const fn as_bytes(&self) -> &[u8; LT_HASH_LEN] {
        &self.0
    }

    /// Adds `value` (normally a 32-byte value MAC) to the set.
    pub fn add(&mut self, value: &[u8]) {
        let expanded = expand(value);
        self.combine(&expanded, u16::wrapping_add);
    }

    /// Removes `value` from the set (undoes [`add`](Self::add) of the same value).
    pub fn subtract(&mut self, value: &[u8]) {
        let expanded = expand(value);
        self.combine(&expanded, u16::wrapping_sub);
    }

    /// Subtracts every value of `subtract`, then adds every value of `add` (whatsmeow's
    /// `SubtractThenAdd`). The result is the same in any order.
    pub fn subtract_then_add<S, A>(&mut self, subtract: S, add: A)
    where
        S: IntoIterator,
        S::Item: AsRef<[u8]>,
        A: IntoIterator,
        A::Item: AsRef<[u8]>,
    {
        for v in subtract {
            self.subtract(v.as_ref());
        }
        for v in add {
            self.add(v.as_ref());
        }
    }

    fn combine(&mut self, other: &[u8; LT_HASH_LEN], op: fn(u16, u16) -> u16) {
        for (lane, input) in self.0.chunks_exact_mut(2).zip(other.chunks_exact(2)) {
            let (Ok(x), Ok(y)) = (<[u8; 2]>::try_from(&*lane), <[u8; 2]>::try_from(input)) else {
                continue; // chunks_exact(2) always yields two bytes
            };
            let r = op(u16::from_le_bytes(x), u16::from_le_bytes(y));
            lane.copy_from_slice(&r.to_le_bytes());
        }
    }
}

impl Default for LtHash {
    fn default() -> Self {
        Self::ZERO
    }
}

impl fmt::Debug for LtHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LtHash(")?;
        for b in self.0.iter().take(8) {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…)")
    }
}

/// HKDF-SHA256 of `value` with the LTHash info, 128 bytes.
fn expand(value: &[u8]) -> [u8; LT_HASH_LEN] {
    hkdf_zero_salt::<LT_HASH_LEN>(value, INFO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;
    use proptest::prelude::*;

    // Computed with Baileys 7 (`LT_HASH_ANTI_TAMPERING.subtractThenAdd`, from whatsapp-rust-bridge).
    const ADD_ONES: &str = "480731be8120f60bc4ec932b3d4a39963619f5159f1b76eb47c202e2015b5eacfaeb9739457e87ebe9b32113d372c334184c526cb53a7b3a62ec3732838ee43b94d8b11eeb4c6a278ac31f15e3d4b26e23f637f31e278ff399d2141a81dbc5f400aa882afeff5deeedd3ebcdd7e6e0757b7f0fb0595de01935b2819f1ab58173";
    const SUB_ONES: &str = "b8f8cf417fdf0af43c136dd4c3b5c769cae60bea61e48a14b93dfe1dffa4a253061469c6bb817914174cdfec2d8d3dcbe8b3ae934bc585c59e13c9cd7d711cc46c274fe115b396d8763ce1ea1d2b4e91dd09c90ce2d8710c672dece57f243b0b005678d50200a311132c15322919208a8580f14fa7a220e6cb4d7f60e64a7f8c";

    #[test]
    fn baileys_vectors() {
        let ones = [1u8; 32];
        let twos = [2u8; 32];
        let mut h = LtHash::ZERO;
        h.add(&ones);
        assert_eq!(h.as_bytes().to_vec(), hex(ADD_ONES));
        let mut h = LtHash::ZERO;
        h.subtract_then_add([twos], [ones, twos]);
        assert_eq!(h.as_bytes().to_vec(), hex(ADD_ONES));
        let mut h = LtHash::ZERO;
        h.subtract(&ones);
        assert_eq!(h.as_bytes().to_vec(), hex(SUB_ONES));
    }

    #[test]
    fn from_slice_length() {
        assert!(LtHash::from_slice(&[0u8; 127]).is_none());
        assert!(LtHash::from_slice(&[0u8; 129]).is_none());
        assert_eq!(LtHash::from_slice(&[0u8; 128]), Some(LtHash::ZERO));
        assert_eq!(LtHash::default(), LtHash::ZERO);
        assert!(format!("{:?}", LtHash::ZERO).starts_with("LtHash(0000"));
    }

    proptest! {
        #[test]
        fn add_then_subtract_is_identity(
            start in proptest::collection::vec(any::<u8>(), 128),
            values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8),
        ) {
            let base = LtHash::from_slice(&start).unwrap();
            let mut h = base.clone();
            for v in &values { h.add(v); }
            for v in values.iter().rev() { h.subtract(v); }
            prop_assert_eq!(h, base);
        }

        #[test]
        fn order_does_not_matter(
            values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 32), 1..8),
            removed in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 32), 0..4),
        ) {
            let mut forward = LtHash::ZERO;
            forward.subtract_then_add(&removed, &values);
            let mut backward = LtHash::ZERO;
            for v in values.iter().rev() { backward.add(v); }
            for v in removed.iter().rev() { backward.subtract(v); }
            prop_assert_eq!(forward, backward);
        }
    }
}
