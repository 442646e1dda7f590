//! Carried grants narrowed to what the trail shows elsewhere. A grant of `--current` the trail
//! cannot show unused is carried into the proposal ([`super::carry`]); when the trail shows its
//! resources in some other way — the roles passed to services in the account, the functions
//! invoked in it — the carried grant is narrowed to them, within what the current policy grants,
//! and what it was narrowed from stays in the output ([`Carried::narrowed_from`]). Which actions,
//! and from which evidence, is the reviewed table `data/carried-narrowing.tsv`.
//!
//! The resources come from the log, so each is checked before it is used: a plain ARN (no
//! wildcard, no `${…}` escape or variable: a log-derived name holding `*`, `?` or `${` is never
//! used), of the principal's account, of a resource type the catalog gives the action, and
//! matched by the carried grant as it was.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use super::Carried;
use crate::arn::Arn;
use crate::catalog::{ActionDef, Catalog};
use crate::identity::{Inventory, PrincipalKind};
use crate::model::{Conditions, condition};
use crate::usage::Usage;
use crate::wildcard::{has_wildcard, matches};

pub const CARRIED_NARROWING_TSV: &str = include_str!("../../data/carried-narrowing.tsv");

/// Where the trail shows an action's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The action's own grants, of every principal of the account.
    Observed,
    /// The roles Lambda functions run as: passed to `lambda.amazonaws.com`.
    ExecutionRoles,
}

/// One row of `data/carried-narrowing.tsv`.
#[derive(Debug, Clone)]
pub struct NarrowRow {
    pub action: String,
    pub source: Source,
    /// What the trail shows of the resources (`invoked`), for the note.
    pub shows: String,
    /// 1-based line, for the table tests.
    pub line: usize,
}

/// The rows of `data/carried-narrowing.tsv`, and the lines that could not be read.
#[derive(Debug, Default)]
pub struct NarrowTable {
    pub rows: Vec<NarrowRow>,
    pub malformed: Vec<usize>,
}

impl NarrowTable {
    pub fn parse(tsv: &str) -> NarrowTable {
        let mut t = NarrowTable::default();
        for (i, line) in tsv.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            let source = match f.get(1) {
                Some(&"observed") => Some(Source::Observed),
                Some(&"execution-roles") => Some(Source::ExecutionRoles),
                _ => None,
            };
            match (f.as_slice(), source) {
                ([action, _, shows, note], Some(source))
                    if !note.trim().is_empty() && !shows.trim().is_empty() =>
                {
                    t.rows.push(NarrowRow {
                        action: (*action).to_string(),
                        source,
                        shows: (*shows).to_string(),
                        line: i + 1,
                    });
                }
                _ => t.malformed.push(i + 1),
            }
        }
        t
    }

    /// The table embedded in this binary, parsed once.
    pub fn embedded() -> &'static NarrowTable {
        static TABLE: OnceLock<NarrowTable> = OnceLock::new();
        TABLE.get_or_init(|| NarrowTable::parse(CARRIED_NARROWING_TSV))
    }
}

/// What the trail shows of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    /// The conditions (of the action's own keys) every call on it satisfied; `None` when some
    /// call had none, or calls had different keys.
    condition: Option<Conditions>,
    /// How the trail shows it (the table's `shows`).
    shows: BTreeSet<String>,
}

/// The resources the trail shows for the actions of the table, per account: built once per run
/// from the usage (and the function inventory), asked for each carried grant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// (account, action lowercased) → resource → what is shown of it
    shown: BTreeMap<(String, String), BTreeMap<String, Shown>>,
}

