//! Which inflater is faster on trail files: flate2 with the zlib-rs backend (what tightrole
//! uses) or libdeflate (through `libdeflater`)? Issue #8 asks for the measurement.
//!
//! `cargo bench --bench inflate -- DIR [ROUNDS]` reads every `.json.gz` under DIR into memory,
//! then decompresses all of them ROUNDS times (default 5) with each library on one thread, and
//! prints the median time and throughput of each. Not a test: CI only builds it.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a measuring tool")]

use std::io::Read;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: cargo bench --bench inflate -- DIR [ROUNDS]");
        return;
    };
    let rounds: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(5);
    let files: Vec<Vec<u8>> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json.gz"))
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    let compressed: usize = files.iter().map(Vec::len).sum();
    println!("{} files, {} bytes compressed", files.len(), compressed);

    let zlib_rs = || {
        let mut out = Vec::new();
        let mut total = 0usize;
        for f in &files {
            out.clear();
            flate2::read::MultiGzDecoder::new(f.as_slice())
                .read_to_end(&mut out)
                .unwrap();
            total += out.len();
        }
        total
    };
    let mut d = libdeflater::Decompressor::new();
    let mut libdeflate = || {
        let mut out = Vec::new();
        let mut total = 0usize;
        for f in &files {
            // The gzip trailer holds the size (mod 2^32); trail files are far smaller.
            let n = u32::from_le_bytes(f[f.len() - 4..].try_into().unwrap()) as usize;
            out.resize(n, 0);
            total += d.gzip_decompress(f, &mut out).unwrap();
        }
        total
    };
    let measure = |name: &str, run: &mut dyn FnMut() -> usize| {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..rounds {
            let t = Instant::now();
            bytes = run();
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "{name:<22} median {median:.3} s of {rounds}, {:.0} MB/s out ({bytes} bytes)",
            bytes as f64 / 1e6 / median
        );
    };
    measure("flate2 + zlib-rs", &mut { zlib_rs });
    measure("libdeflate", &mut libdeflate);
}
