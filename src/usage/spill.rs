//! Grants written to disk while the trail is read, so that the read's memory stays bounded when
//! an account's distinct usage keeps growing.
//!
//! The read holds every distinct grant in hashed tables until it ends. On a trail whose
//! distinct usage keeps growing (per-tenant upload prefixes, new functions every week) that is
//! most of the memory, and it grows with the months read. So once the shared aggregate holds
//! more than a budget of grants ([`crate::usage::SPILL_AFTER`] by default), each actor's grant
//! table is written to one unnamed temporary file as a *section* and emptied
//! ([`crate::usage::Aggregate::spill`]). The actor keeps where its sections lie. A grant met
//! again after its table was emptied starts a new entry, and the entries of one grant in
//! several sections are merged when they are read back, with the same merge that joins the
//! workers' tables ([`crate::usage::Evidence::merge`]), so the usage is the same whatever was
//! spilled and when.
//!
//! A principal's grants are read back when they are needed ([`crate::usage::Usage::load`]):
//! `generate` reads a chunk of principals at a time, so its memory holds the principals being
//! proposed for, not the whole usage. Everything else a principal has (denied calls, days,
//! calls, the function's evidence) stays in memory: it does not grow with the grants.
//!
//! The file is private to the run: made with `O_TMPFILE` where the system has it (unlinked
//! from the start), so nothing is left behind, whatever ends the run. Its contents are this
//! module's own encoding, read only by this module, and never trusted further than that: a
//! section that does not decode is an error, not a panic.

use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::{EventId, Evidence, Folded, GrantKey, Lean, Rare};
use crate::model::{Conditions, Seen};

/// The temporary file of one run's spilled grants.
#[derive(Debug)]
pub struct Spill {
    file: Mutex<(std::fs::File, u64)>,
    /// Tests: how many more writes succeed; the rest fail as a full disk would.
    #[cfg(test)]
    writes_left: std::sync::atomic::AtomicUsize,
}

/// Where one table of grants lies in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section {
    at: u64,
    len: u64,
}

/// The sections of one actor or principal, in the order they were written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spilled(Vec<Section>);

impl Spilled {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many sections.
    pub fn sections(&self) -> usize {
        self.0.len()
    }

    /// The bytes of its sections.
    pub fn bytes(&self) -> u64 {
        self.0.iter().map(|s| s.len).sum()
    }

    pub(super) fn push(&mut self, s: Section) {
        self.0.push(s);
    }

    pub(super) fn extend(&mut self, o: Spilled) {
        self.0.extend(o.0);
    }
}

/// Why spilled grants could not be written or read back.
#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    #[error("cannot use the temporary file of spilled grants: {0}")]
    Io(String),
    #[error("the temporary file of spilled grants is damaged: {0}")]
    Corrupt(&'static str),
}

impl From<std::io::Error> for SpillError {
    fn from(e: std::io::Error) -> SpillError {
        SpillError::Io(crate::diag::io_reason(&e))
    }
}

impl Spill {
    /// A new, empty file in the system's temporary directory.
    pub fn new() -> Result<Arc<Spill>, SpillError> {
        Ok(Arc::new(Spill {
            file: Mutex::new((tempfile::tempfile()?, 0)),
            #[cfg(test)]
            writes_left: usize::MAX.into(),
        }))
    }

    /// A file whose first `n` writes succeed and every later one fails with the error of a
    /// full disk: for the tests of a write that fails part way through a spill.
    #[cfg(test)]
    pub(crate) fn failing_after(n: usize) -> Arc<Spill> {
        Arc::new(Spill {
            file: Mutex::new((tempfile::tempfile().expect("a temporary file"), 0)),
            writes_left: n.into(),
        })
    }

    /// A file every write to fails (`/dev/null`, opened to read): for the tests of what a
    /// failed write leaves.
    #[cfg(test)]
    pub(crate) fn unwritable() -> Arc<Spill> {
        Arc::new(Spill {
            file: Mutex::new((std::fs::File::open("/dev/null").expect("/dev/null"), 0)),
            writes_left: usize::MAX.into(),
        })
    }

