//! Edwards25519 arithmetic for checking many signatures made by one key.
//!
//! An XEdDSA check computes `s·B + h·(−A)` and compares its encoding with the signature's R.
//! curve25519-dalek does that with a sliding window: about 253 doublings and 70 additions, then
//! an inversion. Every message of a sender-key chain is signed by the same key, so a table of that
//! key's multiples pays for itself after a few messages: with [`CombTable`]s for `−A` and for the
//! base point, the same sum is 128 mixed additions and 12 doublings.
//!
//! A table holds `j·2^(16·i)·P` for `j` in 1..=8 and `i` in 0..16, in affine form (12 KiB). A
//! scalar below 2^253 is written in signed radix 16 (64 digits in −8..8); digit `4i + m` is
//! `j` times row `i` scaled by `16^m`, so the sum is taken in four passes, `m` = 3 down to 0,
//! with four doublings between passes. Building a table costs about two checks: 16·13
//! doublings, 16·7 additions and one batched inversion. Everything here is variable time
//! and meant for public data only (keys, signatures, hashes of public messages).
//!
//! The field is crrl's `GF25519`; the formulas are those of RFC 8032 section 5.1.4 for the
//! twisted Edwards curve with `a = −1`, which are complete: they hold for every pair of curve
//! points, the identity and the small-order points included.

use std::sync::LazyLock;

use crrl::field::GF25519 as Fe;

/// Rows of a table: row `i` holds multiples of `2^(16·i)·P`, so 16 rows cover 256 bits.
const ROWS: usize = 16;
/// Radix-16 digits per row, hence passes over the rows.
const PASSES: usize = 4;
/// Multiples kept per position: 1·P to 8·P, so a signed radix-16 digit needs one lookup.
const MULTIPLES: usize = 8;
/// Signed radix-16 digits of a scalar below 2^253.
const DIGITS: usize = ROWS * PASSES;

/// The curve constant `d = −121665/121666`.
fn curve_d() -> Fe {
    Fe::from_i32(-121_665) / Fe::from_u32(121_666)
}

/// A point in extended coordinates: x = X/Z, y = Y/Z, x·y = T/Z.
#[derive(Clone, Copy)]
struct Extended {
    x: Fe,
    y: Fe,
    z: Fe,
    t: Fe,
}

/// An affine point in the form mixed additions use: (y + x, y − x, 2d·x·y).
#[derive(Clone, Copy)]
struct Cached {
    y_plus_x: Fe,
    y_minus_x: Fe,
    t2d: Fe,
}

impl Extended {
    const IDENTITY: Self = Self {
        x: Fe::ZERO,
        y: Fe::ONE,
        z: Fe::ONE,
        t: Fe::ZERO,
    };

    fn from_affine(x: Fe, y: Fe) -> Self {
        Self {
            x,
            y,
            z: Fe::ONE,
            t: x * y,
        }
    }

    fn double(&self) -> Self {
        let a = self.x.square();
        let b = self.y.square();
        let c = self.z.square().mul2();
        let h = a + b;
        let e = h - (self.x + self.y).square();
        let g = a - b;
        let f = c + g;
        Self {
            x: e * f,
            y: g * h,
            z: f * g,
            t: e * h,
        }
    }

    /// `self + other`, both in extended coordinates; `d2` is 2d.
    fn add(&self, other: &Self, d2: &Fe) -> Self {
        let a = (self.y - self.x) * (other.y - other.x);
        let b = (self.y + self.x) * (other.y + other.x);
        let c = self.t * d2 * other.t;
        let d = (self.z * other.z).mul2();
        Self::finish(a, b, c, d, false)
    }

    /// `self + p` for an affine `p`.
    fn add_cached(&self, p: &Cached) -> Self {
        let a = (self.y - self.x) * p.y_minus_x;
        let b = (self.y + self.x) * p.y_plus_x;
        let c = self.t * p.t2d;
        Self::finish(a, b, c, self.z.mul2(), false)
    }

