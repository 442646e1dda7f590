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
/// policy files and the infrastructure formats, which need them all). When `out` is closed
/// early (the reader of a pipe went away) and the principals are kept, it stops writing but
/// goes on keeping them, so that the policy files are still written: [`Finished::closed`] says
/// so afterwards.
pub struct GenerateWriter<'w, W: Write, E: Write> {
    out: &'w mut W,
    err: &'w mut E,
    streamed: Streamed,
    keep: bool,
    /// How many of the frame's diagnostics the read reported (and were already printed).
    printed: usize,
    json: Option<JsonStream>,
    kept: Vec<PrincipalOut>,
    /// `out` was closed by its reader (while principals were kept).
    closed: Option<io::Error>,
}

/// What [`GenerateWriter::finish`] leaves.
pub struct Finished {
    /// The principals kept (none unless asked to keep them), without their evidence rows.
    pub kept: Vec<PrincipalOut>,
    /// `out` was closed by its reader before everything was written: to report once the
    /// policy files are written.
    pub closed: Option<io::Error>,
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
            closed: None,
        }
    }

    /// Runs `write` on `out` unless it was closed; a closed `out` ends the run unless the
    /// principals are kept.
    fn write(&mut self, write: impl FnOnce(&mut W) -> io::Result<()>) -> io::Result<()> {
        if self.closed.is_some() {
            return Ok(());
        }
        match write(self.out) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe && self.keep => {
                self.closed = Some(e);
                Ok(())
            }
            r => r,
        }
    }

    /// Writes what comes after the principals (from the frame `generate_each` returned).
    pub fn finish(mut self, frame: &GenerateOutput) -> io::Result<Finished> {
        match (self.streamed, self.json.take()) {
            (Streamed::Json, Some(json)) => self.write(|out| {
                json.end(out, frame)?;
                out.write_all(b"\n")
            })?,
            (Streamed::Text, _) => {
                let text = super::generate_text_end(frame);
                self.write(|out| out.write_all(text.as_bytes()))?
            }
            _ => {}
        }
        self.write(|out| out.flush())?;
        Ok(Finished {
            kept: self.kept,
            closed: self.closed,
        })
    }
}

impl<W: Write, E: Write> GenerateSink for GenerateWriter<'_, W, E> {
    fn begin(&mut self, frame: &GenerateOutput) -> io::Result<()> {
        let added = frame.diagnostics.get(self.printed..).unwrap_or_default();
        // as `eprint!` would, short of panicking: the JSON carries them too
        let _ = self
            .err
            .write_all(super::diagnostics_text(added).as_bytes());
        if self.streamed == Streamed::Json {
            let mut json = None;
            self.write(|out| {
                json = Some(JsonStream::begin(out, frame)?);
                Ok(())
            })?;
            self.json = json;
        }
        Ok(())
    }

    fn principals(&mut self, mut chunk: Vec<PrincipalOut>) -> io::Result<()> {
        match (self.streamed, self.json.take()) {
            (Streamed::Json, Some(mut json)) => {
                self.write(|out| json.principals(out, &chunk))?;
                self.json = Some(json);
            }
            (Streamed::Text, _) => self.write(|out| {
                chunk
                    .iter()
                    .try_for_each(|p| out.write_all(super::principal_text(p).as_bytes()))
            })?,
            _ => {}
        }
        // freed on every thread: most of it was made on other threads
        if self.keep {
            chunk.par_iter_mut().for_each(PrincipalOut::drop_rows);
            self.kept.append(&mut chunk);
        } else {
            chunk.into_par_iter().for_each(drop);
        }
        Ok(())
    }
}
