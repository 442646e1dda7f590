//! Infrastructure-as-code renderers of the proposed policies: Terraform, CloudFormation (and
//! SAM), serverless.yml.
//!
//! Every string in these outputs may come from the log (S3 keys, table and function names, role
//! and user names), so each format has its own escaper, next to its renderer: HCL strings
//! ([`hcl_str`]) and comments ([`comment_text`]), YAML scalars ([`yaml_scalar`]), Serverless
//! variables (`${…}`, split by `Fn::Join`) and CloudFormation dynamic references
//! (`{{resolve:…}}`, refused). The policies attached to one role (or user) are counted against
//! IAM's inline limit together; over it they become managed policies, or the output fails.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
use serde_yaml_ng::{Mapping, Value};

use super::PrincipalOut;
use crate::identity::PrincipalKind;
use crate::policy::{Matcher, PolicyDocument, Statement};
use crate::synth::{
    INLINE_AGGREGATE_LIMIT, MANAGED_LIMIT, MANAGED_PER_ROLE, USER_INLINE_AGGREGATE_LIMIT,
};

/// Why an IaC output cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IacError {
    #[error(
        "cannot write {format}: {owner} has the value `{value}`, which {format} would read as {what}"
    )]
    Unsafe {
        format: &'static str,
        /// `function `name``, or `the template`.
        owner: String,
        value: String,
        what: &'static str,
    },
    #[error(
        "cannot write {format}: the policies of {target} `{name}` need {size} characters, over the {limit}-character limit of a {target}'s inline policies, and {managed} managed policies of at most {managed_limit}, over the {per_role} a {target} can have"
    )]
    TooLarge {
        format: &'static str,
        target: &'static str,
        name: String,
        size: usize,
        limit: usize,
        managed: usize,
        managed_limit: usize,
        per_role: usize,
    },
    #[error(
        "cannot write {format}: the statements of {target} `{name}` do not fit managed policies of {managed_limit} characters"
    )]
    Unsplittable {
        format: &'static str,
        target: &'static str,
        name: String,
        managed_limit: usize,
    },
    #[error(
        "cannot write serverless: there is a function `{name}` in account `{first}` and one in account `{second}`, and serverless.yml names functions by name alone"
    )]
    SameName {
        name: String,
        first: String,
        second: String,
    },
    #[error(
        "cannot write serverless: function `{name}` needs {size} characters in one inline policy, over the {limit}-character limit of a role's inline policies"
    )]
    FunctionTooLarge {
        name: String,
        size: usize,
        limit: usize,
    },
}

/// A value as shown in a message: control and line-break characters escaped.
fn shown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_hidden(c) {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters that break a line or are invisible controls somewhere: C0, DEL, C1, the Unicode
/// line and paragraph separators, and the byte-order mark.
fn is_hidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// Text for a `#` comment (HCL or YAML): one line, whatever the log held.
fn comment_text(s: &str) -> String {
    shown(s)
}

// ---------- where policies attach ----------

/// A role or a user that policies attach to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Target {
    account: String,
    user: bool,
    name: String,
}

impl Target {
    fn noun(&self) -> &'static str {
        if self.user { "user" } else { "role" }
    }

    /// IAM's limit on all of the target's inline policies together.
    fn inline_limit(&self) -> usize {
        if self.user {
            USER_INLINE_AGGREGATE_LIMIT
        } else {
            INLINE_AGGREGATE_LIMIT
        }
    }
}

/// Where a principal's policy attaches: its role (functions and roles), itself (users), or
/// nowhere.
fn target_of(p: &PrincipalOut) -> Option<Target> {
    let (user, name) = match p.kind {
        PrincipalKind::Function | PrincipalKind::Role => (
            false,
            p.role_arn
                .as_deref()
                .map(|r| crate::identity::role_name(r).to_string())
                .unwrap_or_else(|| p.name.clone()),
        ),
        PrincipalKind::User => (true, p.name.clone()),
        _ => return None,
    };
    Some(Target {
        account: p.account.clone(),
        user,
        name,
    })
}

