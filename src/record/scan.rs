//! A record read straight from its JSON, without serde: the fields [`Record`] keeps are taken by
//! key, and everything else is checked and stepped over. This is the S3 delivery format's fast
//! path (`{"Records":[…]}`, [`crate::source::parse_text`]); serde_json's typed parse of the same
//! records cost about twice what its own skipping of them does, and was close to half of a
//! read's instructions.
//!
//! It reads only ordinary records, and declines (`None`) anything else, so that serde_json
//! reads that record as before and what is accepted, and how, does not change:
//! - a string with an escape or a control character (every string, read or skipped: only a
//!   parse can read an escape, and serde_json refuses a raw control character);
//! - a field the record keeps given twice (serde refuses a duplicate field);
//! - a kept field of another type than its own (a number for `eventName`, an array for
//!   `userIdentity`, which serde would read by position), or a `requestParameters` that is not
//!   an object or `null`;
//! - containers nested [`MAX_DEPTH`] deep below the record, or deeper;
//! - anything that is not JSON.
//!
//! `tests` and the fuzzer's `record-parser` target hold it to serde's reading of the same text.

use std::borrow::Cow;

use super::params::{Members, Params};
use super::{Record, ResourceRef, SessionContext, SessionIssuer, UserIdentity};

/// How deep containers may nest below a record before it is left to serde_json: far below its
/// limit (128 from the top of the file), which then decides.
pub const MAX_DEPTH: usize = 64;

/// What reading one file's records needs, made once a file: where its strings may end, and
/// whether any string can hold a control character.
pub struct Reader<'a> {
    text: &'a str,
    /// The file holds no control character (below U+0020) at all, so that no string in it can:
    /// its strings need not be checked for one.
    plain: bool,
    /// A bit for each byte of `text` (bit `k` of word `w` for byte `64 * w + k`), set where a
    /// string may end: at each `"`, and at each `\`, which only a parse can read.
    ends: Vec<u64>,
}

/// `text`'s string ends ([`Reader::ends`]) and whether it holds no control character, in one
/// pass over it, 16 bytes at a time (SSE2 or NEON through `wide`). A string is some twenty
/// bytes, and a record holds some seventy: a string's end is then found by a bit search in a
/// word or two, not by a search of its bytes. The index is a sixty-fourth of the text.
#[inline(never)]
fn index(text: &str) -> (Vec<u64>, bool) {
    use wide::u8x16;
    let (quote, backslash) = (u8x16::splat(b'"'), u8x16::splat(b'\\'));
    let (blocks, tail) = text.as_bytes().as_chunks::<64>();
    let mut ends = Vec::with_capacity(blocks.len() + 1);
    let mut least = u8x16::splat(u8::MAX);
    let mut add = |block: &[u8; 64]| {
        let mut word = 0u64;
        for (k, chunk) in block.as_chunks::<16>().0.iter().enumerate() {
            let v = u8x16::new(*chunk);
            least = least.min(v);
            let hit = v.cmp_eq(quote) | v.cmp_eq(backslash);
            word |= u64::from(hit.move_mask() as u16) << (16 * k);
        }
        ends.push(word);
    };
    blocks.iter().for_each(&mut add);
    if !tail.is_empty() {
        // the last part-block padded with spaces, which neither end a string nor are control
        // characters, so that it is indexed as the others are
        let mut last = [b' '; 64];
        last[..tail.len()].copy_from_slice(tail);
        add(&last);
    }
    let least = least.to_array().into_iter().fold(u8::MAX, u8::min);
    (ends, least >= 0x20)
}

impl<'a> Reader<'a> {
    /// The first step of a file of the S3 delivery format, `{"Records":[…]}`; `None` when
    /// `text` does not start so.
    pub fn first(text: &str) -> Option<Step> {
        // the frame has no string the scanner reads (`"Records"` is matched as bytes), so
        // where the file's strings end is not needed yet
        let frame = Reader {
            text,
            plain: true,
            ends: Vec::new(),
        };
        let mut s = frame.at(0);
        s.eat(b'{')?;
        s.ws();
        s.literal(b"\"Records\"")?;
        s.ws();
        s.eat(b':')?;
        s.ws();
        if s.open(b'[', b']')? {
            Some(Step::Record(s.i))
        } else {
            s.end()
        }
    }

