"""Can the registry's SQL steps run on Spark SQL? A check through sqlglot.

    pip install sqlglot   # not a project dependency
    python bench/transpile.py [--dialect spark] [--show FILE]

Transpiles every statement of ``analytics/registry/*.sql`` from DuckDB to the
target dialect (as Splink does to run one linkage model on DuckDB or Spark),
with sqlglot raising on what it knows it cannot express, and lists per file the
DuckDB-specific constructs the step uses. Prints a Markdown table: a file that
transpiles is not yet proven to give the same rows on Spark; one that fails
needs a rewrite (usually of a macro or a list function).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.registry.runner import split_statements

STEPS = ROOT / "analytics" / "registry"

# DuckDB features in the step files that other engines spell differently or lack.
FEATURES = {
    "QUALIFY": r"\bQUALIFY\b",
    "GROUP BY ALL": r"GROUP BY ALL\b",
    "macro": r"\bMACRO\b",
    "macro call (in_force/age_on)": r"\b(in_force|age_on)\(",
    "lambda": r"\blambda\b|->",
    "list_* / list()": r"\blist(_[a-z_]+)?\(",
    "struct": r"\bstruct_[a-z]+\(|\{'",
    "FILTER (WHERE)": r"FILTER \(WHERE",
    "LATERAL VALUES": r"LATERAL \(VALUES",
    "TEMP TABLE": r"\bTEMP (TABLE|MACRO)\b",
    "SELECT * EXCLUDE": r"\bEXCLUDE\b",
    "$param / ? / params table": r"\$[a-z]|\bparams\b",
}


def main() -> None:
    import sqlglot
    from sqlglot.errors import ErrorLevel

    ap = argparse.ArgumentParser()
    ap.add_argument("--dialect", default="spark")
    ap.add_argument("--show", help="print the transpiled SQL of one step file")
    args = ap.parse_args()
    print(f"sqlglot {sqlglot.__version__}, duckdb -> {args.dialect}\n")
    print("| step | statements | transpiled | DuckDB-specific |\n|---|---|---|---|")
    total = ok_total = 0
    for path in sorted(STEPS.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        stmts = split_statements(text)
        ok, errors = 0, []
        for sql in stmts:
            try:
                out = sqlglot.transpile(
                    sql, read="duckdb", write=args.dialect, unsupported_level=ErrorLevel.RAISE
                )
                ok += 1
                if args.show == path.name:
                    print("\n".join(out), end=";\n\n", file=sys.stderr)
            except sqlglot.errors.SqlglotError as exc:
                errors.append(str(exc).splitlines()[0][:80])
        found = [name for name, rx in FEATURES.items() if re.search(rx, text)]
        total += len(stmts)
        ok_total += ok
        note = "; ".join(found) + (f" — fails: {errors[0]}" if errors else "")
        print(f"| {path.name} | {len(stmts)} | {ok} | {note} |")
    print(f"\n{ok_total} of {total} statements transpile without an error.")


if __name__ == "__main__":
    main()
