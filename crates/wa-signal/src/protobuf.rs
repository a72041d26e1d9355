//! A protobuf field reader for the two messages every received payload goes through
//! (`SignalMessage` and `PreKeySignalMessage`).
//!
//! Fields are borrowed from the input. prost's generic decoder copies each `bytes` field
//! twice (into a `Bytes`, then into the `Vec`), which was ten allocations for every `pkmsg`
//! received. The reading rules are prost's, so both accept and reject the same bodies (a
//! property test and the `signal_*` fuzz targets compare them): unknown fields are skipped,
//! groups included; a varint has at most ten bytes; a key above `u32::MAX`, a wire type
//! above 5, a tag of 0, an unmatched end-group and a length past the end are errors; nesting
//! deeper than 100 groups is an error.

/// prost's recursion limit for skipping nested groups.
const RECURSION_LIMIT: u32 = 100;

/// A body that is not valid protobuf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// The value of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 2.
    Bytes(&'a [u8]),
    /// Any other wire type (fixed 32 or 64 bits, a group): skipped already.
    Other,
}

impl<'a> Value<'a> {
    /// The value of a `uint32` field: a varint, truncated to 32 bits as prost does.
    pub(crate) fn uint32(self) -> Result<u32, Malformed> {
        match self {
            // Truncation is the protobuf rule for uint32.
            #[allow(clippy::cast_possible_truncation)]
            Value::Varint(v) => Ok(v as u32),
            _ => Err(Malformed),
        }
    }

    /// The value of a `bytes` field.
    pub(crate) fn bytes(self) -> Result<&'a [u8], Malformed> {
        match self {
            Value::Bytes(b) => Ok(b),
            _ => Err(Malformed),
        }
    }
}

/// Reads the fields of a message body in order.
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    /// Fields of `body`.
    pub(crate) fn new(body: &'a [u8]) -> Self {
        Self { rest: body }
    }

    /// The next field (tag and value), `None` at the end of the body.
    pub(crate) fn next_field(&mut self) -> Result<Option<(u32, Value<'a>)>, Malformed> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let (tag, wire_type) = self.key()?;
        let value = match wire_type {
            0 => Value::Varint(self.varint()?),
            2 => Value::Bytes(self.length_delimited()?),
            _ => {
                self.skip(wire_type, tag, RECURSION_LIMIT)?;
                Value::Other
            }
        };
        Ok(Some((tag, value)))
    }

    fn key(&mut self) -> Result<(u32, u8), Malformed> {
        let key = self.varint()?;
        let key = u32::try_from(key).map_err(|_| Malformed)?;
        // The low three bits are the wire type.
        let wire_type = (key & 7) as u8;
        let tag = key >> 3;
        if wire_type > 5 || tag == 0 {
            return Err(Malformed);
        }
        Ok((tag, wire_type))
    }

    fn varint(&mut self) -> Result<u64, Malformed> {
        let mut value = 0u64;
        for (i, &byte) in self.rest.iter().take(10).enumerate() {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                // The tenth byte holds the 64th bit only.
                if i == 9 && byte > 1 {
                    return Err(Malformed);
                }
                self.rest = self.rest.get(i + 1..).ok_or(Malformed)?;
                return Ok(value);
            }
        }
        Err(Malformed)
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], Malformed> {
        let len = usize::try_from(len).map_err(|_| Malformed)?;
        if len > self.rest.len() {
            return Err(Malformed);
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    fn length_delimited(&mut self) -> Result<&'a [u8], Malformed> {
        let len = self.varint()?;
        self.take(len)
    }

    /// Skips a field of `wire_type` (not 0 or 2 at the top level), as prost's `skip_field`.
    fn skip(&mut self, wire_type: u8, tag: u32, depth: u32) -> Result<(), Malformed> {
        if depth == 0 {
            return Err(Malformed);
        }
        match wire_type {
            0 => self.varint().map(drop),
            1 => self.take(8).map(drop),
            2 => self.length_delimited().map(drop),
            3 => loop {
                let (inner_tag, inner_type) = self.key()?;
                if inner_type == 4 {
                    if inner_tag != tag {
                        return Err(Malformed);
                    }
                    return Ok(());
                }
                self.skip(inner_type, inner_tag, depth - 1)?;
            },
            5 => self.take(4).map(drop),
            // An end-group with no group open.
            _ => Err(Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(body: &[u8]) -> Result<Vec<(u32, Value<'_>)>, Malformed> {
        let mut fields = Fields::new(body);
        let mut out = Vec::new();
        while let Some(f) = fields.next_field()? {
            out.push(f);
        }
        Ok(out)
    }

    #[test]
    fn fields_of_each_wire_type_are_read_or_skipped() {
        // 1: varint 300; 2: bytes "ab"; 3: fixed32; 4: fixed64; 5: group holding a varint.
        let body = [
            0x08, 0xac, 0x02, 0x12, 2, b'a', b'b', 0x1d, 1, 2, 3, 4, 0x21, 1, 2, 3, 4, 5, 6, 7, 8,
            0x2b, 0x08, 0x01, 0x2c,
        ];
        assert_eq!(
            all(&body).unwrap(),
            [
                (1, Value::Varint(300)),
                (2, Value::Bytes(b"ab")),
                (3, Value::Other),
                (4, Value::Other),
                (5, Value::Other),
            ]
        );
    }

    #[test]
    fn malformed_bodies_are_errors() {
        for body in [
            &[0x08][..],      // a varint cut short
            &[0x12, 3, 1, 2], // a length past the end
            &[0x00, 0x01],    // tag 0
            &[0x0e, 0x01],    // wire type 6
            &[0x0c],          // an end-group with no group open
            &[0x0b, 0x14],    // a group closed by another tag
            &[0x0b],          // a group never closed
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
            ], // 65-bit varint
            &[0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // a key above u32::MAX
        ] {
            assert_eq!(all(body), Err(Malformed), "{body:02x?}");
        }
        let deep: Vec<u8> = [vec![0x0b; 101], vec![0x0c; 101]].concat();
        assert_eq!(all(&deep), Err(Malformed), "nesting past the limit");
        let ok: Vec<u8> = [vec![0x0b; 100], vec![0x0c; 100]].concat();
        assert_eq!(all(&ok), Ok(vec![(1, Value::Other)]));
    }
}
