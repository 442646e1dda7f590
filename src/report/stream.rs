//! `generate`'s output written as it is made ([`crate::pipeline::generate_each`]): the JSON
//! document and the text form principal by principal, the rest kept for the formats that
//! need every principal at once.

use std::io::{self, Write};

use rayon::prelude::*;

use super::{GenerateOutput, JsonStream, PrincipalOut};

/// Where `generate` hands its output as it is made: the frame around the principals first, then
/// the principals a chunk at a time, in order.
pub trait GenerateSink {
    /// Before any principal: the output without its principals (its `principals` is empty;
    /// everything else is final).
    fn begin(&mut self, frame: &GenerateOutput) -> io::Result<()>;
    /// The next principals, each with its proposal and its evidence rows.
    fn principals(&mut self, chunk: Vec<PrincipalOut>) -> io::Result<()>;
}

/// What [`GenerateWriter`] writes as the principals come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streamed {
    /// The JSON document ([`JsonStream`]).
    Json,
    /// The text form ([`super::generate_text`]).
    Text,
    /// Nothing: the principals are only kept.
    Nothing,
}

/// Writes `generate`'s output to `out` as it comes, and the diagnostics that synthesis added to
/// the read's to `err`; keeps the principals without their evidence rows when asked to (for
/// policy files and the infrastructure formats, which need them all).
pub struct GenerateWriter<'w, W: Write, E: Write> {
    out: &'w mut W,
    err: &'w mut E,
    streamed: Streamed,
    keep: bool,
    /// How many of the frame's diagnostics the read reported (and were already printed).
    printed: usize,
    json: Option<JsonStream>,
    kept: Vec<PrincipalOut>,
}

impl<'w, W: Write, E: Write> GenerateWriter<'w, W, E> {
    pub fn new(
        out: &'w mut W,
        err: &'w mut E,
        streamed: Streamed,
        keep: bool,
        printed: usize,
    ) -> Self {
        GenerateWriter {
            out,
            err,
            streamed,
            keep,
            printed,
            json: None,
            kept: Vec::new(),
        }
    }

    /// Writes what comes after the principals (from the frame `generate_each` returned) and
    /// gives the principals kept (none unless asked to keep them).
    pub fn finish(self, frame: &GenerateOutput) -> io::Result<Vec<PrincipalOut>> {
        match (self.streamed, self.json) {
            (Streamed::Json, Some(json)) => {
                json.end(self.out, frame)?;
                self.out.write_all(b"\n")?;
            }
            (Streamed::Text, _) => self
                .out
                .write_all(super::generate_text_end(frame).as_bytes())?,
            _ => {}
        }
        self.out.flush()?;
        Ok(self.kept)
    }
}

impl<W: Write, E: Write> GenerateSink for GenerateWriter<'_, W, E> {
    fn begin(&mut self, frame: &GenerateOutput) -> io::Result<()> {
        let added = frame.diagnostics.get(self.printed..).unwrap_or_default();
        self.err
            .write_all(super::diagnostics_text(added).as_bytes())?;
        if self.streamed == Streamed::Json {
            self.json = Some(JsonStream::begin(self.out, frame)?);
        }
        Ok(())
    }

    fn principals(&mut self, mut chunk: Vec<PrincipalOut>) -> io::Result<()> {
        match (self.streamed, &mut self.json) {
            (Streamed::Json, Some(json)) => json.principals(self.out, &chunk)?,
            (Streamed::Text, _) => {
                for p in &chunk {
                    self.out.write_all(super::principal_text(p).as_bytes())?;
                }
            }
            _ => {}
        }
        if self.keep {
            for p in &mut chunk {
                p.drop_rows();
            }
            self.kept.append(&mut chunk);
        } else {
            // freed on every thread: most of it was made on other threads
            chunk.into_par_iter().for_each(drop);
        }
        Ok(())
    }
}
