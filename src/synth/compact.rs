//! Zero-cost action wildcards: `s3:GetObject*` replaces a list of actions only when every
//! catalog action the wildcard matches is already in the list, so the grant stays exactly the
//! same set (for this catalog version).

use std::collections::BTreeSet;

use crate::catalog::Catalog;

/// Compacts a list of `prefix:Action` names. The result expands back, through the catalog, to
/// exactly the input set.
pub fn compact(actions: &[String], catalog: &Catalog) -> Vec<String> {
    let mut by_prefix: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for a in actions {
        if let Some((p, n)) = a.split_once(':') {
            by_prefix
                .entry(p.to_string())
                .or_default()
                .insert(n.to_string());
        }
    }
    let mut out = Vec::new();
    for (prefix, names) in by_prefix {
        let Some(service) = catalog.service(&prefix) else {
            out.extend(names.iter().map(|n| format!("{prefix}:{n}")));
            continue;
        };
        // the service's action names, lowercased, sorted: those starting with a stem are a range
        let all: Vec<&String> = service.actions().keys().collect();
        let lower: BTreeSet<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        // A stem is free when every catalog action starting with it is in the list.
        let free = |stem: &str| -> Option<usize> {
            let stem = stem.to_ascii_lowercase();
            let start = all.partition_point(|a| a.as_str() < stem.as_str());
            let matching = all[start..].iter().take_while(|a| a.starts_with(&stem));
            let mut n = 0;
            for a in matching {
                if !lower.contains(a.as_str()) {
                    return None;
                }
                n += 1;
            }
            (n > 0).then_some(n)
        };
        if free("").is_some() {
            out.push(format!("{prefix}:*"));
            continue;
        }
        let mut covered: BTreeSet<String> = BTreeSet::new();
        let mut stems: BTreeSet<String> = BTreeSet::new();
        for n in &names {
            if covered.contains(&n.to_ascii_lowercase()) {
                continue;
            }
            // the shortest free stem of this name (covers the most), if it covers two or more
            let best = (1..n.len())
                .filter(|i| n.is_char_boundary(*i))
                .map(|i| &n[..i])
                .find_map(|s| free(s).filter(|c| *c >= 2).map(|c| (s, c)));
            // …spelled as long as it still means the same set (`GetObject*`, not `GetObjec*`)
            let best = best.map(|(s, c)| {
                let mut stem = s;
                for j in (s.len() + 1..=n.len()).filter(|j| n.is_char_boundary(*j)) {
                    if free(&n[..j]) == Some(c) {
                        stem = &n[..j];
                    } else {
                        break;
                    }
                }
                stem
            });
            match best {
                Some(stem) => {
                    let sl = stem.to_ascii_lowercase();
                    covered.extend(lower.iter().filter(|a| a.starts_with(&sl)).cloned());
                    stems.insert(format!("{prefix}:{stem}*"));
                }
                None => {
                    covered.insert(n.to_ascii_lowercase());
                    stems.insert(format!("{prefix}:{n}"));
                }
            }
        }
        out.extend(stems);
    }
    out.sort_by(|a, b| super::by_lowercase(a, b));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Matcher;
    use crate::policy::expand::expand_actions;

    #[test]
    fn only_free_wildcards() {
        let c = Catalog::embedded();
        let get_object: Vec<String> = c
            .service("s3")
            .into_iter()
            .flat_map(|s| s.actions().values())
            .filter(|a| a.name.starts_with("GetObject"))
            .map(|a| a.qualified().to_string())
            .collect();
        let mut input = get_object.clone();
        input.push("s3:PutObject".into());
        let out = compact(&input, c);
        assert!(out.contains(&"s3:GetObject*".to_string()), "{out:?}");
        assert!(
            out.contains(&"s3:PutObject".to_string()),
            "s3:PutObject* would add PutObjectAcl etc.: {out:?}"
        );
        let back = expand_actions(&Matcher::Is(out), c);
        let want: BTreeSet<String> = input.into_iter().collect();
        assert_eq!(back, want);
        // nothing free: unchanged
        let plain = vec![
            "dynamodb:GetItem".to_string(),
            "dynamodb:PutItem".to_string(),
        ];
        assert_eq!(compact(&plain, c), plain);
    }
}
