//! Memory on hostile input (defect 8 of the review): a decompression bomb is skipped at the
//! `--max-file-size` bound, and one principal touching a great many keys at the top of a bucket
//! is folded as it is read.

use std::io::Write;

use serde_json::{Value, json};
use tempfile::TempDir;

use super::common;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A small gzip that inflates far past the bound is skipped with a warning naming the file and
/// the option; the valid file beside it is read in full.
#[test]
fn a_decompression_bomb_is_skipped_and_the_other_files_are_read() {
    let tmp = TempDir::new().unwrap();
    // 64 MiB of spaces inside a Records array: about 64 KiB of gzip
    let mut bomb = b"{\"Records\": [".to_vec();
    bomb.resize(64 << 20, b' ');
    bomb.extend_from_slice(b"]}");
    let bomb_path = tmp.path().join("bomb.json.gz");
    std::fs::write(&bomb_path, gzip(&bomb)).unwrap();
    assert!(std::fs::metadata(&bomb_path).unwrap().len() < 1 << 20);
    let good = common::write_records(
        tmp.path(),
        "good.json",
        &[common::record(
            "fn:r/f",
            "dynamodb.amazonaws.com",
            "GetItem",
            json!({"tableName": "t"}),
        )],
    );
    let run = common::tightrole(
        &[
            "usage",
            "--max-file-size",
            "16M",
            bomb_path.to_str().unwrap(),
            good.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("bomb.json.gz")
            && run.stderr.contains(
                "decompresses to more than 16777216 bytes, over `--max-file-size`; skipped"
            ),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("dynamodb:GetItem"), "{}", run.stdout);
    // a plain file over the bound is refused before it is read whole
    let plain = tmp.path().join("big.json");
    std::fs::write(&plain, &bomb).unwrap();
    let run = common::tightrole(
        &["usage", "--max-file-size", "1M", plain.to_str().unwrap()],
        None,
    );
    assert_eq!(run.code, 3, "nothing usable was read: {}", run.stderr);
    assert!(
        run.stderr.contains("holds more than 1048576 bytes"),
        "{}",
        run.stderr
    );
    // and the bound is a size
    let run = common::tightrole(&["usage", "--max-file-size", "lots", "x"], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("is not a size"), "{}", run.stderr);
}

/// Twenty thousand distinct keys at the top of one bucket, for one function: the reader keeps
/// at most 4,096 of them exact and folds the rest into the bucket's pattern, so the evidence
/// stays bounded; the policy is the one the exact keys give (`b/*`, with the count).
#[test]
fn millions_of_top_level_keys_are_folded_as_they_are_read() {
    let tmp = TempDir::new().unwrap();
    let n = 20_000;
    let records: Vec<Value> = (0..n)
        .map(|i| {
            let mut r = common::record(
                "fn:r/f",
                "s3.amazonaws.com",
                "GetObject",
                json!({"bucketName": "flat", "key": format!("object-{i:06}.bin")}),
            );
            r["eventID"] = json!(format!("e{i}"));
            r
        })
        .collect();
    let trail = common::write_records(tmp.path(), "flat.json", &records);
    let run = common::tightrole(
        &["generate", trail.to_str().unwrap(), "--format", "json"],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out: Value = serde_json::from_str(&run.stdout).unwrap();
    let f = &out["principals"][0];
    let text = f["policy"].to_string();
    assert!(text.contains("arn:aws:s3:::flat/*"), "{text}");
    let evidence = f["evidence"].as_array().map_or(0, Vec::len);
    assert!(
        evidence <= 4_097,
        "{evidence} evidence rows for {n} keys: the reader did not fold"
    );
    let g = &f["generalizations"][0];
    let observed = g["observed"].as_u64().unwrap();
    assert!(
        (17_000..=23_000).contains(&observed),
        "the pattern stands for about {n} keys: {g}"
    );
    assert!(
        run.stdout.len() < 4 << 20,
        "{} bytes of JSON for one policy",
        run.stdout.len()
    );
}
