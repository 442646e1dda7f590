//! Resource ARNs for a needed action: from `resources[]` when the record has them, else built
//! from `requestParameters` with the catalog's ARN format for the action's resource types.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Map, Value};
use smallvec::SmallVec;

use super::tables::Tables;
use crate::arn::partition_for_region;
use crate::catalog::{ActionDef, ArnFormat, Catalog, ResourceType, Service, Token};
use crate::record::{Params, Record};
use crate::wildcard::escape;

/// Most ARNs one placeholder combination may expand to (a `DeleteObjects` of 1,000 keys gives
/// 1,000; more than this is collapsed to a pattern).
const MAX_EXPANSION: usize = 1_000;

/// Tokens a format holds without allocating: the catalog's longest has 9 placeholders, 18
/// tokens (a test holds every format to this).
const INLINE_TOKENS: usize = 20;

/// A format's tokens, on the stack. The catalog's formats come split already
/// ([`ArnFormat::tokens`]); the resolver keeps them in its plans ([`FormatPlan`]).
fn tokens(format: &ArnFormat) -> SmallVec<[Token<'_>; INLINE_TOKENS]> {
    format.tokens().collect()
}

/// Does the concrete ARN fit the catalog's ARN format? A placeholder matches one or more
/// characters without `:`, except the last one, which may hold anything (object keys, paths,
/// qualifiers).
pub fn format_matches(format: &ArnFormat, arn: &str) -> bool {
    match_from(&tokens(format), arn)
}

fn match_from(toks: &[Token<'_>], s: &str) -> bool {
    match toks.split_first() {
        None => s.is_empty(),
        Some((Token::Lit(l), rest)) => s.strip_prefix(l).is_some_and(|r| match_from(rest, r)),
        Some((Token::Ph(_), [])) => !s.is_empty(),
        Some((Token::Ph(_), rest @ [Token::Lit(l), ..]))
            if let Some(&first) = l.as_bytes().first() =>
        {
            // The placeholder takes one or more characters before the first `:`, and the text
            // after it starts with the literal: only the places where the literal's first byte
            // is can end it (a UTF-8 string's first byte is never inside a character).
            let limit = memchr::memchr(b':', s.as_bytes()).unwrap_or(s.len());
            let hay = &s.as_bytes()[..(limit + 1).min(s.len())];
            memchr::memchr_iter(first, hay)
                .filter(|&end| end >= 1 && s.is_char_boundary(end))
                .any(|end| match_from(rest, &s[end..]))
        }
        Some((Token::Ph(_), rest)) => {
            // Try every split; formats are short so this stays cheap.
            for (i, c) in s.char_indices() {
                if c == ':' {
                    break;
                }
                let end = i + c.len_utf8();
                if match_from(rest, &s[end..]) {
                    return true;
                }
            }
            false
        }
    }
}

/// Are two type names the same, ignoring case and anything but letters and digits
/// (`AWS::S3::Object` → `Object` against the catalog's `object`)? Without allocating: this runs
/// for every record.
fn norm_eq(a: &str, b: &str) -> bool {
    fn key(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.bytes()
            .filter(u8::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
    }
    key(a).eq(key(b))
}

/// A transform's values, borrowed from the parameter's text where they are a part of it (one,
/// nearly always), and the (account, region) the text itself named.
type Values<'v> = (SmallVec<[Cow<'v, str>; 1]>, Option<(&'v str, &'v str)>);

/// The outcome for one action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    pub resources: Names,
    /// Placeholders that the record did not give, filled with `*` in the pattern.
    pub unresolved: Names,
}

/// Names in order, each once, as a `BTreeSet<String>` holds them, kept inline while there is
/// one: a call resolves to one resource nearly always, and a B-tree's node was an allocation
/// (and a free) every record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names(SmallVec<[String; 1]>);

