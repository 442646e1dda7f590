#!/usr/bin/env python3
"""Interleaved timing for scripts/bench: tightrole against `gzip -dc` of the same files.

On a shared machine, timings taken minutes apart do not compare: another job may have started
in between. So every round runs each command once, in turn (A, B, A, B, ...), and the ratio is
taken per round; the median of the rounds' ratios is reported. Wall time comes from
perf_counter, CPU time and peak RSS from wait4 (the child's own rusage).

    bench.py --bin BIN --trail DIR[:LABEL] ... [--rounds 5] [--trailscraper VENV --ts-trail DIR]
             [--json OUT] [--check docs/performance.md [--check-line NAME]] [--contention]

--contention also runs each trail on one worker (`--threads 1`), alternating with the default,
and reports what the second core costs: the CPU of the default run over the one-worker run's.
On a machine whose two cores share caches (SMT siblings on the host) or a busy neighbour, that
ratio is well above 1 and explains a ratio to gzip that the same code met elsewhere.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time


def run(cmd, shell=False):
    """Runs cmd with stdout to /dev/null; returns (wall s, cpu s, peak RSS KB, stderr)."""
    with open(os.devnull, "wb") as null:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, shell=shell, stdout=null, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed ({status}): {cmd}\n{err.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, err.decode(errors="replace")


def gzip_cmd(trail):
    return f"find {trail} -name '*.json.gz' -exec gzip -dc {{}} + > /dev/null"


def stats_of(stderr):
    """The `--stats=json` line of a tightrole run."""
    for line in stderr.splitlines():
        if line.startswith("{") and '"seconds_parse"' in line:
            return json.loads(line)
    return {}


def measure(binary, trail, label, rounds):
    tr_cmd = [binary, "generate", trail, "--format", "json", "--stats=json"]
    walls, cpus, gz_walls, ratios, rss, stats = [], [], [], [], [], []
    run(tr_cmd)  # warm the page cache and the binary
    run(gzip_cmd(trail), shell=True)
    for _ in range(rounds):
        w, c, m, err = run(tr_cmd)
        gw, _, _, _ = run(gzip_cmd(trail), shell=True)
        walls.append(w)
        cpus.append(c)
        gz_walls.append(gw)
        ratios.append(w / gw)
        rss.append(m)
        stats.append(stats_of(err))
    records = stats[-1].get("records", 0) or 1
    med = statistics.median
    cpu = med(cpus)
    decompress = med(s.get("seconds_decompress", 0) for s in stats)
    parse = med(s.get("seconds_parse", 0) for s in stats)
    return {
        "label": label,
        "trail": trail,
        "records": records,
        "files": stats[-1].get("files", 0),
        "bytes_out": stats[-1].get("bytes_out", 0),
        "rounds": rounds,
        "tightrole_wall": med(walls),
        "gzip_wall": med(gz_walls),
        "ratio": med(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "cpu": cpu,
        "rss_kb": max(rss),
        "us_per_record": {
            "cpu": cpu / records * 1e6,
            "decompress": decompress / records * 1e6,
            "parse_map_aggregate": parse / records * 1e6,
            "rest": max(cpu - decompress - parse, 0) / records * 1e6,
        },
    }


def contention(binary, trail, rounds):
    """The default run against `--threads 1`, interleaved: wall and CPU medians of each, and the
    median of the rounds' CPU ratios (default over one worker)."""
    base = [binary, "generate", trail, "--format", "json"]
    one, two = [], []
    run(base + ["--threads", "1"])  # warm
    for _ in range(rounds):
        one.append(run(base + ["--threads", "1"])[:2])
        two.append(run(base)[:2])
    med = statistics.median
    ratios = [t[1] / o[1] for o, t in zip(one, two)]
    return {
        "one_worker_wall": med(w for w, _ in one),
        "one_worker_cpu": med(c for _, c in one),
        "default_wall": med(w for w, _ in two),
        "default_cpu": med(c for _, c in two),
        "cpu_ratio": med(ratios),
        "cpu_ratio_min": min(ratios),
        "cpu_ratio_max": max(ratios),
    }


def trailscraper(binary, venv, trail, runs):
    """tightrole and trailscraper on the same trail, interleaved; wall medians."""
    ts = f"{venv}/bin/trailscraper select --log-dir {trail} | {venv}/bin/trailscraper generate > /dev/null"
    tr = [binary, "generate", trail, "--format", "json"]
    t_walls, s_walls, t_cpu, s_cpu = [], [], [], []
    for _ in range(runs):
        w, c, _, _ = run(tr)
        t_walls.append(w)
        t_cpu.append(c)
        w, c, _, _ = run(ts, shell=True)
        s_walls.append(w)
        s_cpu.append(c)
    med = statistics.median
    return {
        "trail": trail,
        "runs": runs,
        "tightrole_wall": med(t_walls),
        "trailscraper_wall": med(s_walls),
        "wall_ratio": med(s_walls) / med(t_walls),
        "cpu_ratio": med(s_cpu) / med(t_cpu),
    }