    /// The bytes written.
    pub fn len(&self) -> u64 {
        self.lock().1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (std::fs::File, u64)> {
        self.file.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `bytes` as a section.
    pub(super) fn write(&self, bytes: &[u8]) -> Result<Section, SpillError> {
        #[cfg(test)]
        {
            use std::sync::atomic::Ordering::SeqCst;
            if self
                .writes_left
                .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
                .is_err()
            {
                // ENOSPC
                return Err(std::io::Error::from_raw_os_error(28).into());
            }
        }
        let mut f = self.lock();
        let at = f.1;
        f.0.seek(SeekFrom::Start(at))?;
        f.0.write_all(bytes)?;
        let len = bytes.len() as u64;
        f.1 = at + len;
        Ok(Section { at, len })
    }

    /// Writes the `n` grants of `grants` (a table of one actor) as a section.
    pub(super) fn write_grants<'a>(
        &self,
        n: usize,
        grants: impl Iterator<Item = (&'a str, &'a str, &'a Evidence)>,
        buf: &mut Vec<u8>,
    ) -> Result<Section, SpillError> {
        buf.clear();
        encode(buf, n, grants);
        self.write(buf)
    }

    /// Reads back every grant of `sections`, appended to `into` (a grant in several sections is
    /// there once per section).
    pub(super) fn read_grants(
        &self,
        sections: &Spilled,
        into: &mut Vec<(GrantKey, Evidence)>,
    ) -> Result<(), SpillError> {
        let mut buf = Vec::new();
        for s in &sections.0 {
            let len = usize::try_from(s.len).map_err(|_| SpillError::Corrupt("a section"))?;
            buf.clear();
            buf.resize(len, 0);
            {
                let mut f = self.lock();
                f.0.seek(SeekFrom::Start(s.at))?;
                f.0.read_exact(&mut buf)?;
            }
            decode(&buf, into)?;
        }
        Ok(())
    }
}

/// The encoding: little-endian base-128 integers, strings as their length and bytes.
pub(super) fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(super) fn string(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn time(out: &mut Vec<u8>, t: Option<DateTime<Utc>>) {
    match t {
        None => out.push(0),
        Some(t) => {
            out.push(1);
            let s = t.timestamp();
            // zigzag: small negative seconds stay short
            varint(out, ((s << 1) ^ (s >> 63)) as u64);
            varint(out, u64::from(t.timestamp_subsec_nanos()));
        }
    }
}

fn strings<'a>(out: &mut Vec<u8>, set: impl ExactSizeIterator<Item = &'a String>) {
    varint(out, set.len() as u64);
    for s in set {
        string(out, s);
    }
}

fn conditions(out: &mut Vec<u8>, c: &Conditions) {
    varint(out, c.len() as u64);
    for (op, keys) in c {
        string(out, op);
        varint(out, keys.len() as u64);
        for (k, values) in keys {
            string(out, k);
            strings(out, values.iter());
        }
    }
}

const SERVICE_MADE: u8 = 1;
const PLATFORM: u8 = 2;
const INVOKED_BY: u8 = 4;
const UNRESOLVED: u8 = 8;
const EXTRA: u8 = 16;
const CONDITIONS: u8 = 32;
const FOLDED: u8 = 64;
const UNCONDITIONAL: u8 = 128;

fn evidence(out: &mut Vec<u8>, e: &Evidence) {
    varint(out, e.seen.count);
    time(out, e.seen.first_seen);
    time(out, e.seen.last_seen);
    match &e.event_id {
        EventId::None => out.push(0),
        EventId::Uuid(u) => {
            out.push(1);
            out.extend_from_slice(u);
        }
        EventId::Text(t) => {
            out.push(2);
            string(out, t);
        }
    }
    let r = &*e.rare;
    let flags = [
        (r.service_made > 0, SERVICE_MADE),
        (r.platform > 0, PLATFORM),
        (!r.invoked_by.is_empty(), INVOKED_BY),
        (!r.unresolved.is_empty(), UNRESOLVED),
        (!r.extra.is_empty(), EXTRA),
        (r.conditions.is_some(), CONDITIONS),
        (e.folded.is_some(), FOLDED),
        (e.unconditional, UNCONDITIONAL),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .fold(0u8, |f, (_, bit)| f | bit);
    out.push(flags);
    if flags & SERVICE_MADE != 0 {
        varint(out, r.service_made);
    }
    if flags & PLATFORM != 0 {
        varint(out, r.platform);
    }
    if flags & INVOKED_BY != 0 {
        strings(out, r.invoked_by.iter());
    }
    if flags & UNRESOLVED != 0 {
        strings(out, r.unresolved.iter());
    }
    if flags & EXTRA != 0 {
        strings(out, r.extra.iter());
    }
    if let Some(c) = &r.conditions {
        conditions(out, c);
    }
    if let Some(f) = &e.folded {
        f.encode(out);
    }
}

/// `n` grants: what `grants` gives is written as it comes, its count first. A count that
/// does not match leaves a section that does not decode.
fn encode<'a>(
    out: &mut Vec<u8>,
    n: usize,
    grants: impl Iterator<Item = (&'a str, &'a str, &'a Evidence)>,
) {
    varint(out, n as u64);
    for (action, resource, e) in grants {
        string(out, action);
        string(out, resource);
        evidence(out, e);
    }
}

/// Reads what [`encode`] wrote, never past the end.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
}

type Decoded<T> = Result<T, SpillError>;

impl<'a> Reader<'a> {
    pub(super) fn byte(&mut self) -> Decoded<u8> {
        let (&b, rest) = self
            .bytes
            .split_first()
            .ok_or(SpillError::Corrupt("a section ends early"))?;
        self.bytes = rest;
        Ok(b)
    }

    pub(super) fn bytes(&mut self, n: usize) -> Decoded<&'a [u8]> {
        if n > self.bytes.len() {
            return Err(SpillError::Corrupt("a section ends early"));
        }
        let (b, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(b)
    }

    pub(super) fn varint(&mut self) -> Decoded<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(SpillError::Corrupt("a number is too long"))
    }

    /// A count of things still to read, each at least `min` bytes: never more than the bytes
    /// left could hold, so a damaged count does not reserve memory for nothing.
    pub(super) fn count(&mut self, min: usize) -> Decoded<usize> {
        let n = self.varint()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n.saturating_mul(min.max(1)) <= self.bytes.len())
            .ok_or(SpillError::Corrupt("a count is larger than the section"))
    }