impl Names {
    fn at(&self, s: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|x| x.as_str().cmp(s))
    }

    /// Adds `s` where it sorts; `false` when it is there already.
    pub fn insert(&mut self, s: String) -> bool {
        match self.at(&s) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, s);
                true
            }
        }
    }

    pub fn remove(&mut self, s: &str) -> bool {
        match self.at(s) {
            Ok(i) => {
                self.0.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    pub fn contains(&self, s: &str) -> bool {
        self.at(s).is_ok()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Extend<String> for Names {
    fn extend<I: IntoIterator<Item = String>>(&mut self, it: I) {
        for s in it {
            self.insert(s);
        }
    }
}

impl FromIterator<String> for Names {
    fn from_iter<I: IntoIterator<Item = String>>(it: I) -> Names {
        let mut n = Names::default();
        n.extend(it);
        n
    }
}

impl<'a> IntoIterator for &'a Names {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Names {
    type Item = String;
    type IntoIter = smallvec::IntoIter<[String; 1]>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

pub struct Resolver<'a> {
    pub catalog: &'static Catalog,
    pub tables: &'a Tables,
}

/// What resolving one action (with one binding role) takes from the catalog and the tables:
/// its resource types, their ARN formats split into tokens, and each placeholder's parameter
/// bindings. It depends on the action and the role only, so each thread makes it once per pair
/// ([`Resolver::plan`]) instead of looking every part up again for every record.
enum Plan {
    /// The action names no resource type: it is authorized against `*`.
    Star,
    /// Its service is not in the catalog.
    NoService,
    Types {
        service: &'static Service,
        /// The action's resource types that the service defines, in the action's order.
        types: Vec<TypePlan>,
        /// The parameters a transform of the service reads as ARNs itself
        /// ([`Tables::arn_params_of`]): not taken as ARNs as they are.
        reads_arns: Vec<String>,
    },
}

struct TypePlan {
    name: &'static str,
    required: bool,
    formats: Vec<FormatPlan>,
}

struct FormatPlan {
    format: &'static ArnFormat,
    tokens: SmallVec<[Token<'static>; INLINE_TOKENS]>,
    /// One per placeholder of `tokens`, in order.
    placeholders: Vec<Placeholder>,
}

struct Placeholder {
    name: &'static str,
    /// The parameters that give its value, each with its transform, in the order tried: the
    /// table's bindings, or else (for the default role) the parameter named as the
    /// placeholder, first letter lower-cased (`FunctionName` → `functionName`), read as it is.
    bindings: Vec<(String, String)>,
}

/// Action and role pairs a thread remembers (like the mapper's own memo of call kinds); past
/// this, plans are made per record, so the memo stays small whatever the input.
const MAX_RESOLVE_PLANS: usize = 4096;

/// Plans by the action's address in the embedded catalog (which lives as long as the process)
/// and the binding role.
type Plans = hashbrown::HashMap<(usize, Box<str>), Rc<Plan>>;

thread_local! {
    static PLANS: RefCell<Plans> = RefCell::new(Plans::new());
}

/// An `(usize, Box<str>)` key looked up with a borrowed role.
#[derive(Hash)]
struct PlanKey<'a>(usize, &'a str);

impl hashbrown::Equivalent<(usize, Box<str>)> for PlanKey<'_> {
    fn equivalent(&self, key: &(usize, Box<str>)) -> bool {
        self.0 == key.0 && self.1 == &*key.1
    }
}

struct RecordCtx<'r> {
    region: &'r str,
    account: &'r str,
    partition: &'static str,
}

impl Resolver<'_> {
    /// The resources `action` needed in `rec`. `role` selects a second resource of the call
    /// (e.g. `copy-source`); `-` is the default.
    pub fn resolve(
        &self,
        action: &'static ActionDef,
        role: &str,
        rec: &Record<'_>,
        params: Option<&Params<'_>>,
    ) -> Resolved {
        self.resolve_inner(action, role, rec, params, true)
    }

    /// As [`Resolver::resolve`], from `params` alone: for one part of a call (one item of a
    /// transaction), where the record's `resources[]` name every part at once.
    pub fn resolve_part(
        &self,
        action: &'static ActionDef,
        rec: &Record<'_>,
        params: &Map<String, Value>,
    ) -> Resolved {
        self.resolve_inner(action, "-", rec, Some(&Params::of_map(params)), false)
    }

    /// The plan for `action` with `role`: from this thread's memo, or made and remembered.
    fn plan(&self, action: &'static ActionDef, role: &str) -> Rc<Plan> {
        let key = PlanKey(std::ptr::from_ref(action) as usize, role);
        PLANS.with(|memo| {
            if let Some(plan) = memo.borrow().get(&key) {
                return Rc::clone(plan);
            }
            let plan = Rc::new(self.make_plan(action, role));
            let mut memo = memo.borrow_mut();
            if memo.len() < MAX_RESOLVE_PLANS {
                memo.insert((key.0, role.into()), Rc::clone(&plan));
            }
            plan
        })
    }

    fn make_plan(&self, action: &'static ActionDef, role: &str) -> Plan {
        if action.resources.is_empty() {
            return Plan::Star;
        }
        let Some(service) = self.catalog.service(&action.prefix) else {
            return Plan::NoService;
        };
        let placeholder = |name: &'static str| {
            let rows = self.tables.bindings(&action.prefix, name, role);
            let mut bindings: Vec<(String, String)> = rows
                .iter()
                .map(|b| (b.param.clone(), b.transform.clone()))
                .collect();
            if rows.is_empty() && role == "-" {
                let mut buf = [0u8; 64];
                bindings.push((lower_first(name, &mut buf).into_owned(), "-".to_string()));
            }
            Placeholder { name, bindings }
        };
        let format_plan = |format: &'static ArnFormat| {
            let tokens = tokens(format);
            let placeholders = tokens
                .iter()
                .filter_map(|t| match t {
                    Token::Ph(ph) => Some(placeholder(ph)),
                    Token::Lit(_) => None,
                })
                .collect();
            FormatPlan {
                format,
                tokens,
                placeholders,
            }
        };
        let types = action
            .resources
            .iter()
            .filter_map(|ar| {
                let rt: &'static ResourceType = service.resources().get(&ar.name)?;
                Some(TypePlan {
                    name: ar.name.as_str(),
                    required: ar.required,
                    formats: rt.arn_formats.iter().map(format_plan).collect(),
                })
            })
            .collect();
        let reads_arns = self.tables.arn_params_of(&action.prefix).cloned().collect();
        Plan::Types {
            service,
            types,
            reads_arns,
        }
    }

    fn resolve_inner(
        &self,
        action: &'static ActionDef,
        role: &str,
        rec: &Record<'_>,
        params: Option<&Params<'_>>,
        from_record: bool,
    ) -> Resolved {
        let mut out = Resolved::default();
        let plan = self.plan(action, role);
        let (service, types, reads_arns) = match &*plan {
            Plan::Star => {
                out.resources.insert("*".to_string());
                return out;
            }
            Plan::NoService => {
                out.resources.insert("*".to_string());
                out.unresolved.insert("resource type".to_string());
                return out;
            }
            Plan::Types {
                service,
                types,
                reads_arns,
            } => (service, types, reads_arns),
        };
        let rc = RecordCtx {
            region: rec.region(),
            account: rec.account(),
            partition: partition_for_region(rec.region()),
        };
        // ARN-valued parameters (`topicArn`, `roleArn`, `functionName` given as an ARN, …),
        // except those a transform reads itself (a partial secret ARN); gathered once for all
        // the formats below, borrowed (most calls have none)
        let arn_params: SmallVec<[&str; 2]> = if role == "-" && from_record {
            params
                .into_iter()
                .flat_map(Params::maybe_arns)
                .filter(|(k, _)| !reads_arns.iter().any(|r| r == k))
                .flat_map(|(_, v)| scalars(v))
                .filter_map(|s| match s {
                    Cow::Borrowed(s) if s.starts_with("arn:") => Some(s),
                    _ => None,
                })
                .collect()
        } else {
            SmallVec::new()
        };
        let mut found = Names::default();
        // the types a resource was found for (a few names, on the stack)
        let mut covered: SmallVec<[&str; 4]> = SmallVec::new();
        // is a type the record names (`AWS::S3::Object` → `Object`) one of the service's?
        let known_type = |t: &str| service.resources().keys().any(|k| norm_eq(k, t));
        for tp in types {
            let mut hit = false;
            for fp in &tp.formats {
                // An ARN the record gives beats one rebuilt from names.
                let mut by_arn = false;
                if role == "-" && from_record {
                    for entry in rec.resources.iter().flatten() {
                        let Some(arn) = entry.arn.as_deref() else {
                            continue;
                        };
                        // a type of this service other than this one rules the entry out (the
                        // type's own name first: it is the common case, and it is known)
                        let type_ok = match entry.kind.as_deref().map(last_type_part) {
                            Some(t) => norm_eq(t, tp.name) || !known_type(t),
                            None => true,
                        };
                        if type_ok && match_from(&fp.tokens, arn) {
                            found.insert(escape(arn).into_owned());
                            by_arn = true;
                        }
                    }
                    for s in &arn_params {
                        if match_from(&fp.tokens, s) {
                            found.insert(escape(s).into_owned());
                            by_arn = true;
                        }
                    }
                }
                hit |= by_arn;
                if by_arn {
                    // The request may name a narrower resource than the ARN the record gives:
                    // a qualified invoke is authorized on `function:NAME:QUALIFIER`, which
                    // `function:NAME` does not cover. Keep the refinements.
                    if let Some(arns) = fill(fp, &rc, params) {
                        let refined: Vec<String> = arns
                            .into_iter()
                            .filter(|a| found.iter().any(|b| refines(a, b)))
                            .collect();
                        found.extend(refined);
                    }
                    continue;
                }
                if let Some(arns) = fill(fp, &rc, params) {
                    hit |= !arns.is_empty();
                    found.extend(arns);
                }
            }
            if hit {
                covered.push(tp.name);
            }
        }
        // A more specific ARN of the same call (an index of the table, an object of the bucket)
        // supersedes the less specific one.
        if found.len() > 1 {
            let superseded: Vec<String> = found
                .iter()
                .filter(|a| found.iter().any(|b| refines(b, a)))
                .cloned()
                .collect();
            for a in &superseded {
                found.remove(a);
            }
        }
        out.resources = found;
        // Required types the record did not show: the narrowest honest pattern for each,
        // flagged.
        for tp in types
            .iter()
            .filter(|t| t.required && !covered.contains(&t.name))
        {
            for fp in &tp.formats {
                let (pattern, missing, _) = pattern(fp, &rc, params);
                out.resources.insert(pattern);
                out.unresolved.extend(missing);
            }
        }
        if out.resources.is_empty() {
            // Only optional types, none fully given. Those the request partly names (the
            // bucket of an object) become patterns; when it names none, the call was not on
            // any of them and IAM authorizes it against `*`.
            for tp in types {
                for fp in &tp.formats {
                    let (pattern, missing, named) = pattern(fp, &rc, params);
                    if named {
                        out.resources.insert(pattern);
                        out.unresolved.extend(missing);
                    }
                }
            }
            if out.resources.is_empty() {
                out.resources.insert("*".to_string());
            }
        }
        out
    }
}