    /// `self − p` for an affine `p`: −p is (y − x, y + x, −2d·x·y).
    fn sub_cached(&self, p: &Cached) -> Self {
        let a = (self.y - self.x) * p.y_plus_x;
        let b = (self.y + self.x) * p.y_minus_x;
        let c = self.t * p.t2d;
        Self::finish(a, b, c, self.z.mul2(), true)
    }

    /// The common tail of the addition formulas; `negated_c` when C belongs to −p.
    fn finish(a: Fe, b: Fe, c: Fe, d: Fe, negated_c: bool) -> Self {
        let e = b - a;
        let h = b + a;
        let (f, g) = if negated_c {
            (d + c, d - c)
        } else {
            (d - c, d + c)
        };
        Self {
            x: e * f,
            y: g * h,
            z: f * g,
            t: e * h,
        }
    }

    /// Adds `digit · row[0]`, where `row[j]` is `(j + 1)·P`.
    fn add_digit(&mut self, row: &[Cached; MULTIPLES], digit: i8) {
        let Some(index) = usize::from(digit.unsigned_abs()).checked_sub(1) else {
            return;
        };
        if let Some(p) = row.get(index) {
            *self = if digit > 0 {
                self.add_cached(p)
            } else {
                self.sub_cached(p)
            };
        }
    }

    /// The 32-byte encoding: y, with the parity of x in the top bit.
    fn compress(&self) -> [u8; 32] {
        let z_inv = Fe::ONE / self.z;
        let x = self.x * z_inv;
        let y = self.y * z_inv;
        let mut out = y.encode();
        out[31] |= (x.encode()[0] & 1) << 7;
        out
    }
}

/// Decodes a point encoding as RFC 8032 does: `None` when y is not canonical, when no x exists
/// for it, or when x = 0 comes with the sign bit set.
fn decompress(encoded: &[u8; 32]) -> Option<(Fe, Fe)> {
    let mut y_bytes = *encoded;
    let sign = y_bytes[31] >> 7;
    y_bytes[31] &= 0x7F;
    let y = Fe::decode(&y_bytes)?;
    let yy = y.square();
    let (mut x, is_square) = ((yy - Fe::ONE) / (curve_d() * yy + Fe::ONE)).sqrt();
    if is_square == 0 {
        return None;
    }
    if x.iszero() != 0 && sign == 1 {
        return None;
    }
    if x.encode()[0] & 1 != sign {
        x = -x;
    }
    Some((x, y))
}

/// The multiples of one point that [`double_scalar_mul`] adds: `j·2^(16·i)·P`, affine.
pub(crate) struct CombTable {
    rows: Box<[[Cached; MULTIPLES]; ROWS]>,
}

impl CombTable {
    /// Builds the table of the point with this encoding; `None` if it is not a curve point.
    pub(crate) fn from_encoding(encoded: &[u8; 32]) -> Option<Self> {
        let (x, y) = decompress(encoded)?;
        Some(Self::build(Extended::from_affine(x, y)))
    }

    fn build(point: Extended) -> Self {
        let d2 = curve_d().mul2();
        let mut multiples = Vec::with_capacity(ROWS * MULTIPLES);
        let mut base = point;
        for _ in 0..ROWS {
            let mut multiple = base;
            multiples.push(multiple);
            for _ in 1..MULTIPLES {
                multiple = multiple.add(&base, &d2);
                multiples.push(multiple);
            }
            // 8·base doubled 13 times is 2^16·base.
            base = (0..13).fold(multiple, |p, _| p.double());
        }
        // One inversion for all 128 points (Montgomery's trick inside batch_invert).
        let mut z_inv: Vec<Fe> = multiples.iter().map(|p| p.z).collect();
        Fe::batch_invert(&mut z_inv);
        let mut rows = Box::new(
            [[Cached {
                y_plus_x: Fe::ONE,
                y_minus_x: Fe::ONE,
                t2d: Fe::ZERO,
            }; MULTIPLES]; ROWS],
        );
        let cached = multiples.iter().zip(&z_inv).map(|(p, z_inv)| {
            let x = p.x * z_inv;
            let y = p.y * z_inv;
            Cached {
                y_plus_x: y + x,
                y_minus_x: y - x,
                t2d: x * y * d2,
            }
        });
        for (slot, entry) in rows.iter_mut().flatten().zip(cached) {
            *slot = entry;
        }
        Self { rows }
    }
}

