//! The drift report as SARIF 2.1.0, shaped for GitHub code scanning: every rule has help (text
//! and markdown), a precision and a `security-severity`; results point into the baseline policy
//! files by repository-relative URIs under `%SRCROOT%`, and carry a fingerprint that keeps a
//! finding's identity from week to week.

use std::path::{Path, PathBuf};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::{Value, json};

use crate::catalog::Catalog;
use crate::diff::risk::{RiskClass, RiskTable};
use crate::drift::{DriftReport, Finding, Item};
use crate::report::drift::line_of;

/// The base the result URIs are relative to.
pub const SRCROOT: &str = "%SRCROOT%";

/// What a URI path segment may not hold as it is (RFC 3986 `pchar`s stay).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// GitHub's scale: over 9.0 critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, below 4.0 low.
fn risk_severity(c: RiskClass) -> f64 {
    match c {
        RiskClass::PrivilegeEscalation => 8.8,
        RiskClass::CredentialsExposure => 8.1,
        RiskClass::DataExfiltration => 7.5,
        RiskClass::ResourceExposure => 6.5,
        RiskClass::InfrastructureModification => 5.3,
    }
}

/// A rule's severity, precision, and help: what the finding means and what to do.
struct RuleDoc {
    severity: f64,
    precision: &'static str,
    text: &'static str,
    todo: &'static str,
}

fn rule_doc(f: Finding) -> RuleDoc {
    match f {
        Finding::NewlyUsed => RuleDoc {
            severity: 5.0,
            precision: "medium",
            text: "An action or resource the principal never used before: a new behaviour, possibly suspicious.",
            todo: "If the change is expected (a deploy added a call), accept it by regenerating the policy (`tightrole pr`). If not, find who made the calls (the event ids in the trail) and treat them as an incident.",
        },
        Finding::NewlyUnused => RuleDoc {
            severity: 3.0,
            precision: "high",
            text: "A granted action the trail shows unused for the configured period: a candidate for removal.",
            todo: "Remove the grant (`tightrole pr` proposes the policy without it), unless a rare path needs it: then add it to the keep-list with a reason.",
        },
        Finding::DeniedSpike => RuleDoc {
            severity: 5.0,
            precision: "medium",
            text: "Denied calls of a principal rose sharply against the previous period.",
            todo: "A deploy may need a permission it lacks (check the function's errors), or something is probing with the principal's credentials.",
        },
        Finding::PolicyDrift => RuleDoc {
            severity: 7.0,
            precision: "very-high",
            text: "The deployed policy differs from the approved baseline: changed outside review.",
            todo: "Bring the change through review (commit it to the baseline) or restore the baseline policy.",
        },
        Finding::SharedRole => RuleDoc {
            severity: 4.0,
            precision: "very-high",
            text: "Several functions share one execution role, so each gets the union of their permissions.",
            todo: "Give each function its own role (`tightrole generate --shared-role split` writes a policy per function), or scope the shared policy per function (`--shared-role scope`).",
        },
        Finding::NoActivity => RuleDoc {
            severity: 2.0,
            precision: "high",
            text: "A role or function made no call in the period: every permission is unused or unobservable.",
            todo: "If the principal is retired, delete it; if it runs rarely, widen the window before acting.",
        },
    }
}

fn rule(f: Finding) -> Value {
    let doc = rule_doc(f);
    json!({
        "id": f.code(),
        "name": f.name(),
        "shortDescription": {"text": f.title()},
        "fullDescription": {"text": doc.text},
        "help": {
            "text": format!("{} {}", doc.text, doc.todo),
            "markdown": format!("**{}** ({})\n\n{}\n\n**What to do:** {}\n\nSee [tightrole drift](https://github.com/tightrole/tightrole/blob/main/docs/commands/drift.md).", f.title(), f.code(), doc.text, doc.todo),
        },
        "defaultConfiguration": {"level": f.level()},
        "properties": {
            "tags": ["security", "iam", "least-privilege"],
            "precision": doc.precision,
            "security-severity": format!("{:.1}", doc.severity),
            "problem.severity": if f.level() == "warning" { "warning" } else { "recommendation" },
        }
    })
}

/// The risk classes of a finding's action on its resource, most severe first.
fn risks(i: &Item) -> Vec<RiskClass> {
    let Some(action) = &i.action else {
        return Vec::new();
    };
    let resources = vec![i.resource.clone().unwrap_or_else(|| "*".to_string())];
    let mut out: Vec<RiskClass> = RiskTable::embedded()
        .classes(action, &resources, Catalog::embedded())
        .into_iter()
        .collect();
    out.sort_by(|a, b| risk_severity(*b).total_cmp(&risk_severity(*a)));
    out
}

fn fingerprint(i: &Item) -> String {
    // FNV-1a over what identifies a finding (never its counts or times): stable across runs,
    // weeks and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!(
        "{}|{}|{}|{}",
        i.finding.code(),
        i.principal,
        i.action.as_deref().unwrap_or(""),
        i.resource.as_deref().unwrap_or("")
    )
    .bytes()
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// `file` as a URI reference relative to `root` (`policies/shop-api-role.json`), when it lies
/// under it; otherwise an absolute `file://` URI, which code scanning cannot place in the
/// repository but other viewers open.
fn artifact(file: &str, root: &Path) -> Value {
    let path = Path::new(file);
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    });
    match absolute.strip_prefix(root) {
        Ok(rel) => json!({"uri": uri_path(rel), "uriBaseId": SRCROOT}),
        Err(_) => json!({"uri": format!("file:///{}", uri_path(&absolute))}),
    }
}