/// A placeholder's values, borrowed from the parameters when they need no escape (one, nearly
/// always), and the (account, region) a value itself named.
type PhValues<'p> = (
    SmallVec<[Cow<'p, str>; 1]>,
    Option<(Cow<'p, str>, Cow<'p, str>)>,
);

/// Values for one placeholder, with the account/region a transform may also give.
fn values<'p>(ph: &Placeholder, params: Option<&'p Params<'_>>) -> Option<PhValues<'p>> {
    let params = params?;
    for (param, transform_name) in &ph.bindings {
        let (param, transform_name) = (param.as_str(), transform_name.as_str());
        let inputs: SmallVec<[Cow<'p, str>; 2]> = if let Some(s) = params.get_str(param) {
            // a string (most parameters): its text, borrowed
            if s.is_empty() {
                continue;
            }
            // read as it is (most placeholders): the value, escaped
            if transform_name == "-" {
                return Some((smallvec::smallvec![escape(s)], None));
            }
            smallvec::smallvec![Cow::Borrowed(s)]
        } else {
            let Some(v) = params.get(param) else {
                continue;
            };
            match (transform_name, v) {
                ("object-keys", Value::Object(m)) => {
                    m.keys().map(|k| Cow::Borrowed(k.as_str())).collect()
                }
                _ => scalars(v).collect(),
            }
        };
        let mut out = SmallVec::new();
        let mut acct_region = None;
        for s in &inputs {
            if s.is_empty() {
                continue;
            }
            // what a transform gives borrows the parameter's text; a number's text is made here
            let got: Option<PhValues<'p>> = match s {
                Cow::Borrowed(b) => transform(transform_name, b).map(|(vals, ar)| {
                    (vals, ar.map(|(a, r)| (Cow::Borrowed(a), Cow::Borrowed(r))))
                }),
                Cow::Owned(o) => transform(transform_name, o).map(|(vals, ar)| {
                    (
                        vals.into_iter()
                            .map(|v| Cow::Owned(v.into_owned()))
                            .collect(),
                        ar.map(|(a, r)| (Cow::Owned(a.to_string()), Cow::Owned(r.to_string()))),
                    )
                }),
            };
            if let Some((vals, ar)) = got {
                for val in vals {
                    // Lambda authorizes a qualified call against the qualified ARN.
                    if transform_name == "lambda-name"
                        && !val.contains(':')
                        && let Some(q) = params.get_str("qualifier").filter(|q| !q.is_empty())
                    {
                        out.push(Cow::Owned(format!("{val}:{}", escape(q))));
                    } else {
                        out.push(val);
                    }
                }
                if ar.is_some() {
                    acct_region = ar;
                }
            }
        }
        if !out.is_empty() {
            return Some((out, acct_region));
        }
    }
    None
}

