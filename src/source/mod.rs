//! Where records come from: files and directories on disk (plain or gzip), stdin, and (through
//! [`live`]) the trail bucket in S3 and CloudTrail LookupEvents.
//!
//! Every shape CloudTrail records reach people in is accepted: the S3 delivery format
//! `{"Records":[...]}`, a bare array of records, JSON lines, EventBridge envelopes, the output
//! of `aws cloudtrail lookup-events`, and exports from other systems (CloudTrail Lake query
//! results, Splunk, CloudWatch Logs; see `docs/inputs.md`). Files are read one at a time into a
//! buffer and parsed with borrowed, streaming deserialization: records are handed to the caller
//! one by one and never collected.

mod export;
mod filter;
mod layout;
pub mod live;
mod parse;

use std::io::Read;
use std::path::PathBuf;

use flate2::read::MultiGzDecoder;

use crate::diag::Diagnostic;
use crate::record::Record;

pub use filter::{Filters, Stream};
pub use layout::{LayoutInfo, layout_info};
pub use parse::{parse_text, parse_text_at, reading};

/// One input to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Input {
    Stdin,
    File(PathBuf),
    /// A local copy of a remote input (an S3 object, a batch of LookupEvents pages), named by
    /// where it came from. `remove` deletes the copy once read (it is not a cache entry).
    Spooled {
        name: String,
        path: PathBuf,
        remove: bool,
    },
}

impl Input {
    /// The name used in diagnostics.
    pub fn display(&self) -> String {
        match self {
            Input::Stdin => "-".to_string(),
            Input::File(p) => p.display().to_string(),
            Input::Spooled { name, .. } => name.clone(),
        }
    }

    /// The name the S3 layout is read from (`…/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`).
    pub fn layout_name(&self) -> Option<String> {
        match self {
            Input::Stdin => None,
            Input::File(p) => Some(p.to_string_lossy().into_owned()),
            Input::Spooled { name, .. } => Some(name.clone()),
        }
    }

    /// Its size on disk, when known before reading.
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::Stdin => None,
            Input::File(path) | Input::Spooled { path, .. } => {
                std::fs::metadata(path).ok().map(|m| m.len())
            }
        }
    }
}

/// What reading one input gave, besides the records themselves.
#[derive(Debug, Default, Clone)]
pub struct FileReport {
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Records handed to the caller.
    pub records: u64,
    /// Records or values that could not be used.
    pub bad_records: u64,
    /// `bad_records` by reason.
    pub dropped: crate::record::Dropped,
    /// The whole input was unusable or not CloudTrail records.
    pub skipped: bool,
    /// CPU time spent reading and decompressing, and parsing, attributing, mapping and
    /// aggregating, when timed ([`read_input_limited`]'s `timed`; 0 otherwise).
    pub seconds_decompress: f64,
    pub seconds_parse: f64,
    pub diagnostics: Vec<Diagnostic>,
}

impl FileReport {
    /// Counts one record (or value) that could not be used.
    pub fn drop(&mut self, reason: crate::record::DropReason) {
        self.bad_records += 1;
        *self.dropped.entry(reason).or_default() += 1;
    }
}

/// Figures from the live sources (S3 and LookupEvents), counted as requests are made.
#[derive(Debug, Default)]
pub struct RemoteStats {
    pub s3_list_requests: std::sync::atomic::AtomicU64,
    pub s3_objects: std::sync::atomic::AtomicU64,
    pub downloads: std::sync::atomic::AtomicU64,
    pub bytes_downloaded: std::sync::atomic::AtomicU64,
    pub cache_hits: std::sync::atomic::AtomicU64,
    /// Objects fetched again because the connection broke in the middle of the body.
    pub body_retries: std::sync::atomic::AtomicU64,
    pub lookup_requests: std::sync::atomic::AtomicU64,
    pub lookup_events: std::sync::atomic::AtomicU64,
}

/// [`RemoteStats`] once the reads are over.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct LiveStats {
    pub s3_list_requests: u64,
    pub s3_objects: u64,
    pub downloads: u64,
    pub bytes_downloaded: u64,
    pub cache_hits: u64,
    pub body_retries: u64,
    pub lookup_requests: u64,
    pub lookup_events: u64,
}