    pub(super) fn str(&mut self) -> Decoded<&'a str> {
        let n = self.count(1)?;
        std::str::from_utf8(self.bytes(n)?).map_err(|_| SpillError::Corrupt("a name"))
    }

    fn time(&mut self) -> Decoded<Option<DateTime<Utc>>> {
        match self.byte()? {
            0 => Ok(None),
            1 => {
                let z = self.varint()?;
                let s = ((z >> 1) as i64) ^ -((z & 1) as i64);
                let nanos =
                    u32::try_from(self.varint()?).map_err(|_| SpillError::Corrupt("a time"))?;
                DateTime::from_timestamp(s, nanos)
                    .map(Some)
                    .ok_or(SpillError::Corrupt("a time"))
            }
            _ => Err(SpillError::Corrupt("a time")),
        }
    }

    fn strings(&mut self) -> Decoded<std::collections::BTreeSet<String>> {
        let n = self.count(1)?;
        (0..n).map(|_| self.str().map(str::to_string)).collect()
    }

    fn conditions(&mut self) -> Decoded<Conditions> {
        let mut c = Conditions::new();
        for _ in 0..self.count(2)? {
            let op = self.str()?.to_string();
            let keys = c.entry(op).or_default();
            for _ in 0..self.count(2)? {
                let k = self.str()?.to_string();
                let values = self.strings()?;
                keys.insert(k, values);
            }
        }
        Ok(c)
    }

    fn evidence(&mut self) -> Decoded<Evidence> {
        let seen = Seen {
            count: self.varint()?,
            first_seen: self.time()?,
            last_seen: self.time()?,
        };
        let event_id = match self.byte()? {
            0 => EventId::None,
            1 => EventId::Uuid(
                self.bytes(16)?
                    .try_into()
                    .map_err(|_| SpillError::Corrupt("an event id"))?,
            ),
            2 => EventId::Text(self.str()?.into()),
            _ => return Err(SpillError::Corrupt("an event id")),
        };
        let flags = self.byte()?;
        let mut rare: Lean<Rare> = Lean::default();
        if flags & SERVICE_MADE != 0 {
            rare.service_made = self.varint()?;
        }
        if flags & PLATFORM != 0 {
            rare.platform = self.varint()?;
        }
        if flags & INVOKED_BY != 0 {
            rare.invoked_by = self.strings()?;
        }
        if flags & UNRESOLVED != 0 {
            rare.unresolved = self.strings()?;
        }
        if flags & EXTRA != 0 {
            rare.extra = self.strings()?;
        }
        if flags & CONDITIONS != 0 {
            rare.conditions = Some(Arc::new(self.conditions()?));
        }
        let folded = if flags & FOLDED != 0 {
            Some(Box::new(Folded::decode(self)?))
        } else {
            None
        };
        Ok(Evidence {
            seen,
            event_id,
            rare,
            folded,
            unconditional: flags & UNCONDITIONAL != 0,
        })
    }
}