fn documents(p: &PrincipalOut) -> Vec<&PolicyDocument> {
    if p.policies.is_empty() {
        p.policy.iter().collect()
    } else {
        p.policies.iter().collect()
    }
}

/// The targets whose inline policies together exceed IAM's limit, with the managed policies
/// that replace them.
fn over_inline_limit(
    principals: &[PrincipalOut],
    format: &'static str,
) -> Result<BTreeMap<Target, Vec<PolicyDocument>>, IacError> {
    let mut by_target: BTreeMap<Target, Vec<&PolicyDocument>> = BTreeMap::new();
    for p in principals {
        if let Some(t) = target_of(p) {
            by_target.entry(t).or_default().extend(documents(p));
        }
    }
    let mut out = BTreeMap::new();
    for (t, docs) in by_target {
        let size: usize = docs.iter().map(|d| d.iam_size()).sum();
        if size <= t.inline_limit() {
            continue;
        }
        let packed = pack(&docs).ok_or_else(|| IacError::Unsplittable {
            format,
            target: t.noun(),
            name: t.name.clone(),
            managed_limit: MANAGED_LIMIT,
        })?;
        if packed.len() > MANAGED_PER_ROLE {
            return Err(IacError::TooLarge {
                format,
                target: t.noun(),
                name: t.name.clone(),
                size,
                limit: t.inline_limit(),
                managed: packed.len(),
                managed_limit: MANAGED_LIMIT,
                per_role: MANAGED_PER_ROLE,
            });
        }
        out.insert(t, packed);
    }
    Ok(out)
}

/// All the statements of one target's documents, their Sids made unique, packed into managed
/// policies of at most [`MANAGED_LIMIT`] characters each. `None` when a piece does not fit.
fn pack(docs: &[&PolicyDocument]) -> Option<Vec<PolicyDocument>> {
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut statements: Vec<Statement> = Vec::new();
    for d in docs {
        for s in &d.statements {
            let mut s = s.clone();
            if let Some(sid) = &s.sid
                && !used.insert(sid.clone())
            {
                let mut k = 2;
                while !used.insert(format!("{sid}{k}")) {
                    k += 1;
                }
                s.sid = Some(format!("{sid}{k}"));
            }
            statements.push(s);
        }
    }
    let all = PolicyDocument {
        statements,
        ..PolicyDocument::default()
    };
    let parts = crate::synth::split(&all, MANAGED_LIMIT)?;
    // A statement cut by `split` gets numbered Sids; check again, never emit a bad document.
    let fits = parts.iter().all(|d| {
        let mut sids = BTreeSet::new();
        d.iam_size() <= MANAGED_LIMIT
            && d.statements
                .iter()
                .filter_map(|s| s.sid.as_deref())
                .all(|s| sids.insert(s))
    });
    fits.then_some(parts)
}

/// Hands out identifiers, never the same one twice: a taken one gets `2`, `3`, … appended
/// (after `sep`).
#[derive(Default)]
struct Unique(BTreeSet<String>);

impl Unique {
    fn take(&mut self, base: String, sep: &str) -> String {
        if self.0.insert(base.clone()) {
            return base;
        }
        let mut k = 2;
        loop {
            let candidate = format!("{base}{sep}{k}");
            if self.0.insert(candidate.clone()) {
                return candidate;
            }
            k += 1;
        }
    }
}

// ---------- Terraform ----------

