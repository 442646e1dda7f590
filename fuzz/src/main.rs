//! Byte fuzzing on the stable toolchain: proptest generates and mutates inputs (random bytes,
//! and the test fixtures with bit flips, insertions, deletions, truncations and splices), each
//! target checks its property, and a failure is shrunk to a minimal input and saved.
//!
//!   cargo run --profile fuzz -p tightrole-fuzz -- TARGET [SECONDS]
//!
//! Targets: `record-parser`, `policy-roundtrip`, `arn-roundtrip`, `mapping`, `all`.
//! (cargo-fuzz needs a nightly toolchain, which this project's machines do not have.)

use std::path::PathBuf;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use tightrole::arn::Arn;
use tightrole::catalog::Catalog;
use tightrole::mapping::{Class, Mapper};
use tightrole::policy::PolicyDocument;
use tightrole::source::{FileReport, parse_bytes, reading};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The seed corpus: the bad-input corpus (with its non-ASCII and control-character names,
/// `non-ascii-and-control-names.json`), the demo's policies, decompressed demo trail files.
fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for dir in ["tests/bad_input", "policies"] {
        if let Ok(rd) = std::fs::read_dir(root().join(dir)) {
            let mut files: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for f in files {
                if let Ok(b) = std::fs::read(&f)
                    && b.len() < 200_000
                {
                    out.push(b);
                }
            }
        }
    }
    let day =
        root().join("examples/demo-trail/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/01");
    if let Ok(rd) = std::fs::read_dir(&day) {
        let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files.into_iter().take(2) {
            if let Ok(b) = std::fs::read(f) {
                // and inflated, so that mutations reach the records' JSON
                let mut json = Vec::new();
                if std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&b[..]), &mut json)
                    .is_ok()
                {
                    out.push(json);
                }
                out.push(b);
            }
        }
    }
    out.push(br#"arn:aws:s3:::bucket/key/with:colon"#.to_vec());
    out.push(br#"arn:aws:lambda:eu-west-1:111122223333:function:f:prod"#.to_vec());
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    Splice(usize, usize, usize),
}

fn mutate(seed: &[u8], other: &[u8], ms: &[Mutation]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for m in ms {
        let n = b.len().max(1);
        match m {
            Mutation::Flip(i, bit) => {
                if !b.is_empty() {
                    let i = i % b.len();
                    b[i] ^= 1 << (bit % 8);
                }
            }
            Mutation::Insert(i, bytes) => {
                let i = i % (b.len() + 1);
                b.splice(i..i, bytes.iter().copied());
            }
            Mutation::Delete(i, len) => {
                let i = i % n;
                let end = (i + len % 64).min(b.len());
                if i < end {
                    b.drain(i..end);
                }
            }
            Mutation::Truncate(i) => b.truncate(i % n),
            Mutation::Splice(i, j, len) => {
                if !other.is_empty() {
                    let j = j % other.len();
                    let end = (j + len % 256).min(other.len());
                    let i = i % (b.len() + 1);
                    b.splice(i..i, other[j..end].iter().copied());
                }
            }
        }
    }
    b
}

fn inputs(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len();
    let mutation = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (
            any::<usize>(),
            prop::collection::vec(
                prop_oneof![
                    any::<u8>(),
                    Just(b'{'),
                    Just(b'"'),
                    Just(b'['),
                    Just(b':'),
                    Just(b',')
                ],
                1..8
            )
        )
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, l)| Mutation::Delete(i, l)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(i, j, l)| Mutation::Splice(i, j, l)),
    ];
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        6 => (0..n, 0..n, prop::collection::vec(mutation, 1..6)).prop_map(move |(s, o, ms)| mutate(&seeds[s], &seeds[o], &ms)),
    ]
}

