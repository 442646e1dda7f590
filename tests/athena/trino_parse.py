"""Parses SQL with sqlglot's Trino dialect (Athena's engine) and fails on a syntax error.

Usage: python tests/athena/trino_parse.py SQL_FILE

A syntax check only: it catches unbalanced parentheses, misplaced clauses and malformed
expressions in the Athena form of the push-down query, which no engine in the tests executes
(DuckDB runs the DuckDB form). It does not check that Trino has each function.
"""

import sys

import sqlglot
from sqlglot import exp

tree = sqlglot.parse_one(open(sys.argv[1]).read(), read="trino")
print(
    f"{type(tree).__name__}: {len(list(tree.find_all(exp.Lambda)))} lambdas, "
    f"{len(list(tree.find_all(exp.Subquery)))} subqueries"
)
