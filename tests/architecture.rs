//! The layer order of docs/architecture.md holds: every `crate::…` path in `src/` (outside
//! `#[cfg(test)]` code, comments and strings) names a module above its own in that list, so no
//! lower module names a higher one and there is no cycle among the top-level modules.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "a test: a failure is the report"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The numbered list of docs/architecture.md: module → rank.
fn layers() -> BTreeMap<String, usize> {
    let doc = std::fs::read_to_string("docs/architecture.md").unwrap();
    let mut out = BTreeMap::new();
    for line in doc.lines() {
        let Some((num, rest)) = line.split_once(". `") else {
            continue;
        };
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let name = rest.split('`').next().unwrap().to_string();
        assert!(
            out.insert(name.clone(), out.len()).is_none(),
            "`{name}` is listed twice"
        );
    }
    assert!(out.len() > 10, "docs/architecture.md lists no layers");
    out
}

/// Source text with comments, string and character literals blanked out (so a path in a doc
/// comment or a message does not count), keeping everything else.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &src[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(b.len(), |n| i + n);
            i = end;
        } else if rest.starts_with("/*") {
            let mut depth = 0;
            while i < b.len() {
                if src[i..].starts_with("/*") {
                    depth += 1;
                    i += 2;
                } else if src[i..].starts_with("*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if rest.starts_with("r#") || rest.starts_with("r\"") {
            let hashes = rest[1..].bytes().take_while(|&c| c == b'#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let start = i + 1 + hashes + 1;
            i = src[start..]
                .find(&close)
                .map_or(b.len(), |n| start + n + close.len());
            out.push_str("\"\"");
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if b[i] == b'\'' && (b.get(i + 1) == Some(&b'\\') || b.get(i + 2) == Some(&b'\'')) {
            // a character literal; `'a` without a closing quote is a lifetime
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("' '");
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `code` without the items under `#[cfg(test)]`.
fn without_tests(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let brace = item.find('{');
        let semi = item.find(';');
        let end = match (brace, semi) {
            (Some(b), Some(s)) if s < b => s + 1,
            (Some(b), _) => {
                let mut depth = 0;
                let mut end = item.len();
                for (k, c) in item[b..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (None, Some(s)) => s + 1,
            (None, None) => item.len(),
        };
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// The top-level modules named by `crate::…` paths in `code`, `use crate::{a, b::c}` included.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in code.match_indices("crate::") {
        if at > 0 && {
            let c = code.as_bytes()[at - 1];
            c.is_ascii_alphanumeric() || c == b'_' || c == b'$'
        } {
            continue;
        }
        let rest = code[at + "crate::".len()..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            // the first segment of each path at depth 1 of the group
            let mut depth = 1;
            let mut expect = true;
            let mut k = 0;
            let g = group.as_bytes();
            while k < g.len() && depth > 0 {
                match g[k] {
                    b'{' => depth += 1,
                    b'}' => depth -= 1,
                    b',' if depth == 1 => expect = true,
                    c if expect && depth == 1 && (c.is_ascii_alphabetic() || c == b'_') => {
                        out.insert(ident(&group[k..]));
                        expect = false;
                    }
                    _ => {}
                }
                k += 1;
            }
        } else {
            let name = ident(rest);
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out.remove("self");
    out
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs and main.rs).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix("src").unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "lib" && name != "main").then_some(name)
}

#[test]
fn modules_depend_one_way_in_the_documented_order() {
    let rank = layers();
    let lib = std::fs::read_to_string("src/lib.rs").unwrap();
    let declared: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect();
    let listed: BTreeSet<String> = rank.keys().cloned().collect();
    assert_eq!(
        declared, listed,
        "src/lib.rs's modules and docs/architecture.md's layer list differ"
    );
    let mut files = Vec::new();
    sources(Path::new("src"), &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for f in &files {
        let Some(from) = module_of(f) else { continue };
        let code = without_tests(&code_only(&std::fs::read_to_string(f).unwrap()));
        for to in named_modules(&code) {
            if to == from {
                continue;
            }
            let (Some(a), Some(b)) = (rank.get(&from), rank.get(&to)) else {
                wrong.push(format!(
                    "{}: `crate::{to}` is not a listed module",
                    f.display()
                ));
                continue;
            };
            if b > a {
                wrong.push(format!(
                    "{}: `{from}` (layer {}) uses `{to}` (layer {}), which is above it",
                    f.display(),
                    a + 1,
                    b + 1
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against docs/architecture.md:\n{}",
        wrong.join("\n")
    );
}

/// The command line parses, calls the pipeline and renders; it stays small: 1,560 lines for the
/// eleven commands that run the pipeline and the input options they share (`--spill-after`
/// took it past 1,500; `explain`'s window options, shared with the others as `WindowArgs`, and
/// `--current live` for `drift` and `graph --blast` past 1,525), and 100 for the three that
/// describe tightrole itself (`schema`, `completions`, `man`: clap glue in `src/cli/meta.rs`).
#[test]
fn the_cli_stays_thin() {
    let mut files = Vec::new();
    sources(Path::new("src/cli"), &mut files);
    let lines: usize = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap().lines().count())
        .sum();
    assert!(
        lines < 1_650,
        "src/cli has {lines} lines: move what is not argument parsing or printing into the library"
    );
}

/// The checker itself: paths in comments, strings and test code do not count; groups do.
#[test]
fn the_checker_reads_paths_as_rust_does() {
    let src = r##"
use crate::{alpha::x, beta::{y, z}, gamma};
// crate::commented
let s = "crate::in_a_string";
let r = r#"crate::raw"#;
let c = '"'; let l: &'static str = crate::delta::NAME;
#[cfg(test)]
mod tests { use crate::only_in_tests; }
fn f() { crate::epsilon::g() }
"##;
    let got = named_modules(&without_tests(&code_only(src)));
    let want: BTreeSet<String> = ["alpha", "beta", "gamma", "delta", "epsilon"]
        .map(String::from)
        .into();
    assert_eq!(got, want);
}
