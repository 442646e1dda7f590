//! `generate --format json`, streamed, with the principals rendered in parallel.
//!
//! On a trail with many principals their evidence rows are most of the document (26 MB for
//! the 200,000-record growing benchmark trail), and rendering them on one thread was the
//! longest single-threaded step after the read. The document is byte for byte what
//! `serde_json::to_writer_pretty` writes for the whole [`GenerateOutput`]; a test holds the two
//! together.

use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;

use super::GenerateOutput;

/// Principals rendered at once: enough to keep every core busy, few enough that the rendered
/// text held in memory stays a small part of the document.
const CHUNK: usize = 64;

/// `value` as pretty JSON standing one or two levels deep in the document (`pad` is two or four
/// spaces): its lines after the first are indented by `pad`, as the document's pretty printer
/// would indent them. serde_json escapes
/// every control character in a string, so each newline it writes lies between tokens.
fn nested(value: &impl Serialize, pad: &'static [u8]) -> io::Result<Vec<u8>> {
    let mut w = Indented {
        out: Vec::new(),
        pad,
    };
    serde_json::to_writer_pretty(&mut w, value).map_err(io::Error::from)?;
    Ok(w.out)
}

const FIELD: &[u8] = b"  ";
const ELEMENT: &[u8] = b"    ";

/// A writer that follows each newline with `pad`.
struct Indented {
    out: Vec<u8>,
    pad: &'static [u8],
}

impl Write for Indented {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            self.out.extend_from_slice(&rest[..=i]);
            self.out.extend_from_slice(self.pad);
            rest = &rest[i + 1..];
        }
        self.out.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
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
        // Every field, so that a new one cannot be left out of the document.
        let GenerateOutput {
            schema,
            catalog,
            window,
            principals,
            unmapped,
            diagnostics,
            summary,
        } = self;
        field(w, "{", "schema", schema)?;
        field(w, ",", "catalog", catalog)?;
        field(w, ",", "window", window)?;
        w.write_all(b",\n  \"principals\": [")?;
        for (i, chunk) in principals.chunks(CHUNK).enumerate() {
            let rendered = chunk
                .par_iter()
                .map(|p| nested(p, ELEMENT))
                .collect::<io::Result<Vec<_>>>()?;
            for (j, text) in rendered.iter().enumerate() {
                w.write_all(if i == 0 && j == 0 {
                    b"\n    "
                } else {
                    b",\n    "
                })?;
                w.write_all(text)?;
            }
        }
        w.write_all(if principals.is_empty() {
            b"]"
        } else {
            b"\n  ]"
        })?;
        field(w, ",", "unmapped", unmapped)?;
        field(w, ",", "diagnostics", diagnostics)?;
        field(w, ",", "summary", summary)?;
        w.write_all(b"\n}")
    }
}