/// The base point's table, built on first use.
static BASE_TABLE: LazyLock<Option<CombTable>> = LazyLock::new(|| {
    // The canonical encoding of the Ed25519 base point (y = 4/5, x even).
    let mut encoded = [0x66; 32];
    encoded[0] = 0x58;
    CombTable::from_encoding(&encoded)
});

/// Writes a scalar below 2^253 (little-endian) as 64 signed radix-16 digits in −8..8.
fn radix16(scalar: &[u8; 32]) -> [i8; DIGITS] {
    let mut digits = [0i8; DIGITS];
    let nibbles = scalar.iter().flat_map(|b| [b & 0x0F, b >> 4]);
    let mut carry = 0i8;
    for (digit, nibble) in digits.iter_mut().zip(nibbles) {
        // nibble + carry is in 0..=16, so the digit is in −8..8 and the carry 0 or 1; the top
        // nibble of a scalar below 2^253 is at most 1, so no carry leaves the last digit.
        let value = i8::try_from(nibble).unwrap_or(0) + carry;
        carry = (value + 8) >> 4;
        *digit = value - (carry << 4);
    }
    digits
}

/// `a·P + b·B` encoded, for the point P of `table`, the base point B and scalars `a`, `b` below
/// 2^253 (canonical scalars are). `None` only if the base table could not be built, which does
/// not happen for the constant base point.
pub(crate) fn double_scalar_mul(table: &CombTable, a: &[u8; 32], b: &[u8; 32]) -> Option<[u8; 32]> {
    let base = BASE_TABLE.as_ref()?;
    let a_digits = radix16(a);
    let b_digits = radix16(b);
    let mut acc = Extended::IDENTITY;
    // Horner over the passes: the digits 4i + 3 first, times 16, plus the digits 4i + 2, ...
    for pass in (0..PASSES).rev() {
        if pass + 1 < PASSES {
            acc = acc.double().double().double().double();
        }
        let a_chunks = a_digits.chunks_exact(PASSES);
        let b_chunks = b_digits.chunks_exact(PASSES);
        for ((p_row, b_row), (a_chunk, b_chunk)) in table
            .rows
            .iter()
            .zip(base.rows.iter())
            .zip(a_chunks.zip(b_chunks))
        {
            acc.add_digit(p_row, a_chunk.get(pass).copied().unwrap_or(0));
            acc.add_digit(b_row, b_chunk.get(pass).copied().unwrap_or(0));
        }
    }
    Some(acc.compress())
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
    use curve25519_dalek::scalar::Scalar;
    use proptest::prelude::*;

    /// dalek's answer for the same sum.
    fn dalek(point: &EdwardsPoint, a: &Scalar, b: &Scalar) -> [u8; 32] {
        EdwardsPoint::vartime_double_scalar_mul_basepoint(a, point, b)
            .compress()
            .to_bytes()
    }

    fn ours(point: &EdwardsPoint, a: &Scalar, b: &Scalar) -> [u8; 32] {
        let table = CombTable::from_encoding(point.compress().as_bytes()).unwrap();
        double_scalar_mul(&table, a.as_bytes(), b.as_bytes()).unwrap()
    }

    /// Encodings of points of order 1, 2, 4 and 8 (the torsion subgroup's members).
    fn small_order_points() -> Vec<EdwardsPoint> {
        let hex = [
            "0100000000000000000000000000000000000000000000000000000000000000",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000080",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        ];
        hex.iter()
            .map(|h| {
                let bytes: Vec<u8> = (0..32)
                    .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                    .collect();
                let compressed = CompressedEdwardsY::from_slice(&bytes).unwrap();
                compressed.decompress().unwrap()
            })
            .collect()
    }

    #[test]
    fn the_base_table_starts_with_the_base_point() {
        let base = BASE_TABLE.as_ref().unwrap();
        let one = Scalar::ONE;
        let table = CombTable::from_encoding(ED25519_BASEPOINT_POINT.compress().as_bytes());
        assert!(table.is_some());
        // 0·B + 1·B through the base table alone.
        let sum = double_scalar_mul(base, Scalar::ZERO.as_bytes(), one.as_bytes()).unwrap();
        assert_eq!(sum, ED25519_BASEPOINT_POINT.compress().to_bytes());
    }

    #[test]
    fn edge_scalars_match_dalek() {
        let point = ED25519_BASEPOINT_POINT * Scalar::from(7u64);
        let minus_one = -Scalar::ONE;
        let scalars = [
            Scalar::ZERO,
            Scalar::ONE,
            minus_one,
            Scalar::from(16u64),
            Scalar::from(8u64),
        ];
        for a in &scalars {
            for b in &scalars {
                assert_eq!(ours(&point, a, b), dalek(&point, a, b));
            }
        }
    }

    #[test]
    fn small_order_points_and_their_sums_match_dalek() {
        let a = Scalar::from_bytes_mod_order([0xA7; 32]);
        let b = Scalar::from_bytes_mod_order([0x3C; 32]);
        let prime_order = ED25519_BASEPOINT_POINT * Scalar::from(12345u64);
        for torsion in small_order_points() {
            assert_eq!(ours(&torsion, &a, &b), dalek(&torsion, &a, &b));
            let mixed = prime_order + torsion;
            assert_eq!(ours(&mixed, &a, &b), dalek(&mixed, &a, &b));
            assert_eq!(
                ours(&mixed, &Scalar::ONE, &Scalar::ZERO),
                mixed.compress().to_bytes()
            );
        }
    }

    #[test]
    fn decompress_agrees_with_dalek_on_what_it_accepts() {
        // Non-canonical y (p itself), a y with no x, and x = 0 with the sign bit set.
        let mut p = [0xFF; 32];
        p[0] = 0xED;
        p[31] = 0x7F;
        let mut no_x = [0u8; 32];
        no_x[0] = 2;
        let mut negative_zero = [0u8; 32];
        negative_zero[0] = 1;
        negative_zero[31] = 0x80;
        for bytes in [p, no_x, negative_zero] {
            let dalek_accepts = CompressedEdwardsY(bytes).decompress().is_some();
            assert!(decompress(&bytes).is_none(), "{bytes:02x?}");
            // dalek is laxer on non-canonical y and on −0; it never accepts what we reject for
            // lack of a square root.
            if bytes == no_x {
                assert!(!dalek_accepts);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn random_sums_match_dalek(k in any::<[u8; 32]>(), a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
            let point = ED25519_BASEPOINT_POINT * Scalar::from_bytes_mod_order(k);
            let a = Scalar::from_bytes_mod_order(a);
            let b = Scalar::from_bytes_mod_order(b);
            prop_assert_eq!(ours(&point, &a, &b), dalek(&point, &a, &b));
            prop_assert_eq!(ours(&-point, &a, &b), dalek(&-point, &a, &b));
        }

        #[test]
        fn decompressing_a_compressed_point_gives_it_back(k in any::<[u8; 32]>()) {
            let point = ED25519_BASEPOINT_POINT * Scalar::from_bytes_mod_order(k);
            let encoded = point.compress().to_bytes();
            let (x, y) = decompress(&encoded).unwrap();
            prop_assert_eq!(Extended::from_affine(x, y).compress(), encoded);
        }
    }
}