fn decode(bytes: &[u8], into: &mut Vec<(GrantKey, Evidence)>) -> Result<(), SpillError> {
    let mut r = Reader { bytes };
    let n = r.count(3)?;
    into.reserve(n);
    for _ in 0..n {
        let action = r.str()?;
        let resource = r.str()?;
        let key = super::grant_key(action, resource)
            .map_err(|_| SpillError::Corrupt("a grant's action or resource"))?;
        into.push((key, r.evidence()?));
    }
    if !r.bytes.is_empty() {
        return Err(SpillError::Corrupt("a section is longer than its grants"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn at(s: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(s, 0)
    }

    /// Evidence with every part the encoding has, and some with none.
    fn samples() -> Vec<(String, String, Evidence)> {
        let mut plain = Evidence::new(at(1_700_000_000), "8c1a2f3e-0b4d-4c5e-9f60-718293a4b5c6");
        plain.seen.count = 3;
        plain.seen.last_seen = at(1_700_086_400);
        let mut rich = Evidence::new(None, "not-a-uuid \u{1b}[31m");
        rich.seen.count = u64::MAX;
        rich.rare.service_made = 7;
        rich.rare.platform = 2;
        rich.rare.invoked_by = BTreeSet::from(["s3.amazonaws.com".to_string()]);
        rich.rare.unresolved = BTreeSet::from(["bucket".to_string(), "é".to_string()]);
        rich.rare.extra = BTreeSet::from(["passrole".to_string()]);
        let mut c = Conditions::new();
        crate::model::add_condition(&mut c, "StringEquals", "iam:PassedToService", "x".into());
        crate::model::add_condition(&mut c, "StringEquals", "iam:PassedToService", "y".into());
        rich.rare.conditions = Some(Arc::new(c));
        let mut f = Folded::default();
        for i in 0..300 {
            f.add("arn:aws:s3:::b/up/", &format!("{i}.json"));
        }
        rich.folded = Some(Box::new(f));
        let mut early = Evidence::new(DateTime::from_timestamp(-86_401, 5), "");
        early.seen.count = 1;
        early.unconditional = true;
        vec![
            ("s3:PutObject".into(), "arn:aws:s3:::b/up/*".into(), rich),
            ("s3:GetObject".into(), "arn:aws:s3:::b/k".into(), plain),
            ("sts:GetCallerIdentity".into(), "*".into(), early),
        ]
    }

    fn encoded(rows: &[(String, String, Evidence)]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(
            &mut out,
            rows.len(),
            rows.iter().map(|(a, r, e)| (a.as_str(), r.as_str(), e)),
        );
        out
    }

    #[test]
    fn grants_read_back_as_they_were_written() {
        let rows = samples();
        let spill = Spill::new().unwrap();
        let mut buf = Vec::new();
        let mut sections = Spilled::default();
        for chunk in [&rows[..1], &rows[1..]] {
            let s = spill
                .write_grants(
                    chunk.len(),
                    chunk.iter().map(|(a, r, e)| (a.as_str(), r.as_str(), e)),
                    &mut buf,
                )
                .unwrap();
            sections.push(s);
        }
        let mut back = Vec::new();
        spill.read_grants(&sections, &mut back).unwrap();
        assert_eq!(back.len(), rows.len());
        for ((k, e), (a, r, want)) in back.iter().zip(&rows) {
            assert_eq!((k.0.as_str(), k.1.as_str()), (a.as_str(), r.as_str()));
            assert!(e == want, "{e:?}\n{want:?}");
            assert_eq!(
                e.folded.as_ref().map(|f| f.distinct()),
                want.folded.as_ref().map(|f| f.distinct())
            );
            // no box is made for evidence that has none of the rare parts
            assert_eq!(e.rare.is_boxed(), want.rare.is_boxed(), "{a}");
        }
    }

    /// Every prefix of a section, and every section with one byte changed, is an error or
    /// grants: never a panic, never a count that reserves more than the section could hold.
    #[test]
    fn a_damaged_section_is_an_error_not_a_panic() {
        let bytes = encoded(&samples());
        for n in 0..bytes.len() {
            let mut out = Vec::new();
            assert!(decode(&bytes[..n], &mut out).is_err(), "prefix of {n}");
        }
        for i in 0..bytes.len() {
            for x in [0x01, 0x7f, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= x;
                let mut out = Vec::new();
                let _ = decode(&b, &mut out);
            }
        }
        let mut out = Vec::new();
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode(&long, &mut out).is_err());
        assert!(decode(&[0xff; 12], &mut out).is_err());
    }
}
