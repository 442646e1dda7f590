//! Resource generalization with its cost shown: S3 keys collapse to their longest common path
//! prefixes (a bounded number per bucket), DynamoDB indexes to `table/T/index/*`, log streams to
//! their group. Nothing is ever widened across buckets, tables, log groups, accounts or regions.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::fold::{GeneralizeLevel, Parent, parent, stable_dir};
use crate::model::{Action, ArnPattern};
use crate::usage::{Evidence, EvidenceMap, Folded};

/// One generalized pattern and what it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Generalization {
    pub pattern: String,
    /// How many observed resources the pattern covers: everything else it matches is admitted
    /// beyond what the trail showed.
    pub observed: usize,
    /// `observed` is an estimate: more resources were folded into the pattern as they were read
    /// than are counted exactly ([`crate::usage::folded::EXACT`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub estimated: bool,
    /// Up to three of them, for the reader.
    pub examples: Vec<String>,
}

impl Generalization {
    /// `12`, or `about 1,900` for an estimate.
    pub fn observed_text(&self) -> String {
        if self.estimated {
            format!("about {}", thousands(self.observed))
        } else {
            thousands(self.observed)
        }
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Keys → at most `bound` patterns. Object keys change with every write
/// (`uploads/2026/11/28/<uuid>.jpg`), so a key in a directory stands for its directory, cut
/// before the first segment that looks like a date or an id (`uploads/`). The directories are cut
/// at the deepest depth that leaves at most `bound` groups (the same depth for all, so the
/// patterns read alike), and each group becomes its keys' longest common directory plus `*`.
/// A key at the top of the bucket stays exact. When even the top directories are too many, the
/// bucket's objects are one pattern.
fn collapse_keys<'k>(keys: &BTreeSet<&'k str>, bound: usize) -> Vec<(String, Vec<&'k str>)> {
    fn lcp_dir(keys: &[&str]) -> String {
        let first = keys[0];
        let mut n = first.len();
        for k in &keys[1..] {
            n = n.min(
                first
                    .bytes()
                    .zip(k.bytes())
                    .take_while(|(a, b)| a == b)
                    .count(),
            );
        }
        // a byte count may end inside a character (`写真/` and `写看/` share 5 bytes)
        while !first.is_char_boundary(n) {
            n -= 1;
        }
        match first[..n].rfind('/') {
            Some(i) => first[..=i].to_string(),
            None => String::new(),
        }
    }
    /// The key's stable directory cut to `depth` segments (`a/b/c.txt`, 1 → `a/`); `None` for
    /// a key with no directory.
    fn dir_at(key: &str, depth: usize) -> Option<&str> {
        key.rfind('/')?;
        let dir_end = stable_dir(key)?.len();
        let mut end = 0;
        for _ in 0..depth {
            match key[end..dir_end].find('/') {
                Some(i) => end += i + 1,
                None => break,
            }
        }
        Some(&key[..end])
    }
    let bound = bound.max(1);
    let max_depth = keys
        .iter()
        .map(|k| stable_dir(k).map_or(0, |d| d.matches('/').count()))
        .max()
        .unwrap_or(0);
    let group_at = |depth: usize| {
        let mut m: BTreeMap<Option<&str>, Vec<&str>> = BTreeMap::new();
        for k in keys {
            match dir_at(k, depth) {
                Some(d) => m.entry(Some(d)).or_default().push(k),
                None => m.entry(None).or_default().push(k),
            }
        }
        m
    };
    let count = |m: &BTreeMap<Option<&str>, Vec<&str>>| {
        m.iter()
            .map(|(d, v)| if d.is_some() { 1 } else { v.len() })
            .sum::<usize>()
    };
    let chosen = if max_depth == 0 {
        // only top-level keys (exact while they fit) and keys under variable directories
        Some(group_at(0)).filter(|m| count(m) <= bound)
    } else {
        (1..=max_depth)
            .rev()
            .map(group_at)
            .find(|m| count(m) <= bound)
    };
    let Some(groups) = chosen else {
        return vec![("*".to_string(), keys.iter().copied().collect())];
    };
    let mut out = Vec::new();
    for (dir, members) in groups {
        match dir {
            None => out.extend(members.iter().map(|k| (k.to_string(), vec![*k]))),
            Some(d) => {
                // the members' common stable directory (so a key folded on read to its stable
                // directory gives the same pattern as the key itself)
                let stable: Vec<&str> = members.iter().filter_map(|k| stable_dir(k)).collect();
                let lcp = if stable.is_empty() {
                    d.to_string()
                } else {
                    lcp_dir(&stable)
                };
                let p = if lcp.len() > d.len() {
                    lcp
                } else {
                    d.to_string()
                };
                out.push((format!("{p}*"), members));
            }
        }
    }
    out.sort();
    out
}

/// Generalizes one set of resources. Returns the new set and, for every pattern that stands
/// for more than itself, what it covers.
pub fn generalize(
    resources: &BTreeSet<String>,
    level: GeneralizeLevel,
    bound: usize,
) -> (BTreeSet<String>, Vec<Generalization>) {
    generalize_folded(resources, level, bound, &|_| None)
}

/// The three smallest distinct names offered, in order: a generalization's examples. Only a
/// name that is kept is copied.
#[derive(Default)]
struct Smallest(Vec<String>);

impl Smallest {
    const KEEP: usize = 3;