fn check_record_parser(bytes: &[u8]) -> Result<(), TestCaseError> {
    let mut r = FileReport::default();
    let mut n = 0u64;
    parse_bytes("fuzz", bytes, &mut |_| n += 1, &mut r);
    prop_assert_eq!(n, r.records);
    // the record scanner reads what serde_json alone reads, and as it does
    if let Ok(text) = std::str::from_utf8(bytes) {
        prop_assert_eq!(reading(text, true), reading(text, false));
    }
    Ok(())
}

fn check_mapping(bytes: &[u8]) -> Result<(), TestCaseError> {
    let catalog = Catalog::embedded();
    let mapper = Mapper::embedded();
    let mut r = FileReport::default();
    let mut failure: Option<String> = None;
    parse_bytes(
        "fuzz",
        bytes,
        &mut |rec| {
            let m = mapper.map(rec);
            for need in &m.needs {
                let q = need.action.qualified();
                if catalog.action_qualified(q).is_none() {
                    failure = Some(format!("{q} is not in the catalog"));
                }
                if need.resolved.resources.is_empty() {
                    failure = Some(format!("{q} with no resource"));
                }
            }
            if m.class == Class::PermissionLess && !m.needs.is_empty() {
                failure = Some("a permission-less call with needs".into());
            }
        },
        &mut r,
    );
    match failure {
        Some(f) => Err(TestCaseError::fail(f)),
        None => Ok(()),
    }
}

fn check_policy_roundtrip(bytes: &[u8]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(p) = PolicyDocument::parse(&text) {
        let printed = p.to_json_pretty();
        let again = PolicyDocument::parse(&printed);
        prop_assert_eq!(again.as_ref(), Ok(&p), "printed: {}", printed);
        prop_assert_eq!(again.map(|a| a.to_json_pretty()), Ok(printed));
    }
    Ok(())
}

fn check_arn_roundtrip(bytes: &[u8]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(bytes);
    for candidate in std::iter::once(text.as_ref()).chain(text.split(['"', ' ', '\n'])) {
        if let Some(a) = Arn::parse(candidate) {
            prop_assert_eq!(a.to_string(), candidate);
            prop_assert_eq!(Arn::parse(&a.to_string()), Some(a));
        }
    }
    Ok(())
}

fn run(target: &str, seconds: u64) -> Result<u64, String> {
    let check: fn(&[u8]) -> Result<(), TestCaseError> = match target {
        "record-parser" => check_record_parser,
        "mapping" => check_mapping,
        "policy-roundtrip" => check_policy_roundtrip,
        "arn-roundtrip" => check_arn_roundtrip,
        other => return Err(format!("unknown target `{other}`")),
    };
    let strategy = inputs(seeds());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut execs = 0u64;
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let config = Config {
            cases: 2_000,
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(round),
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        let result = runner.run(&strategy, |input| {
            std::panic::catch_unwind(|| check(&input))
                .map_err(|_| TestCaseError::fail("panicked"))?
        });
        execs += 2_000;
        if let Err(TestError::Fail(why, input)) = result {
            let dir = root().join("fuzz/artifacts");
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("{target}-{round}.bin"));
            let _ = std::fs::write(&path, &input);
            return Err(format!(
                "{target}: {why}; minimal input saved to {}",
                path.display()
            ));
        }
    }
    Ok(execs)
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let target = args.first().map(String::as_str).unwrap_or("all");
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(60);
    let targets: Vec<&str> = if target == "all" {
        vec![
            "record-parser",
            "mapping",
            "policy-roundtrip",
            "arn-roundtrip",
        ]
    } else {
        vec![target]
    };
    let mut code = 0u8;
    for t in targets {
        let start = Instant::now();
        match run(t, seconds) {
            Ok(execs) => println!(
                "{t}: {execs} execs in {:.0} s, no failure",
                start.elapsed().as_secs_f64()
            ),
            Err(e) => {
                println!("FAIL {e}");
                code = 1;
            }
        }
    }
    std::process::ExitCode::from(code)
}