impl RemoteStats {
    pub fn snapshot(&self) -> LiveStats {
        use std::sync::atomic::Ordering::Relaxed;
        LiveStats {
            s3_list_requests: self.s3_list_requests.load(Relaxed),
            s3_objects: self.s3_objects.load(Relaxed),
            downloads: self.downloads.load(Relaxed),
            bytes_downloaded: self.bytes_downloaded.load(Relaxed),
            cache_hits: self.cache_hits.load(Relaxed),
            body_retries: self.body_retries.load(Relaxed),
            lookup_requests: self.lookup_requests.load(Relaxed),
            lookup_events: self.lookup_events.load(Relaxed),
        }
    }
}

const TRAIL_SUFFIXES: [&str; 6] = [".json", ".json.gz", ".jsonl", ".ndjson", ".jsonl.gz", ".gz"];

/// Expands the positional inputs into a sorted list of inputs to read. Directories are
/// walked recursively (following links, with loop detection); inside them only files with a
/// trail-like suffix are taken. Problems are reported, never fatal.
pub fn discover(paths: &[String]) -> (Vec<Input>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let inputs = walk(paths.to_vec(), |d| diags.push(d)).collect();
    (inputs, diags)
}

/// The warning of a path given on the command line that does not exist.
pub const MISSING: &str = "no such file or directory";

/// How many of the problems finding the inputs are paths that do not exist ([`MISSING`]).
pub fn missing_paths(found: &[Diagnostic]) -> u64 {
    found.iter().filter(|d| d.message == MISSING).count() as u64
}

/// As [`discover`], lazily: each input is found when the reader asks for the next one, so a
/// trail of a million files is never a list of a million paths. The order is the same (each
/// directory's entries sorted by name, depth first, which is the order of the sorted paths).
/// Problems are handed to `report` as they are met.
pub fn walk<R>(paths: Vec<String>, mut report: R) -> impl Iterator<Item = Input> + Send
where
    R: FnMut(Diagnostic) + Send,
{
    type Found = Box<dyn Iterator<Item = Result<Input, Diagnostic>> + Send>;
    paths
        .into_iter()
        .flat_map(|p| -> Found {
            if p == "-" {
                return Box::new(std::iter::once(Ok(Input::Stdin)));
            }
            let path = PathBuf::from(&p);
            match std::fs::metadata(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Box::new(std::iter::once(Err(Diagnostic::warning(&p, MISSING))))
                }
                Err(e) => Box::new(std::iter::once(Err(Diagnostic::warning(
                    &p,
                    format!("cannot read: {}", io_reason(&e)),
                )))),
                Ok(m) if m.is_file() => Box::new(std::iter::once(Ok(Input::File(path)))),
                Ok(m) if m.is_dir() => Box::new(walk_dir(path, p)),
                Ok(_) => Box::new(std::iter::once(Err(Diagnostic::warning(
                    &p,
                    "not a regular file or directory",
                )))),
            }
        })
        .filter_map(move |found| match found {
            Ok(input) => Some(input),
            Err(d) => {
                report(d);
                None
            }
        })
}

/// The trail files under one directory, lazily, in sorted order.
fn walk_dir(dir: PathBuf, arg: String) -> impl Iterator<Item = Result<Input, Diagnostic>> + Send {
    walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_map(move |entry| match entry {
            Ok(e) if e.file_type().is_file() => {
                let name = e.file_name().to_string_lossy();
                TRAIL_SUFFIXES
                    .iter()
                    .any(|s| name.ends_with(s))
                    .then(|| Ok(Input::File(e.into_path())))
            }
            Ok(_) => None,
            Err(e) => {
                let at = e
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| arg.clone());
                let why = if e.loop_ancestor().is_some() {
                    "symbolic link loop, not followed".to_string()
                } else if let Some(io) = e.io_error() {
                    format!("cannot read: {}", io_reason(io))
                } else {
                    "cannot read".to_string()
                };
                Some(Err(Diagnostic::warning(at, why)))
            }
        })
}

use crate::diag::io_reason;

/// The default bound on one input's size, decompressed (`--max-file-size`): CloudTrail
/// delivery files are a few MB to tens of MB; a file past this is a decompression bomb or not a
/// trail file, and reading it would take memory in proportion.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1 << 30;

fn too_large(input: &str, limit: u64, report: &mut FileReport, what: &str) {
    report.skipped = true;
    report.diagnostics.push(Diagnostic::warning(
        input,
        format!(
            "{what} more than {limit} bytes, over `--max-file-size`; skipped (raise the limit to read it)"
        ),
    ));
}