    /// For the records of `text`.
    pub fn new(text: &'a str) -> Reader<'a> {
        let (ends, plain) = index(text);
        Reader { text, plain, ends }
    }

    /// The record whose `{` is at byte `at` of the text, and the byte after its `}`; `None`
    /// when it is not an ordinary record (see the module's text).
    pub fn record(&self, at: usize) -> Option<(Record<'a>, usize)> {
        let mut s = self.at(at);
        let r = s.record()?;
        Some((r, s.i))
    }

    /// The step after the record that ends at byte `end`; `None` when what follows is not
    /// the delivery format's (no `,` or `]` next, or more than whitespace after the `}`).
    pub fn next(&self, end: usize) -> Option<Step> {
        let mut s = self.at(end);
        if s.more(b']')? {
            Some(Step::Record(s.i))
        } else {
            s.end()
        }
    }

    fn at(&self, i: usize) -> Scanner<'a, '_> {
        Scanner {
            s: self.text,
            b: self.text.as_bytes(),
            i,
            plain: self.plain,
            ends: &self.ends,
        }
    }
}

/// Where a file of the S3 delivery format is, between its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A record starts at this byte.
    Record(usize),
    /// The array and the object are closed, and only whitespace follows.
    End,
}

/// A record as the rest of tightrole sees it, as text: its fields, and its parameters' problem
/// (which their `Debug` leaves out). Two readings of a record are the same when these are.
pub fn seen(r: &Record<'_>) -> String {
    format!("{r:?} {:?}", r.params_checked().map(|p| p.is_some()))
}

/// How deep containers nest in `json` (a valid JSON value): 0 for a scalar, 1 for `{}`.
pub fn nesting(json: &str) -> usize {
    let b = json.as_bytes();
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'"' => {
                // to the closing quote, over escapes
                i += 1;
                while let Some(n) = b.get(i..).and_then(|r| memchr::memchr2(b'"', b'\\', r)) {
                    i += n;
                    if b[i] == b'\\' {
                        i += 2;
                    } else {
                        break;
                    }
                }
            }
            b'{' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    max
}

/// Marks field `bit` as read; `None` when it was already (a duplicate field).
fn once(seen: &mut u32, bit: u32) -> Option<()> {
    let was = *seen & (1 << bit) != 0;
    *seen |= 1 << bit;
    (!was).then_some(())
}

struct Scanner<'a, 'r> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    /// No control character anywhere in `s`.
    plain: bool,
    /// Where a string in `s` may end ([`Reader::ends`]).
    ends: &'r [u64],
}