    fn offer(&mut self, name: &str) {
        if self.0.len() == Self::KEEP && self.0.last().is_some_and(|max| name >= max.as_str()) {
            return;
        }
        if let Err(at) = self.0.binary_search_by(|x| x.as_str().cmp(name)) {
            self.0.insert(at, name.to_string());
            self.0.truncate(Self::KEEP);
        }
    }
}

/// As [`generalize`], where some resources are patterns that exact resources were folded into
/// as they were read: `folded` says what each stands for, so the records count and show the
/// exact resources.
pub fn generalize_folded<'f, S: AsRef<str>>(
    resources: &BTreeSet<S>,
    level: GeneralizeLevel,
    bound: usize,
    folded: &dyn Fn(&str) -> Option<&'f Folded>,
) -> (BTreeSet<String>, Vec<Generalization>) {
    // Nothing is folded on read at `exact` (`InputArgs::key_level`).
    if level == GeneralizeLevel::Exact {
        let all = resources.iter().map(|r| r.as_ref().to_string()).collect();
        return (all, Vec::new());
    }
    let mut out = BTreeSet::new();
    let mut records = Vec::new();
    let mut s3: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut by_parent: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in resources {
        let r = r.as_ref();
        match parent(r) {
            Some(Parent::S3 { head, key }) => {
                s3.entry(head).or_default().insert(key);
            }
            Some(Parent::Index { head } | Parent::LogStream { head }) => {
                by_parent.entry(head).or_default().push(r)
            }
            None => {
                out.insert(r.to_string());
            }
        }
    }
    // What `pattern` stands for (`head` and each of `keys`), when it is more than itself: how
    // many, and the first three names in order (an exact resource, or what a folded pattern
    // saw). One name is put together at a time, and only the three kept are allocated.
    let mut full = String::new();
    let mut example = String::new();
    let mut record = |pattern: String, head: &str, keys: &[&str]| {
        let mut observed = 0;
        let mut estimated = false;
        let mut folded_in = false;
        let mut examples = Smallest::default();
        for k in keys {
            full.clear();
            full.push_str(head);
            full.push_str(k);
            match folded(&full) {
                Some(f) => {
                    folded_in = true;
                    let (n, est) = f.distinct();
                    observed += n as usize;
                    estimated |= est;
                    f.each_example(crate::fold::fold_stem(&full), &mut example, |e| {
                        examples.offer(e)
                    });
                }
                None => {
                    observed += 1;
                    examples.offer(&full);
                }
            }
        }
        // (one key: `full` is that key's name)
        if keys.len() > 1 || (keys.len() == 1 && full != pattern) || folded_in {
            records.push(Generalization {
                examples: examples.0,
                observed,
                estimated,
                pattern: pattern.clone(),
            });
        }
        pattern
    };
    for (head, keys) in s3 {
        let groups = if level == GeneralizeLevel::Type {
            vec![("*".to_string(), keys.iter().copied().collect::<Vec<_>>())]
        } else {
            collapse_keys(&keys, bound)
        };
        for (p, covered) in groups {
            out.insert(record(format!("{head}{p}"), head, &covered));
        }
    }
    for (head, members) in by_parent {
        // One index or stream stays exact at `prefix`; several (or `type`) collapse.
        if members.len() == 1 && level == GeneralizeLevel::Prefix && !head.ends_with(":log-stream:")
        {
            out.insert(members[0].to_string());
            continue;
        }
        out.insert(record(format!("{head}*"), "", &members));
    }
    // A pattern already covering another pattern's resources leaves nothing to add.
    // (a pattern matches only text that starts with its literal head, before any `*`, `?` or
    // `${`: that head rules out most pairs without matching them)
    let patterns: Vec<(usize, String)> = out
        .iter()
        .filter(|p| p.ends_with('*'))
        .map(|p| (p.find(['*', '?', '$']).unwrap_or(p.len()), p.clone()))
        .collect();
    out.retain(|r| {
        let text = crate::wildcard::unescape(r);
        !patterns.iter().any(|(head, p)| {
            p != r && text.starts_with(&p[..*head]) && crate::wildcard::matches(p, &text, false)
        })
    });
    records.retain(|g| out.contains(&g.pattern));
    (out, records)
}

