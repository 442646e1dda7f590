//! `generate --format json`, streamed, with the principals rendered in parallel.
//!
//! On a trail with many principals their evidence rows are most of the document (26 MB for
//! the 200,000-record growing benchmark trail), and rendering them on one thread was the
//! longest single-threaded step after the read. The document is byte for byte what
//! `serde_json::to_writer_pretty` writes for the whole [`GenerateOutput`]; a test holds the two
//! together. It is rendered by sonic-rs's serializer, whose output is serde_json's (the same
//! escapes, the same float printer) but which looks for what a string must escape 16 or 32
//! bytes at a time: serde_json's byte-at-a-time escaping of the strings was some 2.4% of
//! `generate`'s instructions on that trail (docs/performance.md, the thirty-third round).

use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;

use super::{GenerateOutput, PrincipalOut};

/// Principals rendered at once: enough to keep every core busy, few enough that the rendered
/// text held in memory stays a small part of the document.
const CHUNK: usize = 64;

/// `value` as pretty JSON standing `depth` levels deep in the document (one for a top-level
/// field, two for a principal): its lines after the first are indented as the document's
/// pretty printer would indent them.
fn nested(value: &impl Serialize, depth: usize) -> io::Result<Vec<u8>> {
    // a principal of the growing benchmark trail is some 40 KB: grown from nothing, its text
    // was copied a dozen times on the way (the document's other fields are small)
    let mut out = Vec::with_capacity(if depth == ELEMENT { PRINCIPAL } else { 0 });
    let mut ser = sonic_rs::Serializer::with_formatter(
        &mut out,
        Nested {
            depth,
            has_value: false,
        },
    );
    value.serialize(&mut ser).map_err(io::Error::from)?;
    Ok(out)
}

/// What a principal's rendering starts with room for.
const PRINCIPAL: usize = 64 * 1024;

const FIELD: usize = 1;
const ELEMENT: usize = 2;

/// serde_json's pretty layout (two spaces a level, `": "` after a key, an empty array or object
/// on one line), starting `depth` levels in. Indenting each rendered newline afterwards, as
/// before, scanned every small write serde_json made: a third of writing the output.
#[derive(Clone)]
struct Nested {
    depth: usize,
    has_value: bool,
}

impl Nested {
    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        if self.has_value {
            self.newline(w, b"\n")?;
        }
        w.write_all(bracket)
    }

    /// `before` (a newline, or a comma and a newline), then the indentation of this depth.
    fn newline<W: ?Sized + Write>(&mut self, w: &mut W, before: &[u8]) -> io::Result<()> {
        const SPACES: &[u8; 64] = &[b' '; 64];
        w.write_all(before)?;
        let mut n = 2 * self.depth;
        while n > 0 {
            let k = n.min(SPACES.len());
            w.write_all(&SPACES[..k])?;
            n -= k;
        }
        Ok(())
    }

    fn item<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline(w, if first { b"\n" } else { b",\n" })
    }
}

impl sonic_rs::format::Formatter for Nested {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.item(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// One field of the document's top-level object, after `before` (`{` for the first, `,`).
/// `name` is one of the output's own field names, which need no escaping.
fn field(w: &mut impl Write, before: &str, name: &str, value: &impl Serialize) -> io::Result<()> {
    write!(w, "{before}\n  \"{name}\": ")?;
    w.write_all(&nested(value, FIELD)?)
}

impl GenerateOutput {
    /// Writes the output as pretty JSON, streamed: one chunk of principals at a time is rendered
    /// (in parallel) and written.
    pub fn write_json(&self, w: &mut impl Write) -> io::Result<()> {
        let mut stream = JsonStream::begin(w, self)?;
        stream.principals(w, &self.principals)?;
        stream.end(w, self)
    }
}

/// `generate --format json` written as it is made: the fields before the principals, then the
/// principals as they come ([`crate::pipeline::generate_each`]), then the fields after them.
pub struct JsonStream {
    /// Principals written so far.
    written: usize,
}

impl JsonStream {
    /// Writes the fields before the principals, from `frame` (whose principals are not
    /// written).
    pub fn begin(w: &mut impl Write, frame: &GenerateOutput) -> io::Result<JsonStream> {
        // Every field, so that a new one cannot be left out of the document.
        let GenerateOutput {
            schema,
            catalog,
            window,
            principals: _,
            unmapped: _,
            diagnostics: _,
            summary: _,
        } = frame;
        field(w, "{", "schema", schema)?;
        field(w, ",", "catalog", catalog)?;
        field(w, ",", "window", window)?;
        w.write_all(b",\n  \"principals\": [")?;
        Ok(JsonStream { written: 0 })
    }

    /// Writes the next principals, rendered in parallel a chunk at a time.
    pub fn principals(
        &mut self,
        w: &mut impl Write,
        principals: &[PrincipalOut],
    ) -> io::Result<()> {
        for chunk in principals.chunks(CHUNK) {
            let rendered = chunk
                .par_iter()
                .map(|p| nested(p, ELEMENT))
                .collect::<io::Result<Vec<_>>>()?;
            for text in rendered {
                w.write_all(if self.written == 0 {
                    b"\n    "
                } else {
                    b",\n    "
                })?;
                w.write_all(&text)?;
                self.written += 1;
            }
        }
        Ok(())
    }

    /// Writes the fields after the principals, from `frame` (whose principals are not
    /// written), and ends the document.
    pub fn end(self, w: &mut impl Write, frame: &GenerateOutput) -> io::Result<()> {
        let GenerateOutput {
            schema: _,
            catalog: _,
            window: _,
            principals: _,
            unmapped,
            diagnostics,
            summary,
        } = frame;
        w.write_all(if self.written == 0 { b"]" } else { b"\n  ]" })?;
        field(w, ",", "unmapped", unmapped)?;
        field(w, ",", "diagnostics", diagnostics)?;
        field(w, ",", "summary", summary)?;
        w.write_all(b"\n}")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "(\\PC|\n|\"|\\\\){0,12}".prop_map(Value::from),
            // long enough for the serializer's 16- and 32-byte steps, with every escape
            // (control characters, quotes, backslashes) anywhere in them
            "[ -~\t\u{0}-\u{1f}\u{7f}\u{2028}é\"\\\\]{0,80}".prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
        ];
        leaf.prop_recursive(40, 200, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("[a-z\n\"]{0,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// At any depth, a value is laid out as serde_json's pretty printer lays it out there:
        /// its own layout, every line after the first indented two spaces a level (strings
        /// hold no raw newline, which serde_json escapes). Deep values take the indentation
        /// past its 64 spaces.
        #[test]
        fn nested_values_are_laid_out_as_serde_json_lays_them_out(
            value in json(),
            depth in prop_oneof![0usize..3, 30usize..34],
        ) {
            let alone = serde_json::to_string_pretty(&value).unwrap_or_default();
            let pad = format!("\n{}", " ".repeat(2 * depth));
            let ours = nested(&value, depth).unwrap_or_default();
            prop_assert_eq!(String::from_utf8_lossy(&ours), alone.replace('\n', &pad));
        }
    }
}