fn fill(
    fp: &FormatPlan,
    rc: &RecordCtx<'_>,
    params: Option<&Params<'_>>,
) -> Option<SmallVec<[String; 1]>> {
    let toks = &fp.tokens;
    let format = fp.format;
    let mut region = Cow::Borrowed(rc.region);
    let mut account = Cow::Borrowed(rc.account);
    // each named placeholder's values; partition, region and account are filled below,
    // once a value may have named the account and region
    let mut per_ph: SmallVec<[SmallVec<[Cow<'_, str>; 1]>; 4]> = SmallVec::new();
    for ph in &fp.placeholders {
        if matches!(ph.name, "Partition" | "Region" | "Account") {
            per_ph.push(SmallVec::new());
            continue;
        }
        let (vals, ar) = values(ph, params)?;
        if let Some((a, r)) = ar {
            account = a;
            region = r;
        }
        per_ph.push(vals);
    }
    let mut results: SmallVec<[String; 1]> =
        smallvec::smallvec![String::with_capacity(format.len() + 64)];
    let mut i = 0;
    for t in toks {
        match t {
            Token::Lit(l) => results.iter_mut().for_each(|r| r.push_str(l)),
            Token::Ph(ph) => {
                let fixed = match *ph {
                    "Partition" => Some(Cow::Borrowed(rc.partition)),
                    "Region" => Some(escape(&region)),
                    "Account" => Some(escape(&account)),
                    _ => None,
                };
                if let Some(v) = fixed {
                    if v.is_empty() {
                        return None;
                    }
                    results.iter_mut().for_each(|r| r.push_str(&v));
                    i += 1;
                    continue;
                }
                let vals: &[Cow<'_, str>] = &per_ph[i];
                if vals.iter().any(|v| v.is_empty()) {
                    return None;
                }
                if results.len() * vals.len() > MAX_EXPANSION {
                    return None;
                }
                // one value (nearly every call) extends each string in place
                results = match vals {
                    [v] => {
                        results.iter_mut().for_each(|r| r.push_str(v));
                        results
                    }
                    _ => results
                        .iter()
                        .flat_map(|r| vals.iter().map(move |v| format!("{r}{v}")))
                        .collect(),
                };
                i += 1;
            }
        }
    }
    Some(results)
}

/// The format filled with what the record gives and `*` for the rest; also whether the
/// request itself named any part (beyond partition, region and account).
fn pattern(
    fp: &FormatPlan,
    rc: &RecordCtx<'_>,
    params: Option<&Params<'_>>,
) -> (String, Vec<String>, bool) {
    let mut s = String::new();
    let mut missing = Vec::new();
    let mut named = false;
    let mut phs = fp.placeholders.iter();
    for &t in &fp.tokens {
        let ph = match t {
            Token::Ph(_) => phs.next(),
            Token::Lit(_) => None,
        };
        match t {
            Token::Lit(l) => s.push_str(l),
            Token::Ph("Partition") => s.push_str(rc.partition),
            Token::Ph("Region") if !rc.region.is_empty() => s.push_str(&escape(rc.region)),
            Token::Ph("Account") if !rc.account.is_empty() => s.push_str(&escape(rc.account)),
            Token::Ph(name) => match ph.and_then(|ph| values(ph, params)) {
                Some((v, _)) if v.len() == 1 => {
                    s.push_str(&v[0]);
                    named = true;
                }
                _ => {
                    s.push('*');
                    missing.push(format!("${{{name}}}"));
                }
            },
        }
    }
    (s, missing, named)
}

/// Is `a` a resource within `b` (`function:f:live` within `function:f`, `b/k` within `b`)?
fn refines(a: &str, b: &str) -> bool {
    a.len() > b.len() && a.starts_with(b) && matches!(a.as_bytes()[b.len()], b':' | b'/')
}

/// Does a secret name end in the `-` and 6 characters Secrets Manager adds to its ARN? A partial
/// ARN (without them) names the secret `NAME-??????` (Secrets Manager user guide, ARN format;
/// a name that itself ends so is indistinguishable from a full ARN, as AWS warns).
fn has_secret_suffix(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() > 7 && b[b.len() - 7] == b'-' && b[b.len() - 6..].iter().all(u8::is_ascii_alphanumeric)
}

/// The part of a CloudFormation-style type after its last `::` (`AWS::S3::Object` → `Object`),
/// the whole of it when it has none.
fn last_type_part(t: &str) -> &str {
    match t.as_bytes().windows(2).rposition(|w| w == b"::") {
        Some(i) => &t[i + 2..],
        None => t,
    }
}

/// `name` with its first letter lower-cased when it is an ASCII capital: in `buf` when it is
/// short (the catalog's placeholders all are), on the heap otherwise.
fn lower_first<'b>(name: &'b str, buf: &'b mut [u8; 64]) -> Cow<'b, str> {
    let [first, rest @ ..] = name.as_bytes() else {
        return Cow::Borrowed(name);
    };
    if !first.is_ascii_uppercase() {
        return Cow::Borrowed(name);
    }
    let lower = first.to_ascii_lowercase();
    if let Some(b) = buf.get_mut(..=rest.len()) {
        b[0] = lower;
        b[1..].copy_from_slice(rest);
        // an ASCII letter for an ASCII letter keeps the text UTF-8
        if let Ok(l) = std::str::from_utf8(b) {
            return Cow::Borrowed(l);
        }
    }
    Cow::Owned(format!("{}{}", char::from(lower), &name[1..]))
}

/// The scalar values in a parameter value, as text: itself, or the elements of an array
/// (`versionNumber: 3` counts as `3`).
fn scalars(v: &Value) -> impl Iterator<Item = Cow<'_, str>> {
    let items: &[Value] = match v {
        Value::Array(a) => a,
        other => std::slice::from_ref(other),
    };
    items.iter().filter_map(|v| match v {
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    })
}

/// Applies a named transform; the second value is an (account, region) the value itself names.
/// What comes from the log is escaped ([`escape`]): an object named `*` is that object, not
/// a wildcard. Only the patterns a transform adds itself (a secret's `-??????` suffix, a role's
/// `*/` path) are wildcards.
fn transform<'v>(name: &str, v: &'v str) -> Option<Values<'v>> {
    match name {
        "secret-name" => match v.strip_prefix("arn:") {
            // arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME
            Some(rest) => {
                let mut parts = rest.splitn(6, ':');
                let (_, _, region, account) =
                    (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
                let ("secret", name) = (parts.next()?, parts.next()?) else {
                    return None;
                };
                let name = if has_secret_suffix(name) {
                    escape(name)
                } else {
                    Cow::Owned(format!("{}-??????", escape(name)))
                };
                Some((smallvec::smallvec![name], Some((account, region))))
            }
            None => Some((
                smallvec::smallvec![Cow::Owned(format!("{}-??????", escape(v)))],
                None,
            )),
        },
        "iam-any-path" => {
            let name = escape(v.rsplit('/').next()?);
            let any_path = Cow::Owned(format!("*/{name}"));
            Some((smallvec::smallvec![name, any_path], None))
        }
        _ => {
            let (vals, ar) = transform_raw(name, v)?;
            let vals = vals
                .into_iter()
                .map(|s| match s {
                    Cow::Borrowed(b) => escape(b),
                    Cow::Owned(o) => Cow::Owned(escape(&o).into_owned()),
                })
                .collect();
            Some((vals, ar))
        }
    }
}

/// The transforms on the log's text as it is, before [`transform`] escapes the result.
fn transform_raw<'v>(name: &str, v: &'v str) -> Option<Values<'v>> {
    let one = |s: &'v str| Some((smallvec::smallvec![Cow::Borrowed(s)], None));
    match name {
        "-" | "object-keys" => one(v),
        "strip-leading-slash" => one(v.trim_start_matches('/')),
        "strip-alias-prefix" => one(v.strip_prefix("alias/").unwrap_or(v)),
        "arn-last" => one(v.rsplit([':', '/']).next()?),
        "kms-key" => {
            if v.starts_with("alias/") || v.contains(":alias/") {
                None
            } else {
                one(v.rsplit(":key/").next()?)
            }
        }
        "copy-source-bucket" | "copy-source-key" => {
            let part = |decoded: &str| -> Option<(usize, usize)> {
                let path = decoded.split('?').next()?;
                let start = path.len() - path.trim_start_matches('/').len();
                let slash = start + path[start..].find('/')?;
                Some(if name == "copy-source-bucket" {
                    (start, slash)
                } else {
                    (slash + 1, path.len())
                })
            };
            match percent_decode(v) {
                Cow::Borrowed(d) => {
                    let (a, b) = part(d)?;
                    one(&d[a..b])
                }
                Cow::Owned(d) => {
                    let (a, b) = part(&d)?;
                    Some((smallvec::smallvec![Cow::Owned(d[a..b].to_string())], None))
                }
            }
        }
        "sqs-queue-url" => {
            // https://sqs.REGION.amazonaws.com/ACCOUNT/NAME (or the legacy REGION.queue.amazonaws.com)
            let rest = v.split_once("://").map_or(v, |(_, r)| r);
            let mut parts = rest.split('/');
            let host = parts.next()?;
            let account = parts.next()?;
            let queue = parts.next()?;
            let region = host
                .strip_prefix("sqs.")
                .and_then(|h| h.split('.').next())
                .or_else(|| host.split('.').next())?;
            Some((
                smallvec::smallvec![Cow::Borrowed(queue)],
                Some((account, region)),
            ))
        }
        "lambda-name" => {
            // name | name:qualifier | ACCOUNT:function:name[:qualifier] | full ARN (matched earlier)
            if let Some(i) = v.find(":function:") {
                one(&v[i + ":function:".len()..])
            } else {
                one(v.strip_prefix("function:").unwrap_or(v))
            }
        }
        "ses-identity" => {
            // `Display Name <user@example.com>` or a bare address
            let addr = match (v.rfind('<'), v.rfind('>')) {
                (Some(a), Some(b)) if a < b => &v[a + 1..b],
                _ => v,
            }
            .trim();
            let mut out: SmallVec<[Cow<'v, str>; 1]> = smallvec::smallvec![Cow::Borrowed(addr)];
            if let Some((_, domain)) = addr.rsplit_once('@') {
                out.push(Cow::Borrowed(domain));
            }
            Some((out, None))
        }
        "iam-any-path" => {
            let name = v.rsplit('/').next()?;
            Some((
                smallvec::smallvec![Cow::Borrowed(name), Cow::Owned(format!("*/{name}"))],
                None,
            ))
        }
        _ => None,
    }
}