/// The conditions of `c` on the action's own condition keys (`iam:PassedToService`, not a
/// `lambda:SourceFunctionArn` a shared role's grouping added); `None` when none is left.
fn own_keys(c: &Conditions, def: &ActionDef) -> Option<Conditions> {
    let mut out = Conditions::new();
    for (op, keys) in c {
        for (k, vals) in keys {
            if def
                .condition_keys
                .iter()
                .any(|ck| ck.eq_ignore_ascii_case(k))
            {
                out.entry(op.clone())
                    .or_default()
                    .insert(k.clone(), vals.clone());
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// (operator, key) pairs of a condition block.
fn keys(c: &Conditions) -> BTreeSet<(&str, &str)> {
    c.iter()
        .flat_map(|(op, ks)| ks.keys().map(move |k| (op.as_str(), k.as_str())))
        .collect()
}

impl Observed {
    /// What the trail (and the inventory's functions) show of the table's actions. Grants
    /// still on disk are read back one principal at a time ([`Usage::grants_of`]).
    pub fn from_usage(
        usage: &Usage,
        inventory: &Inventory,
        catalog: &Catalog,
    ) -> Result<Observed, crate::usage::SpillError> {
        let mut out = Observed::default();
        let rows: Vec<_> = NarrowTable::embedded()
            .rows
            .iter()
            .filter_map(|row| Some((row, catalog.action_qualified(&row.action)?)))
            .collect();
        // each principal's grants once, for every row of the table (what a row adds does not
        // depend on the order it is added in)
        if rows.iter().any(|(row, _)| row.source == Source::Observed) {
            for (id, p) in &usage.principals {
                let grants = usage.grants_of(p)?;
                for (row, def) in rows.iter().filter(|(r, _)| r.source == Source::Observed) {
                    for ((a, r), ev) in grants.iter() {
                        if a.as_str().eq_ignore_ascii_case(&row.action) {
                            let c = ev.grant_conditions().and_then(|c| own_keys(c, def));
                            out.add(&id.account, def, r.as_str(), c, &row.shows);
                        }
                    }
                }
            }
        }
        for (row, def) in rows {
            match row.source {
                Source::Observed => {}
                Source::ExecutionRoles => {
                    let passed = condition(
                        "StringEquals",
                        "iam:PassedToService",
                        "lambda.amazonaws.com".to_string(),
                    );
                    let roles = usage
                        .principals
                        .iter()
                        .filter(|(id, p)| {
                            id.kind == PrincipalKind::Function || !p.functions.is_empty()
                        })
                        .filter_map(|(_, p)| p.role_arn.as_deref())
                        .chain(
                            inventory
                                .functions
                                .values()
                                .filter_map(|f| f.role.as_deref()),
                        );
                    for role in roles {
                        // the account is the role's own: a function's role is in its account
                        let Some(arn) = Arn::parse(role) else {
                            continue;
                        };
                        let escaped = crate::wildcard::escape(role);
                        out.add(
                            &arn.account,
                            def,
                            &escaped,
                            Some(passed.clone()),
                            &row.shows,
                        );
                    }
                }
            }
        }
        Ok(out)
    }

    fn add(
        &mut self,
        account: &str,
        def: &ActionDef,
        resource: &str,
        c: Option<Conditions>,
        shows: &str,
    ) {
        let by_resource = self
            .shown
            .entry((account.to_string(), def.qualified().to_ascii_lowercase()))
            .or_default();
        match by_resource.get_mut(resource) {
            None => {
                by_resource.insert(
                    resource.to_string(),
                    Shown {
                        condition: c,
                        shows: BTreeSet::from([shows.to_string()]),
                    },
                );
            }
            Some(s) => {
                s.shows.insert(shows.to_string());
                s.condition = match (s.condition.take(), c) {
                    (Some(mut a), Some(b)) if keys(&a) == keys(&b) => {
                        for (op, ks) in b {
                            for (k, vals) in ks {
                                a.entry(op.clone())
                                    .or_default()
                                    .entry(k)
                                    .or_default()
                                    .extend(vals);
                            }
                        }
                        Some(a)
                    }
                    _ => None,
                };
            }
        }
    }

    /// `c`, a grant carried as unobservable for a principal of `account`, narrowed to the
    /// resources the trail shows of its action: one grant per condition the calls on them
    /// satisfied. `c` as it is when the trail shows none, with why it was not narrowed when it is
    /// on `*`. The grants are narrowed (`narrowed_from`) only when their resources together are
    /// fewer than `c`'s; otherwise they only gain the conditions.
    pub fn narrow(&self, account: &str, mut c: Carried, catalog: &Catalog) -> Vec<Carried> {
        let def = catalog.action_qualified(&c.action);
        let rows: Vec<&NarrowRow> = NarrowTable::embedded()
            .rows
            .iter()
            .filter(|r| r.action.eq_ignore_ascii_case(&c.action))
            .collect();
        let mut groups: BTreeMap<Option<Conditions>, BTreeSet<String>> = BTreeMap::new();
        let mut shows: BTreeSet<&str> = BTreeSet::new();
        let mut noun = def
            .and_then(|d| d.resources.first())
            .map_or("resource", |r| noun(&r.name));
        if let Some(def) = def {
            let key = (account.to_string(), def.qualified().to_ascii_lowercase());
            for (r, s) in self.shown.get(&key).into_iter().flatten() {
                let Some(ty) = usable(r, account, def, catalog) else {
                    continue;
                };
                // `r` holds no wildcard and no escape: it is its own literal text
                if !c.resources.iter().any(|g| matches(g, r, false)) {
                    continue;
                }
                groups
                    .entry(s.condition.clone())
                    .or_default()
                    .insert(r.clone());
                shows.extend(s.shows.iter().map(String::as_str));
                noun = ty;
            }
        }
        if groups.is_empty() {
            if c.resources.iter().any(|r| r == "*") {
                c.narrowing = if rows.is_empty() {
                    "not narrowed: no evidence in the trail names the resources it is used on"
                        .to_string()
                } else {
                    format!(
                        "not narrowed: the trail shows no {noun} {} (account `{account}`)",
                        rows.iter()
                            .map(|r| r.shows.as_str())
                            .collect::<Vec<_>>()
                            .join(" or ")
                    )
                };
            }
            return vec![c];
        }
        let from = c.resources.clone();
        let shows = shows.into_iter().collect::<Vec<_>>().join(" or ");
        let kept: BTreeSet<&String> = groups.values().flatten().collect();
        let changed = kept != from.iter().collect::<BTreeSet<_>>();
        groups
            .into_iter()
            .map(|(condition, resources)| {
                let resources: Vec<String> = resources.into_iter().collect();
                let mut cond = c.condition.clone();
                for (op, ks) in condition.unwrap_or_default() {
                    for (k, vals) in ks {
                        cond.entry(op.clone()).or_default().entry(k).or_default().extend(vals);
                    }
                }
                Carried {
                    narrowing: if changed {
                        format!(
                            "narrowed from `{}` to {} {noun}(s) the trail shows {shows} (account `{account}`)",
                            from.join("`, `"),
                            resources.len()
                        )
                    } else {
                        String::new()
                    },
                    narrowed_from: if changed { from.clone() } else { Vec::new() },
                    resources,
                    condition: cond,
                    ..c.clone()
                }
            })
            .collect()
    }
}

/// The catalog's name of the resource type `r` is of, when `r` may narrow a grant of `def` for
/// a principal of `account`: a plain ARN (no wildcard, no `${…}`, no whitespace or control
/// character) of that account, of a resource type of the action.
fn usable(r: &str, account: &str, def: &ActionDef, catalog: &Catalog) -> Option<&'static str> {
    if has_wildcard(r)
        || crate::wildcard::has_variable(r)
        || r.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    let arn = Arn::parse(r)?;
    if arn.account != account || arn.resource.is_empty() {
        return None;
    }
    let service = catalog.service(&def.prefix)?;
    def.resources.iter().find_map(|ar| {
        let rt = service.resources().get(&ar.name)?;
        rt.arn_formats
            .iter()
            .any(|f| crate::mapping::format_matches(f, r))
            .then_some(noun(&rt.name))
    })
}

/// A short noun for a resource type (`role`, `function`), `'static` for the note.
fn noun(type_name: &str) -> &'static str {
    match type_name {
        "role" => "role",
        "function" => "function",
        _ => "resource",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_parses_and_names_catalog_actions() {
        let t = NarrowTable::embedded();
        assert!(t.malformed.is_empty(), "{:?}", t.malformed);
        assert!(!t.rows.is_empty());
        for r in &t.rows {
            assert!(
                Catalog::embedded().action_qualified(&r.action).is_some(),
                "carried-narrowing.tsv line {}: `{}` is not in the catalog",
                r.line,
                r.action
            );
        }
        assert_eq!(
            NarrowTable::parse(
                "iam:PassRole\tguessed\tx\tnote\nlambda:InvokeFunction\tobserved\t\tnote\n"
            )
            .malformed,
            [1, 2]
        );
    }

    fn carried(resources: &[&str]) -> Carried {
        Carried {
            action: "iam:PassRole".into(),
            resources: resources.iter().map(|r| r.to_string()).collect(),
            label: "Unobservable".into(),
            reason: "CloudTrail never logs this action".into(),
            ..Carried::default()
        }
    }

    #[test]
    fn roles_are_grouped_by_the_services_they_were_passed_to() {
        let c = Catalog::embedded();
        let def = c.action("iam", "PassRole").unwrap();
        let acct = "111122223333";
        let to = |s: &str| Some(condition("StringEquals", "iam:PassedToService", s.into()));
        let mut o = Observed::default();
        let a = "arn:aws:iam::111122223333:role/a";
        let b = "arn:aws:iam::111122223333:role/b";
        let u = "arn:aws:iam::111122223333:role/u";
        o.add(acct, def, a, to("lambda.amazonaws.com"), "x");
        o.add(acct, def, a, to("states.amazonaws.com"), "y");
        o.add(acct, def, b, to("lambda.amazonaws.com"), "x");
        o.add(acct, def, u, to("lambda.amazonaws.com"), "x");
        o.add(acct, def, u, None, "x");
        let out = o.narrow(acct, carried(&["*"]), c);
        let got: Vec<(Vec<String>, Conditions)> = out
            .iter()
            .map(|g| (g.resources.clone(), g.condition.clone()))
            .collect();
        let mut both = to("lambda.amazonaws.com").unwrap();
        crate::model::add_condition(
            &mut both,
            "StringEquals",
            "iam:PassedToService",
            "states.amazonaws.com".into(),
        );
        assert_eq!(
            got,
            [
                // some call on `u` had no condition: no condition
                (vec![u.to_string()], Conditions::new()),
                (vec![b.to_string()], to("lambda.amazonaws.com").unwrap()),
                (vec![a.to_string()], both),
            ]
        );
        assert!(out.iter().all(|g| g.narrowed_from == ["*"]));
        // another account's principal: nothing shown, `*` kept with the reason
        let other = o.narrow("444455556666", carried(&["*"]), c);
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].resources, ["*"]);
        assert!(
            other[0].narrowing.starts_with("not narrowed: "),
            "{other:?}"
        );
        // within what the grant covers; the same set is not "narrowed", even split by service
        let same = o.narrow(acct, carried(&[a]), c);
        assert_eq!(same[0].resources, [a]);
        assert!(same[0].narrowed_from.is_empty() && same[0].narrowing.is_empty());
        let split = o.narrow(acct, carried(&[a, b]), c);
        assert_eq!(split.len(), 2);
        assert!(
            split
                .iter()
                .all(|g| g.narrowed_from.is_empty() && !g.condition.is_empty()),
            "{split:?}"
        );
    }

    #[test]
    fn only_plain_arns_of_the_account_and_type_are_usable() {
        let c = Catalog::embedded();
        let pass = c.action("iam", "PassRole").unwrap();
        let acct = "111122223333";
        let ok = "arn:aws:iam::111122223333:role/app";
        assert_eq!(usable(ok, acct, pass, c), Some("role"));
        assert_eq!(
            usable(
                "arn:aws:iam::111122223333:role/service-role/app",
                acct,
                pass,
                c
            ),
            Some("role")
        );
        for bad in [
            "*",
            "arn:aws:iam::111122223333:role/*",
            "arn:aws:iam::111122223333:role/a?",
            "arn:aws:iam::111122223333:role/${*}",
            "arn:aws:iam::111122223333:role/${aws:username}",
            "arn:aws:iam::111122223333:role/a b",
            "arn:aws:iam::111122223333:role/a\u{1b}[31m",
            "arn:aws:iam::444455556666:role/app",
            "arn:aws:iam::111122223333:user/app",
            "arn:aws:lambda:eu-west-1:111122223333:function:f",
            "not-an-arn",
        ] {
            assert_eq!(usable(bad, acct, pass, c), None, "{bad}");
        }
        let invoke = c.action("lambda", "InvokeFunction").unwrap();
        assert_eq!(
            usable(
                "arn:aws:lambda:eu-west-1:111122223333:function:f:$LATEST",
                acct,
                invoke,
                c
            ),
            Some("function")
        );
    }
}