/// Reads one input's raw bytes into `raw` (cleared first), at most `limit` of them. `false`,
/// with a warning, when it cannot be read or is larger.
fn read_raw(input: &Input, limit: u64, raw: &mut Vec<u8>, report: &mut FileReport) -> bool {
    raw.clear();
    let bounded = |r: &mut dyn Read, raw: &mut Vec<u8>| {
        r.take(limit.saturating_add(1)).read_to_end(raw).map(|_| ())
    };
    let read = match input {
        Input::Stdin => bounded(&mut std::io::stdin().lock(), raw),
        Input::File(p) => std::fs::File::open(p).and_then(|mut f| bounded(&mut f, raw)),
        Input::Spooled { path, remove, .. } => {
            let r = std::fs::File::open(path).and_then(|mut f| bounded(&mut f, raw));
            if *remove {
                let _ = std::fs::remove_file(path);
            }
            r
        }
    };
    if read.is_ok() && raw.len() as u64 > limit {
        too_large(&input.display(), limit, report, "holds");
        raw.clear();
        return false;
    }
    if let Err(e) = read {
        report.skipped = true;
        report.diagnostics.push(Diagnostic::warning(
            input.display(),
            format!("cannot read: {}", io_reason(&e)),
        ));
        return false;
    }
    true
}

fn is_gzip(raw: &[u8]) -> bool {
    raw.starts_with(&[0x1f, 0x8b])
}

/// The size a gzip stream's trailer gives (of its last member, modulo 2³²), when it is no more
/// than 64 times the stream's: trail files compress about 10 to 1, and a size past that is not
/// trusted to reserve memory.
fn trailer_size(raw: &[u8]) -> Option<usize> {
    raw.len()
        .checked_sub(4)
        .and_then(|at| raw.get(at..))
        .and_then(|t| t.try_into().ok())
        .map(|t: [u8; 4]| u32::from_le_bytes(t) as usize)
        .filter(|&n| n <= raw.len().saturating_mul(64))
}

thread_local! {
    /// Each worker's libdeflate decompressor (its state is some kilobytes; made once).
    static INFLATER: std::cell::RefCell<libdeflater::Decompressor> =
        std::cell::RefCell::new(libdeflater::Decompressor::new());
}

/// Inflates `raw` with libdeflate (about 1.5 times zlib-rs on trail files) when it is certain
/// that `raw` is exactly one gzip member, which a CloudTrail delivery file is; `false`, with
/// `out` in any state, otherwise, and the caller reads it the general way.
///
/// libdeflate inflates the first member only, checks its CRC-32 and size, and ignores whatever
/// follows: on concatenated members (valid gzip, which `MultiGzDecoder` reads whole) it would
/// silently lose all but the first. So the result is taken only when the 8-byte trailer of the
/// member it decoded, its CRC-32 and size, which libdeflate has checked are the bytes after the
/// member, occur in `raw` once, as its last 8 bytes: the member then ends where `raw` does. Any
/// doubt (a second occurrence, a size over `limit`, corrupt or truncated data) falls back.
fn inflate_one_member(raw: &[u8], limit: u64, out: &mut Vec<u8>) -> bool {
    let Some(trailer) = raw.len().checked_sub(8).and_then(|at| raw.get(at..)) else {
        return false;
    };
    // An empty member, a size over the limit or an untrusted one: the general path says what
    // is wrong. The buffer is allocated before a byte is inflated, so a lying trailer must not
    // reserve a gigabyte; the general path grows its buffer only as the data really inflates.
    let Some(size) = trailer_size(raw).filter(|&n| n > 0 && n as u64 <= limit) else {
        return false;
    };
    // Grown, never cleared: the buffer is written over, not zeroed again for every file.
    if out.len() < size {
        out.resize(size, 0);
    }
    let Some(room) = out.get_mut(..size) else {
        return false;
    };
    let Ok(n) = INFLATER.with(|d| d.borrow_mut().gzip_decompress(raw, room)) else {
        return false;
    };
    out.truncate(n);
    // libdeflate has checked that the member's last 4 bytes are its output's size (ISIZE):
    // when those 4 bytes occur in `raw` only as its last 4, the member ends where `raw` does.
    let size = (n as u32).to_le_bytes();
    if memchr::memmem::find(raw, &size) == Some(raw.len() - 4) {
        return true;
    }
    // They occur earlier too (by chance in some 2 of a million 10 KB files, or in a member of
    // the same size before this one): the whole trailer, CRC-32 and size, must occur once, at
    // the end. Only then is the CRC-32 made again: libdeflate's and this one, for every file,
    // were 1% of the growing benchmark trail's samples (docs/performance.md, the thirty-sixth
    // round).
    let mut expected = [0u8; 8];
    expected[..4].copy_from_slice(&libdeflater::crc32(out).to_le_bytes());
    expected[4..].copy_from_slice(&size);
    expected == trailer && memchr::memmem::find(raw, &expected) == Some(raw.len() - 8)
}