impl<'a> Scanner<'a, '_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.i += 1)
    }

    /// A string without escapes or control characters, at its opening quote: its text. Not
    /// inlined: inlined in its callers it took more instructions than the calls it saved.
    #[inline(never)]
    fn string(&mut self) -> Option<&'a str> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.i + 1;
        // the first `"` or `\` after the opening quote, from the index a word at a time
        let first = self.ends.get(start / 64)? >> (start % 64);
        let end = if first != 0 {
            start + first.trailing_zeros() as usize
        } else {
            let mut w = start / 64;
            loop {
                w += 1;
                let bits = *self.ends.get(w)?;
                if bits != 0 {
                    break w * 64 + bits.trailing_zeros() as usize;
                }
            }
        };
        if self.b.get(end) != Some(&b'"') {
            return None;
        }
        if !self.plain && self.b[start..end].iter().any(|&x| x < 0x20) {
            return None;
        }
        self.i = end + 1;
        // both ends are at quotes, so on character boundaries (split, not `get`, which the
        // compiler did not inline here)
        let (text, _) = self.s.split_at_checked(end)?;
        Some(text.split_at_checked(start)?.1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.b.get(self.i..)?.starts_with(word) {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    fn digits(&mut self) -> usize {
        let n = self.b[self.i..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        self.i += n;
        n
    }

    /// A number, as JSON spells one (its range is not checked: serde_json does not check a
    /// number it skips either).
    fn number(&mut self) -> Option<()> {
        let _ = self.eat(b'-');
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.eat(b'.').is_some() && self.digits() == 0 {
            return None;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    /// After a member or an element: `,` (and what follows it) or the container's `close`.
    /// `Some(true)` when the container goes on.
    #[inline]
    fn more(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.i += 1;
                self.ws();
                Some(true)
            }
            c if c == close => {
                self.i += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// Opens a container (`{` or `[`) and says whether it has anything in it.
    fn open(&mut self, open: u8, close: u8) -> Option<bool> {
        self.eat(open)?;
        self.ws();
        Some(self.eat(close).is_none())
    }

    /// A member's name and its colon, the value's first byte next.
    #[inline]
    fn name(&mut self) -> Option<&'a str> {
        let name = self.string()?;
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(name)
    }

    /// Any value, checked and stepped over; `depth` containers below the record.
    fn skip(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.string()?;
            }
            b'{' if depth < MAX_DEPTH => self.object(|s, _| s.skip(depth + 1))?,
            b'[' if depth < MAX_DEPTH => self.array(|s| s.skip(depth + 1))?,
            b'{' | b'[' => return None,
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            b'n' => self.literal(b"null")?,
            _ => self.number()?,
        }
        Some(())
    }

    /// `null`, or what `read` makes of the value.
    #[inline]
    fn nullable<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            Some(None)
        } else {
            read(self).map(Some)
        }
    }

    /// A kept string field (`bit` in `seen`): a string or `null`.
    #[inline]
    fn text(&mut self, seen: &mut u32, bit: u32) -> Option<Option<Cow<'a, str>>> {
        once(seen, bit)?;
        self.nullable(|s| s.string().map(Cow::Borrowed))
    }

    /// The members of an object, each handed to `member` with its name (which reads or skips
    /// the value).
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        if !self.open(b'{', b'}')? {
            return Some(());
        }
        loop {
            let name = self.name()?;
            member(self, name)?;
            if !self.more(b'}')? {
                return Some(());
            }
        }
    }

    /// The elements of an array, each read (or skipped) by `element`.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if !self.open(b'[', b']')? {
            return Some(());
        }
        loop {
            element(self)?;
            if !self.more(b']')? {
                return Some(());
            }
        }
    }

    /// Any value as its JSON text, checked (`depth` containers below the record).
    fn raw(&mut self, depth: usize) -> Option<&'a str> {
        let start = self.i;
        self.skip(depth)?;
        self.s.get(start..self.i)
    }

    /// After the array of records: its `}`, and nothing but whitespace to the end.
    fn end(&mut self) -> Option<Step> {
        self.ws();
        self.eat(b'}')?;
        self.ws();
        (self.i == self.b.len()).then_some(Step::End)
    }

    fn record(&mut self) -> Option<Record<'a>> {
        let mut r = Record::default();
        let mut seen = 0u32;
        self.object(|s, name| {
            match name {
                "eventVersion" => r.event_version = s.text(&mut seen, 0)?,
                "eventTime" => r.event_time = s.text(&mut seen, 1)?,
                "@timestamp" => r.at_timestamp = s.text(&mut seen, 2)?,
                "eventSource" => r.event_source = s.text(&mut seen, 3)?,
                "eventName" => r.event_name = s.text(&mut seen, 4)?,
                "awsRegion" => r.aws_region = s.text(&mut seen, 5)?,
                "userAgent" => r.user_agent = s.text(&mut seen, 6)?,
                "sourceIPAddress" => r.source_ip_address = s.text(&mut seen, 7)?,
                "errorCode" => r.error_code = s.text(&mut seen, 8)?,
                "errorMessage" => r.error_message = s.text(&mut seen, 9)?,
                "eventID" => r.event_id = s.text(&mut seen, 10)?,
                "eventType" => r.event_type = s.text(&mut seen, 11)?,
                "eventCategory" => r.event_category = s.text(&mut seen, 12)?,
                "recipientAccountId" => r.recipient_account_id = s.text(&mut seen, 13)?,
                "userIdentity" => {
                    once(&mut seen, 14)?;
                    r.user_identity = s.nullable(Self::user_identity)?;
                }
                "requestParameters" => {
                    once(&mut seen, 15)?;
                    r.request_parameters = s.nullable(Self::params)?;
                }
                "responseElements" => {
                    once(&mut seen, 16)?;
                    r.response_elements = s.nullable(|s| s.raw(1))?;
                }
                "resources" => {
                    once(&mut seen, 17)?;
                    r.resources = s.nullable(Self::resources)?;
                }
                _ => s.skip(1)?,
            }
            Some(())
        })?;
        Some(r)
    }

    fn user_identity(&mut self) -> Option<UserIdentity<'a>> {
        let mut u = UserIdentity::default();
        let mut seen = 0u32;
        self.object(|s, name| {
            match name {
                "type" => u.kind = s.text(&mut seen, 0)?,
                "arn" => u.arn = s.text(&mut seen, 1)?,
                "accountId" => u.account_id = s.text(&mut seen, 2)?,
                "invokedBy" => u.invoked_by = s.text(&mut seen, 3)?,
                "userName" => u.user_name = s.text(&mut seen, 4)?,
                "principalId" => u.principal_id = s.text(&mut seen, 5)?,
                "sessionContext" => {
                    once(&mut seen, 6)?;
                    u.session_context = s.nullable(Self::session_context)?;
                }
                _ => s.skip(2)?,
            }
            Some(())
        })?;
        Some(u)
    }

    fn session_context(&mut self) -> Option<SessionContext<'a>> {
        let mut c = SessionContext::default();
        let mut seen = 0u32;
        self.object(|s, name| {
            match name {
                "sessionIssuer" => {
                    once(&mut seen, 0)?;
                    c.session_issuer = s.nullable(Self::session_issuer)?;
                }
                _ => s.skip(3)?,
            }
            Some(())
        })?;
        Some(c)
    }

    fn session_issuer(&mut self) -> Option<SessionIssuer<'a>> {
        let mut i = SessionIssuer::default();
        let mut seen = 0u32;
        self.object(|s, name| {
            match name {
                "type" => i.kind = s.text(&mut seen, 0)?,
                "arn" => i.arn = s.text(&mut seen, 1)?,
                "accountId" => i.account_id = s.text(&mut seen, 2)?,
                "userName" => i.user_name = s.text(&mut seen, 3)?,
                _ => s.skip(4)?,
            }
            Some(())
        })?;
        Some(i)
    }

    /// `requestParameters` as an object: its members' names and raw values.
    fn params(&mut self) -> Option<Params<'a>> {
        let mut members = Members::new();
        self.object(|s, name| {
            members.push((Cow::Borrowed(name), s.raw(2)?));
            Some(())
        })?;
        // a string here holds no escape or control character: the scanner declines any
        Some(Params::of_members(members, true))
    }

    fn resources(&mut self) -> Option<Vec<ResourceRef<'a>>> {
        let mut all = Vec::new();
        self.array(|s| {
            let mut r = ResourceRef::default();
            let mut seen = 0u32;
            s.object(|s, name| {
                match name {
                    "ARN" => r.arn = s.text(&mut seen, 0)?,
                    "ARNPrefix" => r.arn_prefix = s.text(&mut seen, 1)?,
                    "type" => r.kind = s.text(&mut seen, 2)?,
                    "accountId" => r.account_id = s.text(&mut seen, 3)?,
                    _ => s.skip(3)?,
                }
                Some(())
            })?;
            all.push(r);
            Some(())
        })?;
        Some(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A reader of `text` that checks every string for a control character, as it does in a
    /// file that holds one.
    fn checked(text: &str) -> Reader<'_> {
        Reader {
            plain: false,
            ..Reader::new(text)
        }
    }

    /// The scanner's reading of `text`, checked against serde_json's: `None` when the scanner
    /// declines it. Whatever it accepts, serde_json reads the same way, to the same end.
    fn agree(text: &str) -> Option<String> {
        let (r, end) = Reader::new(text).record(0)?;
        // the same with every string checked
        let again = checked(text).record(0).map(|(r, end)| (seen(&r), end));
        assert_eq!(again, Some((seen(&r), end)), "{text}");
        let mut de = serde_json::Deserializer::from_str(text).into_iter::<Record>();
        let by_serde = match de.next() {
            Some(Ok(r)) => r,
            other => panic!("the scanner read what serde_json does not: {text:?}: {other:?}"),
        };
        assert_eq!(end, de.byte_offset(), "{text:?}");
        assert_eq!(seen(&r), seen(&by_serde), "{text:?}");
        Some(seen(&r))
    }

    const RECORD: &str = r#"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole",
        "principalId":"AROAX:fn-1","arn":"arn:aws:sts::111122223333:assumed-role/r/fn-1",
        "accountId":"111122223333","accessKeyId":"ASIAX","sessionContext":{"attributes":
        {"creationDate":"2026-11-01T09:00:00Z","mfaAuthenticated":"false"},"sessionIssuer":
        {"type":"Role","principalId":"AROAX","arn":"arn:aws:iam::111122223333:role/r",
        "accountId":"111122223333","userName":"r"}},"invokedBy":"lambda.amazonaws.com"},
        "eventTime":"2026-11-01T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject",
        "awsRegion":"eu-west-1","sourceIPAddress":"10.0.0.1","userAgent":"aws-sdk-go/1.0",
        "errorCode":"AccessDenied","errorMessage":"no","eventID":"e-1","eventType":"AwsApiCall",
        "eventCategory":"Data","@timestamp":"2026-11-01T10:00:00Z","readOnly":true,
        "requestParameters":{"bucketName":"b","key":"k/1","Host":"b.s3.amazonaws.com",
        "size":[1,-2.5e3,0.5,true,false,null,{}],"bucketName":"later","n":12345678901234567890},
        "responseElements":{"x":[1,{"y":null}]},"additionalEventData":{"big":[1,2,3]},
        "resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::b/k/1","accountId":"1"},
        {"ARNPrefix":"arn:aws:s3:::b/","other":{}}],"recipientAccountId":"111122223333"}"#;

    #[test]
    fn reads_a_record_as_serde_json_does() {
        let text = agree(RECORD).expect("an ordinary record is read");
        for field in [
            "GetObject",
            "arn:aws:iam::111122223333:role/r",
            "lambda.amazonaws.com",
            "AccessDenied",
            "\"later\"",
            "arn:aws:s3:::b/",
        ] {
            assert!(text.contains(field), "{field}: {text}");
        }
        for text in [
            "{}",
            "{ }",
            r#"{"userIdentity":null,"requestParameters":null,"responseElements":null,"resources":null}"#,
            r#"{"userIdentity":{},"requestParameters":{},"resources":[]}"#,
            r#"{"userIdentity":{"sessionContext":null}}"#,
            r#"{"userIdentity":{"sessionContext":{"sessionIssuer":null}}}"#,
            "{\"eventName\":null,\"eventSource\":\"\",\"x\":\"é \u{1F600}\"}",
            "{\"eventName\" :\t\"a\" ,\r\n\"b\" : [ ] , \"c\" : { } }",
            r#"{"requestParameters":{"a":-0,"b":0.0,"c":1E+2,"d":1e-2,"e":[[[]]]}}"#,
        ] {
            assert!(agree(text).is_some(), "{text}");
        }
    }

    #[test]
    fn declines_what_it_does_not_read() {
        let deep = format!(
            r#"{{"additionalEventData":{}{}}}"#,
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        let deep_enough = format!(
            r#"{{"additionalEventData":{}{}}}"#,
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert!(agree(&deep_enough).is_some());
        for text in [
            // escapes and control characters, read or skipped, in names and values
            r#"{"eventName":"a\"b"}"#,
            r#"{"other":"a\\b"}"#,
            r#"{"event\u004eame":"a"}"#,
            "{\"eventName\":\"a\tb\"}",
            "{\"other\":[\"\u{1}\"]}",
            // a kept field twice; a kept field of another type
            r#"{"eventName":"a","eventName":"b"}"#,
            r#"{"userIdentity":{},"userIdentity":{}}"#,
            r#"{"resources":[{"ARN":"a","ARN":"b"}]}"#,
            r#"{"eventName":5}"#,
            r#"{"userIdentity":["AssumedRole"]}"#,
            r#"{"userIdentity":"x"}"#,
            r#"{"requestParameters":"x"}"#,
            r#"{"requestParameters":[1]}"#,
            r#"{"resources":{}}"#,
            r#"{"resources":[null]}"#,
            // not JSON
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":-}"#,
            r#"{"a":1e}"#,
            r#"{"a":tru}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{a:1}"#,
            r#"{"a":1"#,
            r#"{"a":"1"#,
            "[]",
            "",
            &deep,
        ] {
            for reader in [checked(text), Reader::new(text)] {
                let read = reader.record(0).map(|(r, _)| seen(&r));
                assert_eq!(read, None, "{text}");
            }
        }
    }

    #[test]
    fn reads_a_record_where_it_lies() {
        let text = format!(r#"{{"Records":[{RECORD},{{"eventName":"b"}}]}}"#);
        let at = text.find("{\"eventVersion").unwrap_or_default();
        let reader = Reader::new(&text);
        let (_, end) = reader.record(at).expect("read in place");
        assert_eq!(&text[end..end + 2], ",{");
        let (r, end) = reader.record(end + 1).expect("the next");
        assert_eq!(r.name(), "b");
        assert_eq!(&text[end..], "]}");
    }

    /// A string's end is found in an index of the text's `"` and `\` bytes, 64 bytes to a
    /// word, the last word part empty: strings of every length up to more than two words, from
    /// several places in a word, ending the text or not, with an escape or a control character
    /// at every place, read as serde_json reads them, or declined.
    #[test]
    fn finds_a_strings_end_at_every_place() {
        for pad in [0, 40, 49, 50] {
            let pad = " ".repeat(pad);
            for len in 0..140 {
                let plain = "a".repeat(len);
                for after in ["}", "}                                 "] {
                    let text = format!(r#"{{{pad}"eventName":"{plain}"{after}"#);
                    let read = agree(&text).expect("a plain string is read");
                    assert!(read.contains(&format!("{plain:?}")), "{text}");
                    for at in 0..len {
                        for odd in ["\\\"", "\\\\", "\\u0041", "\u{1}"] {
                            let s = format!("{}{odd}{}", &plain[..at], &plain[at..]);
                            let text = format!(r#"{{{pad}"eventName":"{s}","eventID":"x"{after}"#);
                            assert!(Reader::new(&text).record(0).is_none(), "{text}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn nesting_counts_containers_not_brackets_in_strings() {
        assert_eq!(nesting("1"), 0);
        assert_eq!(nesting("{}"), 1);
        assert_eq!(nesting(r#"{"a":[{"b":"[[[\"{{"}],"c":[]}"#), 3);
        assert_eq!(nesting(r#"["\\",[]]"#), 2);
        // not JSON (it is only asked of what serde_json read), but no panic either
        assert_eq!(nesting("[\"\\"), 1);
    }

    /// JSON values of every kind, names from the record's own fields among others.
    fn value() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            prop::sample::select(vec![
                "eventVersion",
                "eventTime",
                "@timestamp",
                "eventSource",
                "eventName",
                "awsRegion",
                "userAgent",
                "sourceIPAddress",
                "errorCode",
                "eventID",
                "recipientAccountId",
                "userIdentity",
                "type",
                "arn",
                "accountId",
                "sessionContext",
                "sessionIssuer",
                "requestParameters",
                "responseElements",
                "resources",
                "ARN",
                "ARNPrefix",
            ])
            .prop_map(str::to_string),
            "[a-z\\\\\"\u{1}é]{0,4}",
        ];
        let leaf = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,2})?([eE][+-]?[0-9]{1,3})?",
            "[a-z\\\\\"\t/é:]{0,6}".prop_map(|s| format!("\"{s}\"")),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec((name.clone(), inner), 0..6).prop_map(|m| {
                    let members: Vec<String> = m
                        .into_iter()
                        .map(|(k, v)| format!("\"{k}\" : {v}"))
                        .collect();
                    format!("{{ {} }}", members.join(","))
                }),
            ]
        })
    }

    proptest! {
        /// Whatever the scanner reads, serde_json reads alike (`agree` panics otherwise).
        #[test]
        fn never_reads_what_serde_json_reads_otherwise(v in value()) {
            let _ = agree(&v);
        }

        /// Nor when the ordinary record is cut or has a byte changed.
        #[test]
        fn nor_a_changed_record(at in 0..RECORD.len(), byte in any::<u8>(), cut in any::<bool>()) {
            let mut b = RECORD.as_bytes().to_vec();
            if cut {
                b.truncate(at);
            } else {
                b[at] = byte;
            }
            if let Ok(text) = std::str::from_utf8(&b) {
                let _ = agree(text);
            }
        }
    }
}
