//! Wildcard expansion against the catalog: `s3:Get*`, `*` and `NotAction` become sets of
//! concrete actions, so that "granted" is a set one can subtract from.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Effect, Matcher, PolicyDocument, Statement};
use crate::catalog::Catalog;
use crate::wildcard::matches;

/// Every catalog action (`prefix:Name`) that the Action/NotAction matcher covers.
pub fn expand_actions(m: &Matcher, catalog: &Catalog) -> BTreeSet<String> {
    let hit = |q: &str, pats: &[String]| pats.iter().any(|p| matches(p, q, true));
    // Fast path: plain `prefix:Name` without wildcards.
    if let Matcher::Is(pats) = m
        && pats.iter().all(|p| !crate::wildcard::has_wildcard(p))
    {
        return pats
            .iter()
            .filter_map(|p| {
                catalog
                    .action_qualified(p)
                    .map(|a| a.qualified().to_string())
            })
            .collect();
    }
    // Patterns whose service prefix is literal need only that service's actions.
    let prefixes: Option<BTreeSet<&str>> = match m {
        Matcher::Is(pats) => pats
            .iter()
            .map(|p| {
                p.split_once(':')
                    .map(|(s, _)| s)
                    .filter(|s| !crate::wildcard::has_wildcard(s))
            })
            .collect(),
        Matcher::Not(_) => None,
    };
    let candidates: Box<dyn Iterator<Item = &crate::catalog::ActionDef>> = match &prefixes {
        Some(ps) => Box::new(
            ps.iter()
                .filter_map(|p| catalog.service(p))
                .flat_map(|s| s.actions().values()),
        ),
        None => Box::new(catalog.all_actions()),
    };
    candidates
        .map(|a| a.qualified().to_string())
        .filter(|q| match m {
            Matcher::Is(p) => hit(q, p),
            Matcher::Not(p) => !hit(q, p),
        })
        .collect()
}

/// How one action is granted: on which resources, by which policies, with conditions or not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Grant {
    /// Resource patterns (`*`, ARNs); `NotResource` lists appear as `all except …`.
    pub resources: BTreeSet<String>,
    /// Every statement granting it had a condition.
    pub conditional: bool,
    pub sources: BTreeSet<String>,
}

/// Expands the Allow statements of a set of policies into action → grant. Actions that an
/// unconditional `Deny` on `*` removes are dropped; other denies are left to the evaluator.
pub fn granted<'p>(
    policies: impl IntoIterator<Item = (&'p str, &'p PolicyDocument)>,
    catalog: &Catalog,
) -> BTreeMap<String, Grant> {
    let mut out: BTreeMap<String, Grant> = BTreeMap::new();
    let mut unconditional: BTreeSet<String> = BTreeSet::new();
    let mut denied: BTreeSet<String> = BTreeSet::new();
    for (source, doc) in policies {
        for s in &doc.statements {
            let actions = expand_actions(&s.action, catalog);
            match s.effect {
                Effect::Allow => {
                    for a in actions {
                        let g = out.entry(a.clone()).or_default();
                        g.resources.extend(resource_labels(s));
                        g.sources.insert(source.to_string());
                        if s.condition.is_empty() {
                            unconditional.insert(a);
                        }
                    }
                }
                Effect::Deny => {
                    let all = matches!(&s.resource, Matcher::Is(r) if r.iter().any(|x| x == "*"));
                    if all && s.condition.is_empty() {
                        denied.extend(actions);
                    }
                }
            }
        }
    }
    out.retain(|a, _| !denied.contains(a));
    for (a, g) in out.iter_mut() {
        g.conditional = !unconditional.contains(a);
    }
    out
}

fn resource_labels(s: &Statement) -> Vec<String> {
    match &s.resource {
        Matcher::Is(r) => r.clone(),
        Matcher::Not(r) => vec![format!("all except {}", r.join(", "))],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(t: &str) -> PolicyDocument {
        PolicyDocument::parse(t).unwrap_or_default()
    }

    #[test]
    fn wildcards_and_not_action() {
        let c = Catalog::embedded();
        let get = expand_actions(&Matcher::Is(vec!["s3:GetObject*".into()]), c);
        assert!(
            get.contains("s3:GetObject")
                && get.contains("s3:GetObjectVersion")
                && get.contains("s3:GetObjectTagging")
        );
        assert!(!get.contains("s3:PutObject"));
        let all = expand_actions(&Matcher::Is(vec!["*".into()]), c);
        assert_eq!(all.len(), c.action_count());
        let not_iam = expand_actions(&Matcher::Not(vec!["iam:*".into()]), c);
        assert!(!not_iam.iter().any(|a| a.starts_with("iam:")));
        assert_eq!(
            not_iam.len() + expand_actions(&Matcher::Is(vec!["iam:*".into()]), c).len(),
            c.action_count()
        );
        assert!(
            expand_actions(&Matcher::Is(vec!["lambda:Invoke".into()]), c).is_empty(),
            "not in the catalog"
        );
        assert_eq!(
            expand_actions(&Matcher::Is(vec!["S3:getobject".into()]), c)
                .into_iter()
                .collect::<Vec<_>>(),
            ["s3:GetObject"]
        );
    }

    #[test]
    fn granted_set_with_deny_and_conditions() {
        let c = Catalog::embedded();
        let p = doc(r#"{"Statement":[
            {"Effect":"Allow","Action":"sqs:*","Resource":"arn:aws:sqs:*:*:jobs"},
            {"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.eu-west-1.amazonaws.com"}}},
            {"Effect":"Deny","Action":"sqs:Delete*","Resource":"*"}]}"#);
        let g = granted([("p", &p)], c);
        assert!(g.contains_key("sqs:SendMessage"));
        assert!(!g.contains_key("sqs:DeleteMessage"), "denied on *");
        assert!(g["kms:Decrypt"].conditional);
        assert!(!g["sqs:SendMessage"].conditional);
        assert_eq!(
            g["sqs:SendMessage"].resources.iter().collect::<Vec<_>>(),
            ["arn:aws:sqs:*:*:jobs"]
        );
    }
}