/// Decompresses a gzip stream (concatenated members too) into `out` (cleared first), at most
/// `limit` bytes: past that the file is skipped with a warning (`false`). A corrupt or truncated
/// stream keeps what was decoded before the break, with a warning.
fn gunzip_into(
    name: &str,
    raw: &[u8],
    limit: u64,
    out: &mut Vec<u8>,
    report: &mut FileReport,
) -> bool {
    if inflate_one_member(raw, limit, out) {
        return true;
    }
    out.clear();
    // The trailer gives the (last member's) size: room for all of it at once, not a doubling
    // chain of copies.
    let size_hint = trailer_size(raw).unwrap_or(0);
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    out.reserve(size_hint.max(raw.len().saturating_mul(8)).min(cap) + 1);
    let read = MultiGzDecoder::new(raw)
        .take(limit.saturating_add(1))
        .read_to_end(out);
    if out.len() as u64 > limit {
        too_large(name, limit, report, "decompresses to");
        out.clear();
        return false;
    }
    if let Err(e) = read {
        let msg = if out.is_empty() {
            format!("corrupt gzip stream: {}", io_reason(&e))
        } else {
            format!(
                "truncated or corrupt gzip stream: {}; records decoded before the break are kept",
                io_reason(&e)
            )
        };
        report.diagnostics.push(
            Diagnostic::warning(name, msg).at(format!("after decompressed byte {}", out.len())),
        );
    }
    true
}

/// The decompressed bytes of `raw`: gzip (detected by its magic number) inflated into `out`,
/// anything else `raw` itself. Counts both sizes in `report`. `None` when the input inflates
/// past `limit` and was skipped (with a warning).
fn decoded<'a>(
    name: &str,
    raw: &'a [u8],
    limit: u64,
    out: &'a mut Vec<u8>,
    report: &mut FileReport,
) -> Option<&'a [u8]> {
    report.bytes_in = raw.len() as u64;
    let bytes: &[u8] = if is_gzip(raw) {
        if !gunzip_into(name, raw, limit, out, report) {
            return None;
        }
        out
    } else {
        raw
    };
    report.bytes_out = bytes.len() as u64;
    Some(bytes)
}

/// Parses decompressed bytes of any accepted shape, replacing invalid UTF-8 (with a warning);
/// each record comes with its position in the input ([`parse_text_at`]).
pub fn parse_decoded(
    name: &str,
    bytes: &[u8],
    on_record: &mut dyn FnMut(&Record<'_>, u64),
    report: &mut FileReport,
) {
    // simdutf8: the check runs at SIMD speed (chosen at run time), reading each inflated file
    // once more before the JSON parser does; its `compat` error tells where, as std's does
    let text = match simdutf8::compat::from_utf8(bytes) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(e) => {
            report.diagnostics.push(
                Diagnostic::warning(
                    name,
                    "invalid UTF-8; the bad bytes were replaced with U+FFFD",
                )
                .at(format!("byte {}", e.valid_up_to())),
            );
            String::from_utf8_lossy(bytes)
        }
    };
    parse_text_at(name, &text, on_record, report);
}