/// The grants with each action's resources generalized: every observed (action, resource) is
/// folded into the pattern that stands for it, evidence merged.
pub fn generalize_grants(
    grants: &crate::usage::Grants,
    level: GeneralizeLevel,
    bound: usize,
) -> crate::usage::Grants {
    let mut per_action: BTreeMap<&Action, BTreeMap<String, (&ArnPattern, &Evidence)>> =
        BTreeMap::new();
    for ((a, r), e) in grants {
        per_action
            .entry(a)
            .or_default()
            .insert(r.to_string(), (r, e));
    }
    let mut out = crate::usage::Grants::new();
    for (action, evidence) in per_action {
        let resources: BTreeSet<String> = evidence.keys().cloned().collect();
        let (patterns, _) = generalize(&resources, level, bound);
        for (r, (original, ev)) in evidence {
            let target = patterns
                .iter()
                .find(|p| **p == r)
                .or_else(|| {
                    patterns
                        .iter()
                        .find(|p| crate::wildcard::matches(p, &r, false))
                })
                .and_then(|p| ArnPattern::new(p.as_str()).ok());
            // no pattern covers it: the resource as it was
            let target = target.unwrap_or_else(|| original.clone());
            out.add((action.clone(), target), ev.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generalization's examples are the three smallest distinct names, as sorting every
    /// name, removing repeats and keeping three would give, whatever order they come in.
    #[test]
    fn the_examples_are_the_three_smallest_names() {
        let names = ["k/5", "k/1", "k/9", "k/1", "k/3", "k/0", "k/3", "k/7"];
        for turn in 0..names.len() {
            let mut offered = names.to_vec();
            offered.rotate_left(turn);
            let mut kept = Smallest::default();
            for n in &offered {
                kept.offer(n);
            }
            assert_eq!(kept.0, ["k/0", "k/1", "k/3"], "{offered:?}");
        }
        let mut two = Smallest::default();
        for n in ["b", "a", "b"] {
            two.offer(n);
        }
        assert_eq!(two.0, ["a", "b"]);
    }

    #[test]
    fn a_pattern_covering_another_leaves_it_out() {
        let set = |v: &[&str]| {
            v.iter()
                .map(|s| s.to_string())
                .collect::<BTreeSet<String>>()
        };
        let kept = |pattern: &str, stream_of: &str| {
            let stream = format!("arn:aws:logs:eu-west-1:1:log-group:{stream_of}:log-stream:s1");
            generalize(&set(&[pattern, &stream]), GeneralizeLevel::Prefix, 32).0
        };
        let group = "arn:aws:logs:eu-west-1:1:log-group:g:*";
        assert_eq!(kept(group, "g"), set(&[group]));
        // a head that differs only after a wildcard is still compared in full
        let any_group = "arn:aws:logs:eu-west-1:1:log-group:*";
        assert_eq!(kept(any_group, "h"), set(&[any_group]));
        // a literal `*` (escaped) is no wildcard: it covers nothing else
        let literal = "arn:aws:logs:eu-west-1:1:log-group:a${*}";
        assert_eq!(kept(literal, "ab").len(), 2);
    }
    use crate::fold::{fold_on_read, is_variable_segment};
    use proptest::prelude::*;

    /// Folds the resources as the read does: pattern → what went into it.
    fn fold_all(resources: &BTreeSet<String>) -> BTreeMap<String, Folded> {
        let mut out: BTreeMap<String, Folded> = BTreeMap::new();
        for r in resources {
            match fold_on_read(r) {
                Some(p) => {
                    let stem = crate::fold::fold_stem(&p);
                    let rest = r.strip_prefix(stem).expect("a stem starts its resources");
                    out.entry(p.clone()).or_default().add(stem, rest)
                }
                None => {
                    out.entry(r.clone()).or_default();
                }
            }
        }
        out
    }

    fn via_fold(
        resources: &BTreeSet<String>,
        level: GeneralizeLevel,
        bound: usize,
    ) -> (BTreeSet<String>, Vec<Generalization>) {
        let folded = fold_all(resources);
        let keys: BTreeSet<String> = folded.keys().cloned().collect();
        let lookup = |r: &str| folded.get(r).filter(|f| f.distinct().0 > 0);
        generalize_folded(&keys, level, bound, &lookup)
    }

    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("uploads".to_string()),
            Just("in".to_string()),
            Just("p1".to_string()),
            Just("cfg".to_string()),
            Just("2026".to_string()),
            Just("11".to_string()),
            Just("3f1c9a527d444b7e".to_string()),
        ]
    }

    fn key() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(segment(), 0..4),
            "[a-c]{1,2}(\\.json)?",
        )
            .prop_map(|(dirs, file)| {
                let mut k: String = dirs.iter().map(|d| format!("{d}/")).collect();
                k.push_str(&file);
                k
            })
    }

    proptest! {
        /// Folding keys and log streams on read gives the policy the exact resources give, and
        /// the same count of what each pattern stands for.
        #[test]
        fn folding_on_read_changes_no_pattern(
            keys in prop::collection::btree_set(key(), 1..40),
            streams in prop::collection::btree_set("[a-d]{1,3}", 0..4),
            bound in 1usize..6,
            level in prop_oneof![Just(GeneralizeLevel::Prefix), Just(GeneralizeLevel::Type)],
        ) {
            let mut resources: BTreeSet<String> = keys
                .iter()
                .map(|k| format!("arn:aws:s3:::b{}/{k}", k.len() % 2))
                .collect();
            resources.extend(
                streams.iter().map(|s| format!("arn:aws:logs:eu-west-1:1:log-group:g:log-stream:{s}")),
            );
            let (exact, exact_rec) = generalize(&resources, level, bound);
            let (folded, folded_rec) = via_fold(&resources, level, bound);
            prop_assert_eq!(&exact, &folded);
            let count = |rec: &[Generalization]| -> BTreeMap<String, usize> {
                rec.iter().map(|g| (g.pattern.clone(), g.observed)).collect()
            };
            prop_assert_eq!(count(&exact_rec), count(&folded_rec));
        }
    }

    #[test]
    fn what_is_folded_on_read() {
        let f = |a: &str| fold_on_read(a);
        assert_eq!(
            f("arn:aws:s3:::b/uploads/2026/11/a.jpg").as_deref(),
            Some("arn:aws:s3:::b/uploads/*")
        );
        assert_eq!(
            f("arn:aws:s3:::b/2026/11/a.jpg").as_deref(),
            Some("arn:aws:s3:::b/*"),
            "a key under a variable top directory"
        );
        assert_eq!(f("arn:aws:s3:::b/top.txt"), None, "a top-level key stays");
        assert_eq!(f("arn:aws:s3:::b/uploads/*"), None, "already a pattern");
        assert_eq!(f("arn:aws:s3:::b"), None);
        assert_eq!(
            f("arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f:log-stream:2026/11/01/[$LATEST]x")
                .as_deref(),
            Some("arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f:log-stream:*")
        );
        assert_eq!(f("arn:aws:dynamodb:eu-west-1:1:table/t/index/a"), None);
        assert_eq!(f("arn:aws:dynamodb:eu-west-1:1:table/t"), None);
    }

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn s3_keys_collapse_to_common_directories() {
        let r = set(&[
            "arn:aws:s3:::b/uploads/2026/11/a.jpg",
            "arn:aws:s3:::b/uploads/2026/12/b.jpg",
            "arn:aws:s3:::other/x.txt",
        ]);
        let (g, rec) = generalize(&r, GeneralizeLevel::Prefix, 8);
        assert_eq!(
            g,
            set(&["arn:aws:s3:::b/uploads/*", "arn:aws:s3:::other/x.txt"]),
            "dates are not names"
        );
        assert_eq!(rec[0].observed, 2);
        let r2 = set(&[
            "arn:aws:s3:::b/app/cfg/a.json",
            "arn:aws:s3:::b/app/cfg/b.json",
            "arn:aws:s3:::b/app/data/c.json",
        ]);
        let (g, _) = generalize(&r2, GeneralizeLevel::Prefix, 8);
        assert_eq!(
            g,
            set(&["arn:aws:s3:::b/app/cfg/*", "arn:aws:s3:::b/app/data/*"])
        );
        let (g, _) = generalize(&r2, GeneralizeLevel::Prefix, 1);
        assert_eq!(g, set(&["arn:aws:s3:::b/app/*"]));
        assert!(
            is_variable_segment("2026-11-01")
                && is_variable_segment("11")
                && is_variable_segment("3f1c9a527d444b7e")
        );
        assert!(
            !is_variable_segment("p07")
                && !is_variable_segment("uploads")
                && !is_variable_segment("v2")
        );
        let (g, _) = generalize(&r, GeneralizeLevel::Type, 8);
        assert_eq!(g, set(&["arn:aws:s3:::b/*", "arn:aws:s3:::other/*"]));
        let (g, _) = generalize(&r, GeneralizeLevel::Exact, 1);
        assert_eq!(g, r);
    }

    #[test]
    fn bounded_prefixes() {
        let keys: Vec<String> = (0..30)
            .flat_map(|p| (0..20).map(move |k| format!("arn:aws:s3:::b/p{p:02}/day/{k}.json")))
            .collect();
        let r: BTreeSet<String> = keys.iter().cloned().collect();
        let (g, rec) = generalize(&r, GeneralizeLevel::Prefix, 32);
        assert_eq!(g.len(), 30);
        assert!(g.contains("arn:aws:s3:::b/p07/day/*"));
        assert_eq!(rec.iter().map(|x| x.observed).sum::<usize>(), 600);
        let (g, _) = generalize(&r, GeneralizeLevel::Prefix, 10);
        assert_eq!(
            g,
            set(&["arn:aws:s3:::b/*"]),
            "30 directories do not fit in 10"
        );
        let many: BTreeSet<String> = (0..40)
            .map(|k| format!("arn:aws:s3:::b/k{k}.txt"))
            .collect();
        let (g, _) = generalize(&many, GeneralizeLevel::Prefix, 10);
        assert_eq!(
            g,
            set(&["arn:aws:s3:::b/*"]),
            "40 top-level keys do not fit in 10"
        );
    }

    #[test]
    fn indexes_and_log_streams() {
        let r = set(&[
            "arn:aws:dynamodb:eu-west-1:1:table/t/index/a",
            "arn:aws:dynamodb:eu-west-1:1:table/t/index/b",
            "arn:aws:dynamodb:eu-west-1:1:table/u/index/c",
            "arn:aws:dynamodb:eu-west-1:1:table/t",
            "arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f:log-stream:2026/11/01/[$LATEST]x",
            "arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f:log-stream:2026/11/02/[$LATEST]y",
        ]);
        let (g, _) = generalize(&r, GeneralizeLevel::Prefix, 8);
        assert_eq!(
            g,
            set(&[
                "arn:aws:dynamodb:eu-west-1:1:table/t",
                "arn:aws:dynamodb:eu-west-1:1:table/t/index/*",
                "arn:aws:dynamodb:eu-west-1:1:table/u/index/c",
                "arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f:log-stream:*",
            ])
        );
    }
}