/// `orders-api` → `orders_api`: a Terraform identifier (letters, digits, `_`; not starting
/// with a digit, never empty).
fn tf_ident(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

/// A quoted HCL string. Only the escapes HCL knows (`\n`, `\r`, `\t`, `\"`, `\\`, `\uNNNN`;
/// JSON's `\b`, `\f` and `\/` are errors in HCL), every other control or line-break character
/// as `\uNNNN`, and `${` and `%{` doubled so Terraform does not interpolate them.
fn hcl_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if is_hidden(c) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn hcl_list<'a>(v: impl IntoIterator<Item = &'a String>) -> String {
    format!(
        "[{}]",
        v.into_iter()
            .map(|s| hcl_str(s))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Writes `key = value` lines with the `=` aligned, as `terraform fmt` does.
fn aligned(out: &mut String, indent: &str, rows: &[(&str, String)]) {
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        let _ = writeln!(out, "{indent}{k:<w$} = {v}");
    }
}

/// One `aws_iam_policy_document` data source.
fn tf_document(out: &mut String, ident: &str, doc: &PolicyDocument) {
    let _ = writeln!(
        out,
        "data \"aws_iam_policy_document\" {} {{",
        hcl_str(ident)
    );
    for (si, st) in doc.statements.iter().enumerate() {
        if si > 0 {
            out.push('\n');
        }
        out.push_str("  statement {\n");
        let mut rows: Vec<(&str, String)> = Vec::new();
        if let Some(sid) = &st.sid {
            rows.push(("sid", hcl_str(sid)));
        }
        rows.push((
            "effect",
            hcl_str(if st.effect == crate::policy::Effect::Allow {
                "Allow"
            } else {
                "Deny"
            }),
        ));
        match &st.action {
            Matcher::Is(a) => rows.push(("actions", hcl_list(a))),
            Matcher::Not(a) => rows.push(("not_actions", hcl_list(a))),
        }
        match &st.resource {
            Matcher::Is(r) => rows.push(("resources", hcl_list(r))),
            Matcher::Not(r) => rows.push(("not_resources", hcl_list(r))),
        }
        aligned(out, "    ", &rows);
        for (op, keys) in &st.condition {
            for (key, values) in keys {
                out.push_str("\n    condition {\n");
                aligned(
                    out,
                    "      ",
                    &[
                        ("test", hcl_str(op)),
                        ("variable", hcl_str(key)),
                        ("values", hcl_list(values)),
                    ],
                );
                out.push_str("    }\n");
            }
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
}

/// `aws_iam_policy_document` data sources plus `aws_iam_role_policy` (or `aws_iam_user_policy`)
/// resources, formatted as `terraform fmt` would. A role (or user) whose inline policies
/// together would exceed IAM's limit gets `aws_iam_policy` resources and attachments instead.
pub fn terraform(principals: &[PrincipalOut]) -> Result<String, IacError> {
    // The `aws_iam_policy_document` data source turns every `&{` into `${` (its own spelling of
    // a policy variable), and IAM has no escape for `&` or `{`: a value from the log holding
    // `&{` would become a variable. Refused, naming it.
    for p in principals {
        for doc in documents(p) {
            for st in &doc.statements {
                let values = st
                    .action
                    .values()
                    .iter()
                    .chain(st.resource.values())
                    .chain(st.condition.values().flat_map(|k| k.values().flatten()));
                if let Some(v) = values.into_iter().find(|v| v.contains("&{")) {
                    return Err(unsafe_value(
                        "terraform",
                        owner(p),
                        (
                            v.clone(),
                            "a policy variable (`aws_iam_policy_document` reads `&{` as `${`)",
                        ),
                    ));
                }
            }
        }
    }
    let managed = over_inline_limit(principals, "terraform")?;
    let mut done: BTreeSet<&Target> = BTreeSet::new();
    let mut idents = Unique::default();
    let mut out =
        String::from("# Generated by tightrole from CloudTrail usage. Review before applying.\n");
    for p in principals {
        let target = target_of(p);
        if let Some((t, docs)) = target.as_ref().and_then(|t| managed.get_key_value(t)) {
            if done.insert(t) {
                tf_managed(&mut out, &mut idents, t, docs, principals);
            }
            continue;
        }
        let base = tf_ident(&p.name);
        for (i, doc) in documents(p).into_iter().enumerate() {
            let ident = idents.take(
                if i == 0 {
                    base.clone()
                } else {
                    format!("{base}_{}", i + 1)
                },
                "_",
            );
            let _ = writeln!(
                out,
                "\n# {} {} (account {})",
                p.kind,
                comment_text(&p.name),
                comment_text(&p.account)
            );
            if i == 0 {
                out.push_str(&runtime_comments(std::iter::once(p)));
            }
            tf_document(&mut out, &ident, doc);
            let policy_name = if i == 0 {
                format!("tightrole-{}", p.name)
            } else {
                format!("tightrole-{}-{}", p.name, i + 1)
            };
            let (kind, attach) = match &target {
                Some(t) if t.user => ("aws_iam_user_policy", ("user", hcl_str(&t.name))),
                Some(t) => ("aws_iam_role_policy", ("role", hcl_str(&t.name))),
                None => continue,
            };
            let _ = writeln!(out, "\nresource \"{kind}\" {} {{", hcl_str(&ident));
            aligned(
                &mut out,
                "  ",
                &[
                    ("name", hcl_str(&policy_name)),
                    attach,
                    (
                        "policy",
                        format!("data.aws_iam_policy_document.{ident}.json"),
                    ),
                ],
            );
            out.push_str("}\n");
        }
    }
    Ok(out)
}

/// `# runtime (function F): actions on resource: field` for each runtime grant of `principals`
/// (grouped per function, resource and configuration field): what the Lambda runtime needs, and
/// the configuration behind it.
fn runtime_comments<'p>(principals: impl IntoIterator<Item = &'p PrincipalOut>) -> String {
    let mut out = String::new();
    for g in super::runtime_groups(principals.into_iter().flat_map(|p| &p.carried)) {
        let _ = writeln!(
            out,
            "# runtime (function {}): {} on {}: {}",
            comment_text(g.function),
            comment_text(&g.actions.join(", ")),
            comment_text(&g.resources.join(", ")),
            comment_text(g.field)
        );
    }
    out
}

/// The principals whose policies attach to `t`, for a comment.
fn sharing(t: &Target, principals: &[PrincipalOut]) -> String {
    principals
        .iter()
        .filter(|p| target_of(p).as_ref() == Some(t) && p.policy.is_some())
        .map(|p| format!("{} {}", p.kind, comment_text(&p.name)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A target's policies as managed policies: data source, `aws_iam_policy`, attachment.
fn tf_managed(
    out: &mut String,
    idents: &mut Unique,
    t: &Target,
    docs: &[PolicyDocument],
    principals: &[PrincipalOut],
) {
    let _ = writeln!(
        out,
        "\n# {} {} (account {}): the policies of {} exceed the {}-character limit of a {}'s inline policies, so they are {} managed policies",
        t.noun(),
        comment_text(&t.name),
        comment_text(&t.account),
        sharing(t, principals),
        t.inline_limit(),
        t.noun(),
        docs.len()
    );
    let base = format!("{}_{}", t.noun(), tf_ident(&t.name));
    for (i, doc) in docs.iter().enumerate() {
        let ident = idents.take(format!("{base}_managed_{}", i + 1), "_");
        out.push('\n');
        tf_document(out, &ident, doc);
        let _ = writeln!(out, "\nresource \"aws_iam_policy\" {} {{", hcl_str(&ident));
        aligned(
            out,
            "  ",
            &[
                (
                    "name",
                    hcl_str(&format!("tightrole-{}-{}-{}", t.noun(), t.name, i + 1)),
                ),
                (
                    "policy",
                    format!("data.aws_iam_policy_document.{ident}.json"),
                ),
            ],
        );
        out.push_str("}\n");
        let kind = if t.user {
            "aws_iam_user_policy_attachment"
        } else {
            "aws_iam_role_policy_attachment"
        };
        let _ = writeln!(out, "\nresource \"{kind}\" {} {{", hcl_str(&ident));
        aligned(
            out,
            "  ",
            &[
                (t.noun(), hcl_str(&t.name)),
                ("policy_arn", format!("aws_iam_policy.{ident}.arn")),
            ],
        );
        out.push_str("}\n");
    }
}

// ---------- YAML ----------

/// YAML 1.1 words that a plain scalar would turn into a boolean or null.
const YAML_WORDS: &[&str] = &["y", "n", "yes", "no", "true", "false", "on", "off", "null"];

/// A plain scalar that reads back as the same string in YAML 1.1 and 1.2, in block context,
/// as a key or a value: starts with a letter, holds only letters, digits, spaces and
/// `-_./:@+=,*?$()~`, has no `: ` and does not end with `:` or a space, and is not a boolean or
/// null word.
fn plain_ok(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " -_./:@+=,*?$()~".contains(c))
        && !s.contains(": ")
        && !s.ends_with([':', ' '])
        && !YAML_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

/// Printable in YAML 1.1 and 1.2, and not a line break: may stand in a single-quoted scalar.
fn yaml_printable(c: char) -> bool {
    (c == ' ' || c.is_ascii_graphic())
        || (c as u32 >= 0xA0 && !is_hidden(c) && !matches!(c, '\u{fffe}' | '\u{ffff}'))
}

/// A YAML scalar that reads back as exactly `s`: plain when that is unambiguous, single-quoted
/// when every character is printable, double-quoted with escapes otherwise.
fn yaml_scalar(s: &str) -> String {
    if plain_ok(s) {
        return s.to_string();
    }
    if s.chars().all(yaml_printable) {
        return format!("'{}'", s.replace('\'', "''"));
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if yaml_printable(c) => out.push(c),
            c => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

fn yaml_key(v: &Value) -> String {
    match v {
        Value::String(s) => yaml_scalar(s),
        other => yaml_atom(other),
    }
}

fn yaml_atom(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_scalar(s),
        // not produced: collections are written by the callers
        Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => "null".to_string(),
    }
}

/// Block YAML laid out as serde_yaml_ng does (sequences under a key not indented), with every
/// scalar escaped by [`yaml_scalar`].
fn yaml_value_after_key(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Mapping(m) if m.is_empty() => out.push_str(" {}\n"),
        Value::Sequence(s) if s.is_empty() => out.push_str(" []\n"),
        Value::Mapping(m) => {
            out.push('\n');
            yaml_map(out, m, indent + 2, false);
        }
        Value::Sequence(s) => {
            out.push('\n');
            yaml_seq(out, s, indent, false);
        }
        Value::Tagged(t) => yaml_value_after_key(out, &t.value, indent),
        atom => {
            out.push(' ');
            out.push_str(&yaml_atom(atom));
            out.push('\n');
        }
    }
}

fn yaml_map(out: &mut String, m: &Mapping, indent: usize, first_inline: bool) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 || !first_inline {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str(&yaml_key(k));
        out.push(':');
        yaml_value_after_key(out, v, indent);
    }
}

fn yaml_seq(out: &mut String, s: &[Value], indent: usize, first_inline: bool) {
    for (i, item) in s.iter().enumerate() {
        if i > 0 || !first_inline {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match item {
            Value::Mapping(m) if !m.is_empty() => yaml_map(out, m, indent + 2, true),
            Value::Sequence(s) if !s.is_empty() => yaml_seq(out, s, indent + 2, true),
            Value::Mapping(_) => out.push_str("{}\n"),
            Value::Sequence(_) => out.push_str("[]\n"),
            Value::Tagged(t) => yaml_seq(out, std::slice::from_ref(&t.value), indent, true),
            atom => {
                out.push_str(&yaml_atom(atom));
                out.push('\n');
            }
        }
    }
}

fn yaml_document(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Mapping(m) => yaml_map(&mut out, m, 0, false),
        other => {
            out.push_str(&yaml_atom(other));
            out.push('\n');
        }
    }
    out
}

/// Does CloudFormation read `s` as holding a dynamic reference (`{{resolve:…}}`)? Matched
/// loosely (case, spaces) so that no variant gets through.
fn has_dynamic_reference(s: &str) -> bool {
    s.match_indices("{{").any(|(i, _)| {
        s[i + 2..]
            .trim_start()
            .get(..8)
            .is_some_and(|w| w.eq_ignore_ascii_case("resolve:"))
    })
}

/// A string the output cannot hold, and what the tool reading it would take it for.
type Refusal = (String, &'static str);

/// Rewrites every string of `v` (keys too: `f` is told which) with `f`.
fn rewrite(
    v: Value,
    f: &mut dyn FnMut(String, bool) -> Result<Value, Refusal>,
) -> Result<Value, Refusal> {
    Ok(match v {
        Value::String(s) => f(s, false)?,
        Value::Sequence(s) => Value::Sequence(
            s.into_iter()
                .map(|x| rewrite(x, f))
                .collect::<Result<_, _>>()?,
        ),
        Value::Mapping(m) => {
            let mut out = Mapping::new();
            for (k, x) in m {
                let k = match k {
                    Value::String(s) => f(s, true)?,
                    other => other,
                };
                out.insert(k, rewrite(x, f)?);
            }
            Value::Mapping(out)
        }
        Value::Tagged(t) => rewrite(t.value, f)?,
        other => other,
    })
}

fn unsafe_value(format: &'static str, owner: String, (value, what): Refusal) -> IacError {
    IacError::Unsafe {
        format,
        owner,
        value: shown(&value),
        what,
    }
}

fn owner(p: &PrincipalOut) -> String {
    format!("{} `{}`", p.kind, shown(&p.name))
}

const DYNAMIC_REFERENCE: &str = "a dynamic reference (`{{resolve:…}}`)";

/// A CloudFormation string: refused when it holds a dynamic reference, which CloudFormation
/// would replace by a parameter's or a secret's value (there is no escape for it).
fn cfn_str(s: String, _key: bool) -> Result<Value, Refusal> {
    if has_dynamic_reference(&s) {
        Err((s, DYNAMIC_REFERENCE))
    } else {
        Ok(Value::String(s))
    }
}

fn to_value<T: Serialize>(t: &T) -> Value {
    serde_yaml_ng::to_value(t).unwrap_or(Value::Null)
}

// ---------- CloudFormation ----------

/// `orders-api` → `OrdersApi`: a CloudFormation logical id.
fn logical_id(name: &str) -> String {
    crate::synth::pascal_case(name, true)
}

#[derive(Serialize)]
struct CfnTemplate {
    #[serde(rename = "AWSTemplateFormatVersion")]
    version: &'static str,
    #[serde(rename = "Description")]
    description: &'static str,
    #[serde(rename = "Resources")]
    resources: BTreeMap<String, CfnResource>,
}

#[derive(Serialize)]
struct CfnResource {
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(rename = "Properties")]
    properties: CfnProperties,
}

#[derive(Serialize)]
struct CfnProperties {
    #[serde(rename = "PolicyName", skip_serializing_if = "Option::is_none")]
    policy_name: Option<String>,
    #[serde(rename = "ManagedPolicyName", skip_serializing_if = "Option::is_none")]
    managed_policy_name: Option<String>,
    #[serde(rename = "RoleName", skip_serializing_if = "Option::is_none")]
    role_name: Option<String>,
    #[serde(rename = "UserName", skip_serializing_if = "Option::is_none")]
    user_name: Option<String>,
    #[serde(rename = "Roles", skip_serializing_if = "Option::is_none")]
    roles: Option<Vec<String>>,
    #[serde(rename = "Users", skip_serializing_if = "Option::is_none")]
    users: Option<Vec<String>>,
    #[serde(rename = "PolicyDocument")]
    document: PolicyDocument,
}

/// A CloudFormation template of `AWS::IAM::RolePolicy` (and `UserPolicy`) resources, or
/// `AWS::IAM::ManagedPolicy` for a role (or user) whose inline policies together would exceed
/// IAM's limit. Each `PolicyDocument` also fits a SAM function's `Policies`. A value holding a
/// dynamic reference (`{{resolve:…}}`) is refused: CloudFormation would replace it.
pub fn cloudformation(principals: &[PrincipalOut]) -> Result<String, IacError> {
    const FORMAT: &str = "cloudformation";
    let managed = over_inline_limit(principals, FORMAT)?;
    let mut resources = BTreeMap::new();
    let mut ids = Unique::default();
    let mut done: BTreeSet<&Target> = BTreeSet::new();
    for p in principals {
        let Some(target) = target_of(p) else { continue };
        // Checked per principal first, to name it in the message.
        rewrite(
            to_value(&(&p.name, &target.name, documents(p))),
            &mut cfn_str,
        )
        .map_err(|r| unsafe_value(FORMAT, owner(p), r))?;
        if let Some((t, docs)) = managed.get_key_value(&target) {
            if !done.insert(t) {
                continue;
            }
            let base = format!("{}{}Managed", logical_id(t.noun()), logical_id(&t.name));
            for (i, doc) in docs.iter().enumerate() {
                let id = ids.take(format!("{base}{}", i + 1), "X");
                resources.insert(
                    id,
                    CfnResource {
                        kind: "AWS::IAM::ManagedPolicy",
                        properties: CfnProperties {
                            policy_name: None,
                            managed_policy_name: Some(format!(
                                "tightrole-{}-{}-{}",
                                t.noun(),
                                t.name,
                                i + 1
                            )),
                            role_name: None,
                            user_name: None,
                            roles: (!t.user).then(|| vec![t.name.clone()]),
                            users: t.user.then(|| vec![t.name.clone()]),
                            document: doc.clone(),
                        },
                    },
                );
            }
            continue;
        }
        for (i, doc) in documents(p).into_iter().enumerate() {
            let suffix = if i == 0 {
                String::new()
            } else {
                format!("{}", i + 1)
            };
            let id = ids.take(format!("{}Policy{suffix}", logical_id(&p.name)), "X");
            resources.insert(
                id,
                CfnResource {
                    kind: if target.user {
                        "AWS::IAM::UserPolicy"
                    } else {
                        "AWS::IAM::RolePolicy"
                    },
                    properties: CfnProperties {
                        policy_name: Some(format!(
                            "tightrole-{}{}",
                            p.name,
                            if i == 0 {
                                String::new()
                            } else {
                                format!("-{}", i + 1)
                            }
                        )),
                        managed_policy_name: None,
                        role_name: (!target.user).then(|| target.name.clone()),
                        user_name: target.user.then(|| target.name.clone()),
                        roles: None,
                        users: None,
                        document: doc.clone(),
                    },
                },
            );
        }
    }
    let t = rewrite(
        to_value(&CfnTemplate {
            version: "2010-09-09",
            description: "Least-privilege policies generated by tightrole from CloudTrail usage",
            resources,
        }),
        &mut cfn_str,
    )
    .map_err(|r| unsafe_value(FORMAT, "the template".to_string(), r))?;
    Ok(runtime_comments(principals) + &yaml_document(&t))
}

// ---------- serverless ----------

#[derive(Serialize)]
struct ServerlessFunction<'a> {
    #[serde(rename = "iamRoleStatements")]
    statements: Vec<&'a Statement>,
}

/// A string of serverless.yml that the Serverless Framework does not resolve: one holding `${`
/// becomes `Fn::Join: ['', [..., '…$', '{…', ...]]`, cut between every `$` and `{`, which
/// CloudFormation joins back at deploy time (keys cannot be cut, and are refused). Dynamic
/// references are refused, as in CloudFormation: the statements end up in a template.
fn serverless_str(s: String, key: bool) -> Result<Value, Refusal> {
    if has_dynamic_reference(&s) {
        return Err((s, DYNAMIC_REFERENCE));
    }
    if !crate::wildcard::has_variable(&s) {
        return Ok(Value::String(s));
    }
    if key {
        return Err((s, "a Serverless variable (`${…}`)"));
    }
    let mut parts: Vec<Value> = Vec::new();
    let mut rest = s.as_str();
    while let Some(i) = crate::wildcard::find_variable(rest) {
        parts.push(Value::String(rest[..=i].to_string()));
        rest = &rest[i + 1..];
    }
    parts.push(Value::String(rest.to_string()));
    let mut join = Mapping::new();
    join.insert(
        Value::String("Fn::Join".to_string()),
        Value::Sequence(vec![Value::String(String::new()), Value::Sequence(parts)]),
    );
    Ok(Value::Mapping(join))
}

/// The `functions:` block of serverless.yml with `iamRoleStatements` per function, for the
/// serverless-iam-roles-per-function plugin (one role and one inline policy per function, so
/// all of a function's statements must fit a role's inline limit). Principals that are not
/// functions are listed in a comment.
pub fn serverless(principals: &[PrincipalOut]) -> Result<String, IacError> {
    let mut functions: BTreeMap<String, (Value, &str)> = BTreeMap::new();
    let mut others = Vec::new();
    for p in principals {
        if p.kind != PrincipalKind::Function {
            if p.policy.is_some() {
                others.push(format!("{} {}", p.kind, comment_text(&p.name)));
            }
            continue;
        }
        let statements: Vec<&Statement> = documents(p)
            .into_iter()
            .flat_map(|d| d.statements.iter())
            .collect();
        let size = PolicyDocument {
            statements: statements.iter().map(|s| (*s).clone()).collect(),
            ..PolicyDocument::default()
        }
        .iam_size();
        if size > INLINE_AGGREGATE_LIMIT {
            return Err(IacError::FunctionTooLarge {
                name: shown(&p.name),
                size,
                limit: INLINE_AGGREGATE_LIMIT,
            });
        }
        let name = serverless_str(p.name.clone(), true)
            .map_err(|r| unsafe_value("serverless", owner(p), r))?;
        let body = rewrite(
            to_value(&ServerlessFunction { statements }),
            &mut serverless_str,
        )
        .map_err(|r| unsafe_value("serverless", owner(p), r))?;
        let key = match name {
            Value::String(k) => k,
            _ => p.name.clone(),
        };
        if let Some((_, account)) = functions.get(&key) {
            return Err(IacError::SameName {
                name: shown(&p.name),
                first: shown(account),
                second: shown(&p.account),
            });
        }
        functions.insert(key, (body, &p.account));
    }
    let mut out = String::from(
        "# Generated by tightrole: merge into serverless.yml (plugin: serverless-iam-roles-per-function).\n",
    );
    if !others.is_empty() {
        let _ = writeln!(out, "# Not functions, so not here: {}.", others.join(", "));
    }
    out.push_str(&runtime_comments(principals));
    let mut doc = Mapping::new();
    doc.insert(
        Value::String("functions".to_string()),
        Value::Mapping(
            functions
                .into_iter()
                .map(|(k, (v, _))| (Value::String(k), v))
                .collect(),
        ),
    );
    out.push_str(&yaml_document(&Value::Mapping(doc)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hcl_strings_do_not_interpolate() {
        assert_eq!(
            hcl_str("arn:aws:s3:::b/${aws:username}/*"),
            r#""arn:aws:s3:::b/$${aws:username}/*""#
        );
        assert_eq!(hcl_str("a\"b"), r#""a\"b""#);
        assert_eq!(hcl_str("\u{8}\u{c}\n%{x}"), r#""\u0008\u000C\n%%{x}""#);
        assert_eq!(tf_ident("orders-api"), "orders_api");
        assert_eq!(tf_ident(""), "_");
        assert_eq!(logical_id("orders-api"), "OrdersApi");
    }

    #[test]
    fn yaml_scalars_read_back_as_strings() {
        for s in [
            "yes",
            "Null",
            "2012-10-17",
            "*a",
            "&a",
            "!Ref",
            "a: b",
            "x:",
            "",
            " a",
        ] {
            assert!(!plain_ok(s), "{s}");
        }
        assert_eq!(yaml_scalar("arn:aws:s3:::b/*"), "arn:aws:s3:::b/*");
        assert_eq!(yaml_scalar("it's"), "'it''s'");
        assert_eq!(yaml_scalar("a\nb\u{85}"), r#""a\nb\u0085""#);
        assert!(has_dynamic_reference("x{{ Resolve:ssm:p}}"));
        assert!(!has_dynamic_reference("{{resolv"));
    }
}
