//! Random (version 4) UUIDs for event ids, made with the standard library only.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A version 4 (random) UUID, as AG2 puts in every event's `uuid` field.
///
/// The bits come from a per-thread SplitMix64 generator seeded from the
/// standard library's randomly keyed hasher (which the OS seeds), the time and
/// the thread: unique and unpredictable enough for event ids, not for secrets.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uuid([u8; 16]);

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    hasher.write_u128(now);
    hasher.write(format!("{:?}", std::thread::current().id()).as_bytes());
    hasher.finish()
}

fn next_u64() -> u64 {
    STATE.with(|state| {
        // SplitMix64: a full-period generator with well-mixed output.
        let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

impl Uuid {
    /// A new random UUID (version 4, RFC 4122 variant).
    pub fn new_v4() -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&next_u64().to_le_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Uuid(bytes)
    }

    /// The 16 bytes of the UUID.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl Default for Uuid {
    /// A fresh random UUID: an event read without a `uuid` gets one of its own.
    fn default() -> Self {
        Uuid::new_v4()
    }
}

impl Uuid {
    /// The hyphenated lowercase form, written into a buffer: every event
    /// carries a uuid, and `{:02x}` per byte was half the cost of an event's JSON.
    fn hyphenated(&self) -> [u8; 36] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'-'; 36];
        let mut at = 0;
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1;
            }
            out[at] = HEX[usize::from(byte >> 4)];
            out[at + 1] = HEX[usize::from(byte & 0xf)];
            at += 2;
        }
        out
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.hyphenated();
        // Only ASCII hex digits and hyphens were written.
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

/// The error for a string that is not a UUID in its hyphenated hex form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseUuidError;

impl fmt::Display for ParseUuidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected a UUID like 5426ce0d-8bef-4ab5-8e35-c5475d33c452")
    }
}

impl std::error::Error for ParseUuidError {}

impl FromStr for Uuid {
    type Err = ParseUuidError;

    /// Parses the hyphenated form (`8-4-4-4-12` hex digits, either case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.as_bytes();
        if bytes.len() != 36 {
            return Err(ParseUuidError);
        }
        let mut out = [0u8; 16];
        let mut digits = Vec::with_capacity(32);
        for (i, &b) in bytes.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if b != b'-' {
                    return Err(ParseUuidError);
                }
                continue;
            }
            let digit = (b as char).to_digit(16).ok_or(ParseUuidError)?;
            digits.push(digit as u8);
        }
        for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = (pair[0] << 4) | pair[1];
        }
        Ok(Uuid(out))
    }
}

impl Serialize for Uuid {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.hyphenated();
        let text = std::str::from_utf8(&text).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(text)
    }
}

impl<'de> Deserialize<'de> for Uuid {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn v4_uuids_have_the_version_and_variant_bits() {
        for _ in 0..1000 {
            let text = Uuid::new_v4().to_string();
            assert_eq!(text.len(), 36);
            assert_eq!(&text[14..15], "4", "{text}");
            assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"), "{text}");
        }
    }

    #[test]
    fn uuids_do_not_repeat_across_threads() {
        let handles: Vec<_> = (0..8)
            .map(|_| std::thread::spawn(|| (0..2000).map(|_| Uuid::new_v4()).collect::<Vec<_>>()))
            .collect();
        let mut seen = HashSet::new();
        for handle in handles {
            for uuid in handle.join().unwrap_or_default() {
                assert!(seen.insert(uuid), "repeated {uuid}");
            }
        }
        assert_eq!(seen.len(), 16_000);
    }

    #[test]
    fn parse_round_trips_and_rejects_malformed_text() {
        let uuid = Uuid::new_v4();
        assert_eq!(uuid.to_string().parse::<Uuid>(), Ok(uuid));
        let upper = "5426CE0D-8BEF-4AB5-8E35-C5475D33C452".parse::<Uuid>();
        assert_eq!(
            upper.map(|u| u.to_string()).as_deref(),
            Ok("5426ce0d-8bef-4ab5-8e35-c5475d33c452")
        );
        for bad in [
            "",
            "5426ce0d8bef4ab58e35c5475d33c452",
            "5426ce0d-8bef-4ab5-8e35-c5475d33c45g",
            "5426ce0d-8bef-4ab5-8e35_c5475d33c452",
            "5426ce0d-8bef-4ab5-8e35-c5475d33c4520",
            "é426ce0d-8bef-4ab5-8e35-c5475d33c45",
        ] {
            assert_eq!(bad.parse::<Uuid>(), Err(ParseUuidError), "{bad:?}");
        }
    }
}