/// Decodes and parses raw input bytes (gzip or not): the whole reading path without the file.
pub fn parse_bytes(
    name: &str,
    raw: &[u8],
    on_record: &mut dyn FnMut(&Record<'_>),
    report: &mut FileReport,
) {
    let mut out = Vec::new();
    if let Some(bytes) = decoded(name, raw, DEFAULT_MAX_FILE_SIZE, &mut out, report) {
        parse_decoded(name, bytes, &mut |r, _| on_record(r), report);
    }
}

thread_local! {
    /// Each worker's read and decompression buffers, reused from file to file: a fresh
    /// buffer of megabytes per file costs the kernel zeroing its pages, and growing it costs
    /// copies.
    static BUFFERS: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = const {
        std::cell::RefCell::new((Vec::new(), Vec::new()))
    };
}

/// Buffers grown past this by one large file are given back rather than kept.
const KEEP_BUFFER: usize = 256 << 20;

/// Reads and parses one input, handing each record to `on_record`, within the default size
/// bound ([`DEFAULT_MAX_FILE_SIZE`]).
pub fn read_input(input: &Input, on_record: &mut dyn FnMut(&Record<'_>)) -> FileReport {
    read_input_limited(input, DEFAULT_MAX_FILE_SIZE, false, &mut |r, _| {
        on_record(r)
    })
}

/// The CPU time this thread has used, in seconds: what a stage cost, whatever else the machine
/// was doing (wall time would count the waits for a core).
fn thread_cpu() -> f64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map_or(0.0, |t| t.tv_sec() as f64 + t.tv_nsec() as f64 * 1e-9)
}

/// As [`read_input`], skipping (with a warning) an input larger than `limit` bytes once
/// decompressed: memory stays bounded on a decompression bomb. Each record comes with its
/// position in the input, as messages name it (`record N`). With `timed`, the report gives the
/// CPU seconds its decompression and its parse took (0 otherwise).
pub fn read_input_limited(
    input: &Input,
    limit: u64,
    timed: bool,
    on_record: &mut dyn FnMut(&Record<'_>, u64),
) -> FileReport {
    let mut report = FileReport::default();
    let name = input.display();
    // `take`, not a borrow held across the parse: `on_record` may read another input on this
    // thread (it does not today), which then gets fresh buffers.
    let (mut raw, mut out) = BUFFERS.with(|b| std::mem::take(&mut *b.borrow_mut()));
    let clock = || if timed { thread_cpu() } else { 0.0 };
    let t0 = clock();
    if read_raw(input, limit, &mut raw, &mut report) {
        let bytes = decoded(&name, &raw, limit, &mut out, &mut report);
        let t1 = clock();
        report.seconds_decompress = t1 - t0;
        if let Some(bytes) = bytes {
            parse_decoded(&name, bytes, on_record, &mut report);
            report.seconds_parse = clock() - t1;
        }
    }
    for b in [&mut raw, &mut out] {
        if b.capacity() > KEEP_BUFFER {
            *b = Vec::new();
        }
    }
    BUFFERS.with(|b| *b.borrow_mut() = (raw, out));
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lazy walk finds the files the sorted list has, in the same order: depth first with
    /// each directory's names sorted is the order of the sorted paths, even where a name is a
    /// prefix of another (`a`, `a-b`, `a.json`).
    #[test]
    fn the_lazy_walk_is_the_sorted_list() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "a/z.json",
            "a/b/c.json.gz",
            "a-b/x.jsonl",
            "a.json",
            "b/notes.txt",
            "B/y.json",
            "a/b.json",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "{}").unwrap();
        }
        let arg = vec![root.display().to_string(), "/no/such/dir".to_string()];
        let mut diags = Vec::new();
        let walked: Vec<PathBuf> = walk(arg.clone(), |d| diags.push(d))
            .map(|i| match i {
                Input::File(p) => p,
                other => panic!("{other:?}"),
            })
            .collect();
        let mut sorted = walked.clone();
        sorted.sort();
        assert_eq!(walked, sorted);
        assert_eq!(walked.len(), 6, "{walked:?}");
        assert_eq!(diags.len(), 1);
        let (listed, _) = discover(&arg);
        assert_eq!(listed.len(), 6);
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn gunzip(raw: &[u8]) -> (Vec<u8>, FileReport) {
        let mut out = b"left over from the previous file, longer than the next".to_vec();
        let mut report = FileReport::default();
        assert!(gunzip_into(
            "f.json.gz",
            raw,
            1 << 20,
            &mut out,
            &mut report
        ));
        (out, report)
    }

    /// libdeflate reads one member; everything it cannot be sure of goes the general way, so
    /// concatenated members, trailing bytes and damage give what `MultiGzDecoder` gives.
    #[test]
    fn one_member_is_inflated_by_libdeflate_and_nothing_else_is() {
        let a = br#"{"Records":[{"eventName":"A"}]}"#.to_vec();
        let b = br#"{"Records":[{"eventName":"B"}]}"#.to_vec();
        let one = gz(&a);
        let mut reused = vec![7u8; 4096];
        assert!(inflate_one_member(&one, 1 << 20, &mut reused));
        assert_eq!(reused, a);
        assert_eq!(gunzip(&one).0, a);

        // Two members, even of the same size and content: both are read.
        for second in [&b, &a] {
            let mut two = one.clone();
            two.extend_from_slice(&gz(second));
            assert!(!inflate_one_member(&two, 1 << 20, &mut Vec::new()));
            let (out, report) = gunzip(&two);
            assert_eq!(out, [a.as_slice(), second.as_slice()].concat());
            assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
        }

        // Members of other sizes: the first one's size is not at the end.
        let longer = br#"{"Records":[{"eventName":"Longer"}]}"#.to_vec();
        let mut two = one.clone();
        two.extend_from_slice(&gz(&longer));
        assert!(!inflate_one_member(&two, 1 << 20, &mut Vec::new()));
        assert_eq!(gunzip(&two).0, [a.as_slice(), longer.as_slice()].concat());

        // The output's size occurs before the trailer too (here in the header's extra field):
        // one member all the same, found by its whole trailer.
        let size = u32::try_from(a.len()).unwrap_or_default().to_le_bytes();
        let mut e = flate2::GzBuilder::new()
            .extra(size.to_vec())
            .write(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut e, &a).unwrap();
        let extra = e.finish().unwrap();
        assert!(
            matches!(memchr::memmem::find(&extra, &size), Some(i) if i < extra.len() - 4),
            "the size's bytes are not in the header"
        );
        let mut out = Vec::new();
        assert!(inflate_one_member(&extra, 1 << 20, &mut out));
        assert_eq!(out, a);
        // and a second member after it is still found
        let mut two = extra.clone();
        two.extend_from_slice(&gz(&b));
        assert!(!inflate_one_member(&two, 1 << 20, &mut Vec::new()));
        assert_eq!(gunzip(&two).0, [a.as_slice(), b.as_slice()].concat());

        // Trailing garbage after a member: not libdeflate's to ignore.
        let mut trailing = one.clone();
        trailing.extend_from_slice(b"garbage!");
        assert!(!inflate_one_member(&trailing, 1 << 20, &mut Vec::new()));

        // Truncated or corrupt: the general path keeps what came before the break and says so.
        let cut = &one[..one.len() - 3];
        assert!(!inflate_one_member(cut, 1 << 20, &mut Vec::new()));
        let mut flipped = one.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0xff;
        assert!(!inflate_one_member(&flipped, 1 << 20, &mut Vec::new()));
        let (_, report) = gunzip(&flipped);
        assert_eq!(report.diagnostics.len(), 1, "{:?}", report.diagnostics);

        // A trailer that claims more than 64 times the input: not allocated up front.
        let mut lying = one.clone();
        let at = lying.len() - 4;
        lying[at..].copy_from_slice(&(1u32 << 30).to_le_bytes());
        let mut buf = Vec::new();
        assert!(!inflate_one_member(&lying, 1 << 31, &mut buf));
        assert!(buf.capacity() < 1 << 20, "{}", buf.capacity());

        // Over the limit: left to the general path, which skips it with a warning.
        assert!(!inflate_one_member(&one, 4, &mut Vec::new()));
        let mut report = FileReport::default();
        assert!(!gunzip_into(
            "f.json.gz",
            &one,
            4,
            &mut Vec::new(),
            &mut report
        ));
        assert!(report.skipped);
    }

    /// The stages are timed only when asked (`--stats`): otherwise the thread's CPU clock is
    /// not read, and the report's seconds are 0; asked, they add up to the work done.
    #[test]
    fn stages_are_timed_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json.gz");
        let record = r#"{"eventName":"GetObject","eventSource":"s3.amazonaws.com"}"#;
        let text = format!(r#"{{"Records":[{}]}}"#, vec![record; 20_000].join(","));
        std::fs::write(&path, gz(text.as_bytes())).unwrap();
        let input = Input::File(path);
        let read = |timed: bool| {
            let mut n = 0;
            let report = read_input_limited(&input, 1 << 30, timed, &mut |_, _| n += 1);
            assert_eq!(n, 20_000);
            report
        };
        let untimed = read(false);
        assert_eq!(
            (untimed.seconds_decompress, untimed.seconds_parse),
            (0.0, 0.0)
        );
        let timed = read(true);
        assert!(timed.seconds_decompress >= 0.0 && timed.seconds_parse >= 0.0);
        assert!(timed.seconds_decompress + timed.seconds_parse > 0.0);
    }
}