def check(results, doc, remeasure, line="bench-check", tolerance=0.15):
    """Fails when a trail's ratio to gzip rose by more than `tolerance` over the value that
    docs/performance.md records in its `<!-- bench-check: LABEL=RATIO ... -->` line (`line`
    names it: `bench-check-pgo` holds the profile-guided build's). A trail over the limit is
    measured once more (`remeasure`), and fails only if it is over again: on a shared machine
    one run's neighbours can cost more than the tolerance. It fails too when no trail's label
    is among those recorded: a check that compared nothing has not passed."""
    m = re.search(rf"<!-- {re.escape(line)}: (.*?) -->", open(doc).read())
    if not m:
        sys.exit(f"{doc} has no `<!-- {line}: ... -->` line")
    recorded = dict(kv.split("=") for kv in m.group(1).split())
    failed = False
    checked = 0
    for r in results:
        want = recorded.get(r["label"])
        if want is None:
            print(f"check: {r['label']}: no recorded ratio; not checked")
            continue
        checked += 1
        limit = float(want) * (1 + tolerance)
        ok = r["ratio"] <= limit
        if not ok:
            print(f"check: {r['label']}: {r['ratio']:.2f}x gzip, over {limit:.2f}x; measuring again")
            again = remeasure(r)
            r["ratio"] = min(r["ratio"], again["ratio"])
            ok = r["ratio"] <= limit
        failed |= not ok
        print(
            f"check: {r['label']}: {r['ratio']:.2f}x gzip against {float(want):.2f}x recorded "
            f"(limit {limit:.2f}x): {'ok' if ok else 'SLOWER'}"
        )
    if failed:
        sys.exit("bench check failed: the ratio to gzip rose by more than 15%")
    if not checked:
        # a guard that compared nothing must not pass
        sys.exit(
            f"bench check compared nothing: no trail's label is one of those recorded "
            f"({', '.join(sorted(recorded))})"
        )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--trail", action="append", default=[], help="DIR:LABEL")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--trailscraper")
    ap.add_argument("--ts-trail")
    ap.add_argument("--ts-runs", type=int, default=1)
    ap.add_argument("--json")
    ap.add_argument("--check")
    ap.add_argument("--check-line", default="bench-check")
    ap.add_argument("--contention", action="store_true")
    a = ap.parse_args()
    results = []
    for spec in a.trail:
        trail, _, label = spec.partition(":")
        r = measure(a.bin, trail, label or os.path.basename(trail), a.rounds)
        results.append(r)
        u = r["us_per_record"]
        print(
            f"{r['label']}: {r['records']:,} records, {r['files']:,} files | tightrole "
            f"{r['tightrole_wall']:.2f} s, gzip -dc {r['gzip_wall']:.2f} s: {r['ratio']:.2f}x "
            f"(rounds {r['ratio_min']:.2f}-{r['ratio_max']:.2f}) | CPU {u['cpu']:.2f} us/record "
            f"(decompress {u['decompress']:.2f}, parse+map+aggregate {u['parse_map_aggregate']:.2f}, "
            f"rest {u['rest']:.2f}) | peak RSS {r['rss_kb'] / 1024:.1f} MB",
            flush=True,
        )
        if a.contention:
            c = contention(a.bin, trail, a.rounds)
            r["contention"] = c
            print(
                f"{r['label']}: one worker {c['one_worker_wall']:.2f} s wall, "
                f"{c['one_worker_cpu']:.2f} s CPU; the default {c['default_wall']:.2f} s wall, "
                f"{c['default_cpu']:.2f} s CPU: {c['cpu_ratio']:.2f}x the CPU "
                f"(rounds {c['cpu_ratio_min']:.2f}-{c['cpu_ratio_max']:.2f})",
                flush=True,
            )
    out = {"results": results}
    if a.trailscraper and a.ts_trail:
        ts = trailscraper(a.bin, a.trailscraper, a.ts_trail, a.ts_runs)
        out["trailscraper"] = ts
        print(
            f"trailscraper 0.10.0 on {ts['trail']}: {ts['trailscraper_wall']:.1f} s against "
            f"tightrole {ts['tightrole_wall']:.2f} s: {ts['wall_ratio']:.0f}x wall, "
            f"{ts['cpu_ratio']:.0f}x CPU",
            flush=True,
        )
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
    if a.check:
        check(
            results,
            a.check,
            lambda r: measure(a.bin, r["trail"], r["label"], a.rounds),
            a.check_line,
        )


if __name__ == "__main__":
    main()