fn percent_decode(s: &str) -> Cow<'_, str> {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::format_tokens;

    /// [`match_from`] as it was: every split of a placeholder tried.
    fn match_every_split(toks: &[Token<'_>], s: &str) -> bool {
        match toks.split_first() {
            None => s.is_empty(),
            Some((Token::Lit(l), rest)) => s
                .strip_prefix(l)
                .is_some_and(|r| match_every_split(rest, r)),
            Some((Token::Ph(_), [])) => !s.is_empty(),
            Some((Token::Ph(_), rest)) => s
                .char_indices()
                .take_while(|&(_, c)| c != ':')
                .any(|(i, c)| match_every_split(rest, &s[i + c.len_utf8()..])),
        }
    }

    proptest::proptest! {
        /// Jumping to the next literal's first byte decides as trying every split does, for
        /// any format and text (colons, repeated literals, non-ASCII, adjacent placeholders).
        #[test]
        fn a_format_matches_as_every_split_would(
            format in "(arn|:|/|a|é|\\$\\{[A-Z]\\}){0,8}",
            text in "[arn:/é]{0,16}",
        ) {
            let toks: Vec<Token<'_>> = format_tokens(&format).collect();
            proptest::prop_assert_eq!(
                match_from(&toks, &text),
                match_every_split(&toks, &text),
                "{} {}", format, text
            );
        }
    }

    /// Every ARN format of the catalog is tokenized without allocating.
    #[test]
    fn every_catalog_format_fits_its_tokens_inline() {
        let c = Catalog::embedded();
        for f in c.arn_formats() {
            assert!(!tokens(f).spilled(), "{f}");
        }
        assert!(c.arn_formats().count() > 1000);
    }

    #[test]
    fn formats_match_concrete_arns() {
        let format_matches = |f: &str, arn: &str| format_matches(&ArnFormat::new(f.into()), arn);
        let obj = "arn:${Partition}:s3:::${BucketName}/${ObjectName}";
        assert!(format_matches(obj, "arn:aws:s3:::b/k/with:colon"));
        assert!(!format_matches(obj, "arn:aws:s3:::b"));
        let idx =
            "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}/index/${IndexName}";
        assert!(format_matches(
            idx,
            "arn:aws:dynamodb:eu-west-1:111122223333:table/T/index/I"
        ));
        assert!(!format_matches(
            idx,
            "arn:aws:dynamodb:eu-west-1:111122223333:table/T"
        ));
        let stream = "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}";
        assert!(format_matches(
            stream,
            "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f:log-stream:2026/11/01/[$LATEST]abc"
        ));
    }

    #[test]
    fn lower_first_lowers_an_ascii_capital_whatever_the_length() {
        let mut buf = [0u8; 64];
        assert_eq!(lower_first("FunctionName", &mut buf), "functionName");
        assert_eq!(lower_first("bucketName", &mut buf), "bucketName");
        assert_eq!(lower_first("Éclair", &mut buf), "Éclair");
        assert_eq!(lower_first("", &mut buf), "");
        let long = format!("L{}", "x".repeat(100));
        assert_eq!(
            lower_first(&long, &mut buf),
            format!("l{}", "x".repeat(100))
        );
    }

    #[test]
    fn last_type_part_is_what_follows_the_last_double_colon() {
        for t in [
            "AWS::S3::Object",
            "Object",
            "AWS::",
            "a:::b",
            "::",
            "",
            "AWS::Ünï::Tÿpe",
        ] {
            assert_eq!(last_type_part(t), t.rsplit("::").next().unwrap_or(t), "{t}");
        }
    }

    #[test]
    fn transforms() {
        let q = transform(
            "sqs-queue-url",
            "https://sqs.eu-west-1.amazonaws.com/444455556666/jobs",
        );
        assert_eq!(
            q.map(|(v, ar)| (v.to_vec(), ar)),
            Some((
                vec![Cow::Borrowed("jobs")],
                Some(("444455556666", "eu-west-1"))
            ))
        );
        let t = |n, v| {
            transform(n, v)
                .map(|t| t.0.iter().map(|c| c.to_string()).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        assert_eq!(
            t("ses-identity", "Shop <orders@shop.example>"),
            ["orders@shop.example", "shop.example"]
        );
        assert_eq!(t("iam-any-path", "deploy"), ["deploy", "*/deploy"]);
        assert_eq!(t("kms-key", "arn:aws:kms:eu-west-1:1:key/abc"), ["abc"]);
        assert!(transform("kms-key", "alias/app").is_none());
        assert_eq!(t("secret-name", "prod/db"), ["prod/db-??????"]);
        assert_eq!(
            t(
                "secret-name",
                "arn:aws:secretsmanager:eu-west-1:1:secret:prod/db"
            ),
            ["prod/db-??????"]
        );
        assert_eq!(
            t(
                "secret-name",
                "arn:aws:secretsmanager:eu-west-1:1:secret:prod/db-AbC123"
            ),
            ["prod/db-AbC123"]
        );
        assert_eq!(
            t("copy-source-key", "/src-b/a%20b.txt?versionId=1"),
            ["a b.txt"]
        );
        assert_eq!(t("copy-source-bucket", "src-b/a.txt"), ["src-b"]);
        assert_eq!(t("lambda-name", "111122223333:function:f:prod"), ["f:prod"]);
        assert_eq!(t("strip-leading-slash", "/app/db"), ["app/db"]);
    }

    /// What a transform gives from the log's text is escaped whether it is a slice of that text
    /// or made anew (a percent-decoded copy source): `*`, `?` and `${` stay literal, and a
    /// multibyte name, a newline, `<!--` or `../` come through as they are, never as a wildcard.
    #[test]
    fn hostile_values_come_out_of_transforms_escaped() {
        let t = |n, v| {
            transform(n, v)
                .map(|t| t.0.iter().map(|c| c.to_string()).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        assert_eq!(t("lambda-name", "f*"), ["f${*}"]);
        assert_eq!(
            t("arn-last", "arn:aws:sns:eu-west-1:1:t?${x}"),
            ["t${?}${$}{x}"]
        );
        assert_eq!(
            t("sqs-queue-url", "https://sqs.eu-west-1.amazonaws.com/1/q*"),
            ["q${*}"]
        );
        // borrowed, and decoded (`%2A` is `*`, `%0A` a newline)
        assert_eq!(t("copy-source-key", "b/../k*ü<!--"), ["../k${*}ü<!--"]);
        assert_eq!(t("copy-source-key", "b/k%2A%0A${x}"), ["k${*}\n${$}{x}"]);
        assert_eq!(t("copy-source-bucket", "b%2A/k"), ["b${*}"]);
        assert_eq!(t("secret-name", "db*"), ["db${*}-??????"]);
        assert_eq!(t("iam-any-path", "/p/r*"), ["r${*}", "*/r${*}"]);
        assert_eq!(t("ses-identity", "x <a*@d?>"), ["a${*}@d${?}", "d${?}"]);
    }
}
