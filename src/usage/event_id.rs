//! [`EventId`]: the id of the event a grant's evidence points to, in 24 bytes and no
//! allocation when it is a CloudTrail `eventID`.
//!
//! Every grant keeps one. As text (36 characters) it cost a 48-byte allocation and a 16-byte
//! pointer per grant, in every grant table the read phase holds (about 8 MB on the growing
//! 1 M-record benchmark trail). CloudTrail writes `eventID` as a lowercase UUID; such an id is
//! kept as its 16 bytes. Any other text (an id from another tool, a hostile record) is kept
//! as it is. Either way it reads back, compares and serializes as the same text: two UUIDs
//! compare as their bytes, which is the order of their lowercase text.

use std::cmp::Ordering;
use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub enum EventId {
    /// No id (`""`).
    #[default]
    None,
    /// A lowercase UUID (`8-4-4-4-12` hex digits), as its bytes.
    Uuid([u8; 16]),
    /// Any other text.
    Text(Box<str>),
}

/// Where the hyphens of a UUID's text are.
const HYPHENS: [usize; 4] = [8, 13, 18, 23];
const UUID_LEN: usize = 36;

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != UUID_LEN || HYPHENS.iter().any(|&i| b[i] != b'-') {
        return None;
    }
    // the hex digits, in pairs: 8-4-4-4-12, each group starting after a hyphen
    let mut out = [0u8; 16];
    let mut o = 0;
    for (start, end) in [(0, 8), (9, 13), (14, 18), (19, 23), (24, 36)] {
        for pair in b[start..end].chunks_exact(2) {
            out[o] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
            o += 1;
        }
    }
    Some(out)
}

fn uuid_text(u: &[u8; 16]) -> [u8; UUID_LEN] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; UUID_LEN];
    let mut at = 0;
    for byte in u {
        if HYPHENS.contains(&at) {
            at += 1;
        }
        out[at] = HEX[usize::from(byte >> 4)];
        out[at + 1] = HEX[usize::from(byte & 0xf)];
        at += 2;
    }
    out
}

impl EventId {
    pub fn new(s: &str) -> EventId {
        if s.is_empty() {
            EventId::None
        } else if let Some(u) = parse_uuid(s) {
            EventId::Uuid(u)
        } else {
            EventId::Text(s.into())
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, EventId::None)
    }

    /// Calls `f` with the id as text (built on the stack for a UUID).
    pub fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self {
            EventId::None => f(""),
            EventId::Text(t) => f(t),
            EventId::Uuid(u) => {
                let text = uuid_text(u);
                // hex digits and hyphens are ASCII
                f(std::str::from_utf8(&text).unwrap_or_default())
            }
        }
    }

    /// The order of the texts of `self` and `s`.
    pub fn cmp_str(&self, s: &str) -> Ordering {
        self.with_str(|t| t.cmp(s))
    }
}

impl Ord for EventId {
    fn cmp(&self, o: &Self) -> Ordering {
        match (self, o) {
            (EventId::Uuid(a), EventId::Uuid(b)) => a.cmp(b),
            _ => self.with_str(|a| o.cmp_str(a).reverse()),
        }
    }
}

impl PartialOrd for EventId {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_str(|s| f.write_str(s))
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_str(|s| fmt::Debug::fmt(s, f))
    }
}

impl serde::Serialize for EventId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.with_str(|t| s.serialize_str(t))
    }
}

impl schemars::JsonSchema for EventId {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        String::schema_name()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_cloudtrail_id_is_kept_as_bytes_and_reads_back_the_same() {
        let s = "0f9a3c1e-7b2d-4e5f-8a6b-1c2d3e4f5a6b";
        let id = EventId::new(s);
        assert!(matches!(id, EventId::Uuid(_)));
        assert_eq!(id.to_string(), s);
        assert_eq!(
            serde_json::to_string(&id).ok().as_deref(),
            Some(format!("\"{s}\"").as_str())
        );
        assert_eq!(std::mem::size_of::<EventId>(), 24);
    }

    #[test]
    fn anything_else_is_kept_as_text() {
        for s in [
            "0F9A3C1E-7B2D-4E5F-8A6B-1C2D3E4F5A6B", // upper case would not read back the same
            "0f9a3c1e-7b2d-4e5f-8a6b-1c2d3e4f5a6",
            "0f9a3c1e07b2d-4e5f-8a6b-1c2d3e4f5a6b",
            "0f9a3c1e-7b2d-4e5f-8a6b-1c2d3e4f5a6g",
            "e-1",
            "ü-\u{202e}<script>",
        ] {
            let id = EventId::new(s);
            assert!(matches!(id, EventId::Text(_)), "{s}");
            assert_eq!(id.to_string(), s);
        }
        assert!(EventId::new("").is_empty());
        assert_eq!(EventId::new("").to_string(), "");
    }

    /// Every ASCII byte, in every digit's place of a UUID's text, is read as that digit when it
    /// is a lowercase hex digit, and makes the id text otherwise.
    #[test]
    fn every_byte_in_every_digits_place_is_read_or_refused() {
        let base = "0f9a3c1e-7b2d-4e5f-8a6b-1c2d3e4f5a6b";
        for at in (0..UUID_LEN).filter(|i| !HYPHENS.contains(i)) {
            for c in 0u8..=127 {
                let mut b = base.as_bytes().to_vec();
                b[at] = c;
                let Ok(s) = String::from_utf8(b) else {
                    continue;
                };
                let id = EventId::new(&s);
                let digit = c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
                assert_eq!(matches!(id, EventId::Uuid(_)), digit, "{s:?}");
                assert_eq!(id.to_string(), s);
            }
        }
    }

    fn id_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[0-9a-fA-F-]{0,40}",
            ".{0,12}",
        ]
    }

    proptest! {
        /// Ids compare as their texts do, whatever form each is kept in.
        #[test]
        fn order_is_the_order_of_the_texts(a in id_text(), b in id_text()) {
            let (x, y) = (EventId::new(&a), EventId::new(&b));
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            prop_assert_eq!(x.cmp_str(&b), a.cmp(&b));
            prop_assert_eq!(x == y, a == b);
            prop_assert_eq!(x.to_string(), a);
        }
    }
}
