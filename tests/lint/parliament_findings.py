"""Lints IAM policy files with parliament (the IAM policy linter, pinned in
tests/moto/requirements.txt) through its library API, with its default auditors.

Usage: python tests/lint/parliament_findings.py FILE...

Prints one JSON object per line per finding: {"file", "issue", "severity", "title", "detail"}.
Exits 2 when parliament cannot be imported, so that the caller can tell a missing linter from
findings.
"""

import json
import sys
import warnings

# parliament 1.6.4 imports pkg_resources, which warns that it is deprecated
warnings.simplefilter("ignore")

try:
    import parliament
except ImportError as e:
    print(f"parliament cannot be imported: {e}", file=sys.stderr)
    sys.exit(2)


def main(paths):
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        policy = parliament.analyze_policy_string(text, filepath=path)
        for finding in policy.findings:
            finding = parliament.enhance_finding(finding)
            print(
                json.dumps(
                    {
                        "file": path,
                        "issue": finding.issue,
                        "severity": finding.severity,
                        "title": finding.title,
                        "detail": finding.detail,
                    },
                    default=str,
                    sort_keys=True,
                )
            )


if __name__ == "__main__":
    main(sys.argv[1:])
