"""The ``kuomian`` command line (shared/data-contract.md, "Command line").

Exit status 0 on success; otherwise non-zero with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from analytics import store
from analytics.config import ConfigError
from analytics.demo import generate_demo
from analytics.exports import export
from analytics.ingest import ImportRejected, import_batches, report_frame
from analytics.ingest.rollback import BATCH_COLUMNS, RollbackError, list_batches, remove_and_rebuild
from analytics.registry.build import BuildError, build_registry
from analytics.textnorm import clean, parse_date
from analytics.writes import CLI_USER


class CliError(Exception):
    """An error the user can act on; printed as one line."""


def _date(text: str) -> dt.date:
    d = parse_date(clean(text))
    if d is None:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)")
    return d


def cmd_demo(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    summary = generate_demo(Path(args.out), persons=args.persons, seed=args.seed)
    print(
        f"示例市 demo region written to {args.out} in {time.perf_counter() - t0:.1f}s: "
        f"{summary.get('persons', args.persons)} persons",
        file=sys.stderr,
    )


def _progress(message: str, fraction: float) -> None:
    """A progress line for the app's upload, which runs the import as a child process."""
    print(f"progress\t{fraction:.3f}\t{message}", file=sys.stderr, flush=True)


def cmd_import(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    results = import_batches(
        args.batches, db=args.db, progress=_progress if args.progress else None
    )
    frame = report_frame(results)
    frame.to_csv(sys.stdout, index=False, lineterminator="\n")
    for r in results:
        for notice in r.notices:
            print(f"{r.batch}: {notice}", file=sys.stderr)
    totals = frame[["read", "accepted", "duplicates", "problems", "warnings"]].sum()
    print(
        f"imported {len(results)} batch(es), {len(frame)} file(s) in "
        f"{time.perf_counter() - t0:.1f}s: read {totals['read']} = accepted "
        f"{totals['accepted']} + duplicates {totals['duplicates']} + problems "
        f"{totals['problems']}; warnings {totals['warnings']}",
        file=sys.stderr,
    )


def cmd_build(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    info = build_registry(db=args.db, as_of=args.as_of, debug=args.debug)
    print(
        f"registry built for {info['as_of']} (version {info['version']}) in "
        f"{time.perf_counter() - t0:.1f}s",
        file=sys.stderr,
    )


def cmd_export(args: argparse.Namespace) -> None:
    n = export(args.what, db=args.db, out=Path(args.out), level=args.level, as_of=args.as_of)
    print(f"{n} rows written to {args.out}", file=sys.stderr)


def cmd_batches_list(args: argparse.Namespace) -> None:
    if not Path(args.db).exists():
        raise CliError(f"数据库不存在 (database not found): {args.db}")
    frame = list_batches(args.db)
    frame = frame.assign(
        imported_at=frame["imported_at"].map(lambda t: f"{t:%Y-%m-%d %H:%M:%S}"),
        in_use=frame["in_use"].map({True: "true", False: "false"}),
    )
    frame = frame[[*BATCH_COLUMNS, "import_seq"]].rename(columns={"import_seq": "import"})
    frame.to_csv(sys.stdout, index=False, lineterminator="\n")
    print(f"{len(frame)} batch(es)", file=sys.stderr)


def cmd_batches_remove(args: argparse.Namespace) -> None:
    result = remove_and_rebuild(
        args.db, args.batch, args.as_of, user=args.audit_user, role=args.audit_role
    )
    for line in result.lines():
        print(line)
    if result.build_error:
        raise BuildError(
            f"批次已回滚，但实名库重建失败，仍在使用之前的实名库 (the batch was rolled back; "
            f"the rebuild failed and the previous registry is still in use): {result.build_error}"
        )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kuomian",
        description="基本养老保险扩面增效实名库 / pension coverage-expansion registry",
    )
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="write a synthetic region (示例市) as batches")
    d.add_argument("--out", required=True)
    d.add_argument("--persons", type=int, default=120_000)
    d.add_argument("--seed", type=int, default=2025)
    d.set_defaults(func=cmd_demo)

    i = sub.add_parser("import", help="import batch folders (or .zip files)")
    i.add_argument("batches", nargs="+")
    i.add_argument("--db", default=None)
    i.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)
    i.set_defaults(func=cmd_import)

    b = sub.add_parser("build", help="build the registry for a date (default: latest)")
    b.add_argument("--db", default=None)
    b.add_argument("--as-of", type=_date, default=None)
    b.add_argument("--debug", action="store_true", help="print each step's SQL, rows and time")
    b.set_defaults(func=cmd_build)

    bs = sub.add_parser("batches", help="list imported batches, or roll one back")
    bsub = bs.add_subparsers(dest="batches_command", required=True)
    bl = bsub.add_parser("list", help="one line per imported batch")
    bl.add_argument("--db", default=None)
    bl.set_defaults(func=cmd_batches_list)
    br = bsub.add_parser("remove", help="roll a batch back and rebuild the registry")
    br.add_argument("batch")
    br.add_argument("--db", default=None)
    br.add_argument("--as-of", type=_date, default=None, help="when several batches share the name")
    # The app's rollback runs this command as a child process, for its user.
    br.add_argument("--audit-user", default=CLI_USER, help=argparse.SUPPRESS)
    br.add_argument("--audit-role", default=None, help=argparse.SUPPRESS)
    br.set_defaults(func=cmd_batches_remove)

    e = sub.add_parser("export", help="write a CSV")
    e.add_argument("what", choices=["targets", "kpi", "problems", "entities", "imports"])
    e.add_argument("--db", default=None)
    e.add_argument("--out", required=True)
    e.add_argument("--level", choices=["city", "street", "community"], default="city")
    e.add_argument("--as-of", type=_date, default=None)
    e.set_defaults(func=cmd_export)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "db", None) is None and args.command != "demo":
        args.db = str(store.default_db())
    try:
        args.func(args)
    except Exception as exc:  # noqa: BLE001 - one line for the user; bugs show their type
        known = (
            ImportRejected,
            BuildError,
            CliError,
            ConfigError,
            FileNotFoundError,
            ValueError,
            RollbackError,
        )
        text = (
            " ".join(str(exc).split())
            if isinstance(exc, known)
            else f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        )
        print(f"kuomian {args.command}: {text}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