/// A path as a URI path: its segments percent-encoded, `..` applied lexically, no leading `/`.
fn uri_path(p: &Path) -> String {
    let mut segments: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::Normal(s) => {
                segments.push(utf8_percent_encode(&s.to_string_lossy(), SEGMENT).to_string())
            }
            std::path::Component::ParentDir => {
                segments.pop();
            }
            _ => {}
        }
    }
    segments.join("/")
}

/// The directory `root` (canonical) as a `file://` URI with a final slash.
fn root_uri(root: &Path) -> String {
    match uri_path(root) {
        p if p.is_empty() => "file:///".to_string(),
        p => format!("file:///{p}/"),
    }
}

/// The repository a SARIF file's locations are relative to: the git work tree that holds the
/// baseline (its nearest ancestor with `.git`), else the current directory.
pub fn source_root(baseline: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    std::fs::canonicalize(baseline)
        .ok()
        .and_then(|b| {
            b.ancestors()
                .find(|d| d.join(".git").exists())
                .map(Path::to_path_buf)
        })
        .unwrap_or(cwd)
}

fn result(i: &Item, root: &Path) -> Value {
    let index = Finding::ALL
        .iter()
        .position(|f| *f == i.finding)
        .unwrap_or(0);
    let risks = risks(i);
    let level = match risks.first() {
        Some(c) if i.finding == Finding::NewlyUsed && risk_severity(*c) >= 7.0 => "error",
        _ => i.finding.level(),
    };
    let severity = risks
        .iter()
        .map(|c| risk_severity(*c))
        .fold(rule_doc(i.finding).severity, f64::max);
    let mut res = json!({
        "ruleId": i.finding.code(),
        "ruleIndex": index,
        "level": level,
        "message": {"text": format!("{}: {}", i.principal, i.message)},
        "partialFingerprints": {"tightroleFinding/v1": fingerprint(i)},
        "properties": {
            "security-severity": format!("{severity:.1}"),
            "risk": risks.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        }
    });
    if let (Some(file), Some(obj)) = (&i.file, res.as_object_mut()) {
        obj.insert(
            "locations".into(),
            json!([{"physicalLocation": {
                "artifactLocation": artifact(file, root),
                "region": {"startLine": line_of(file, i.action.as_deref())}
            }}]),
        );
    }
    res
}

/// SARIF 2.1.0: one rule per finding code; result locations relative to the repository that
/// holds the baseline ([`source_root`]).
pub fn sarif(r: &DriftReport) -> String {
    sarif_under(r, &source_root(Path::new(&r.baseline)))
}

/// [`sarif`] with locations relative to `root`.
pub fn sarif_under(r: &DriftReport, root: &Path) -> String {
    // canonical once, not once per result
    let root = &std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let rules: Vec<Value> = Finding::ALL.iter().map(|f| rule(*f)).collect();
    let results: Vec<Value> = r.items.iter().map(|i| result(i, root)).collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "tightrole",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/tightrole/tightrole",
                "rules": rules
            }},
            "automationDetails": {"id": "tightrole/drift/"},
            "originalUriBaseIds": {SRCROOT: {"uri": root_uri(root)}},
            "results": results
        }]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(file: &str) -> Item {
        Item {
            finding: Finding::NewlyUsed,
            principal: "function orders-api".into(),
            message: "newly used".into(),
            action: Some("iam:PassRole".into()),
            resource: Some("*".into()),
            file: Some(file.into()),
            deployed_file: None,
            seen: None,
            calls: Vec::new(),
            calls_total: 0,
        }
    }

    #[test]
    fn absolute_paths_under_the_root_become_relative() {
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::create_dir_all(dir.path().join("policies")).unwrap();
        let file = dir.path().join("policies/a b+c.json");
        std::fs::write(&file, "{}").unwrap();
        let v = artifact(file.to_str().unwrap(), dir.path());
        assert_eq!(v["uri"], "policies/a%20b+c.json");
        assert_eq!(v["uriBaseId"], SRCROOT);
        let outside = artifact("/nonexistent/x.json", dir.path());
        assert_eq!(outside["uri"], "file:///nonexistent/x.json");
        // a relative path that leaves the root is not made to look inside it
        let up = artifact("../elsewhere/x.json", dir.path());
        let cwd = std::env::current_dir().unwrap();
        let expected = cwd.parent().unwrap().join("elsewhere/x.json");
        assert_eq!(up["uri"], format!("file://{}", expected.display()), "{up}");
        assert!(up.get("uriBaseId").is_none());
        assert!(root_uri(dir.path()).ends_with('/'));
    }

    #[test]
    fn risky_new_actions_are_errors_with_their_severity() {
        let res = result(&item("policies/x.json"), Path::new("."));
        assert_eq!(res["level"], "error");
        assert_eq!(res["properties"]["risk"][0], "privilege-escalation");
        assert_eq!(res["properties"]["security-severity"], "8.8");
    }

    #[test]
    fn fingerprints_ignore_the_message() {
        let a = item("p.json");
        let mut b = a.clone();
        b.message = "newly used, 12 calls".into();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        b.principal = "function other".into();
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn every_rule_has_help_and_a_severity() {
        for f in Finding::ALL {
            let r = rule(f);
            assert!(r["help"]["markdown"].as_str().is_some_and(|s| s.len() > 40));
            let s: f64 = r["properties"]["security-severity"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((0.0..=10.0).contains(&s));
        }
    }
}
