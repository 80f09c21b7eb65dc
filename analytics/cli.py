"""The ``kuomian`` command line (shared/data-contract.md, "Command line").

Exit status 0 on success; otherwise non-zero with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import getpass
import os
import sys
import time
from pathlib import Path

from analytics import accounts, audit, store
from analytics.access import AccessDenied, Scope
from analytics.config import ConfigError
from analytics.demo import SHARD_PERSONS, generate_demo
from analytics.exports import export
from analytics.ingest import ImportRejected, import_batches, report_frame
from analytics.ingest.rollback import BATCH_COLUMNS, RollbackError, list_batches, remove_and_rebuild
from analytics.quarter.assessment import export_assessment
from analytics.quarter.lists import export_duplicates, export_roster
from analytics.quarter.plan import export_plan
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
    summary = generate_demo(
        Path(args.out), persons=args.persons, seed=args.seed, shard_persons=args.shard_persons
    )
    shards = summary.get("shards", 1)
    print(
        f"示例市 demo region written to {args.out} in {time.perf_counter() - t0:.1f}s: "
        f"{summary.get('persons', args.persons)} persons"
        + (f" in {shards} shards" if shards > 1 else ""),
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
    audit.record(
        args.db,
        args.audit_user,
        args.audit_role or audit.OPERATOR_ROLE,
        "import",
        "import " + " ".join(sorted({r.batch for r in results})),
        rows=int(totals["accepted"]),
        detail=f"files={len(frame)} read={totals['read']} problems={totals['problems']}",
    )
    print(
        f"imported {len(results)} batch(es), {len(frame)} file(s) in "
        f"{time.perf_counter() - t0:.1f}s: read {totals['read']} = accepted "
        f"{totals['accepted']} + duplicates {totals['duplicates']} + problems "
        f"{totals['problems']}; warnings {totals['warnings']}",
        file=sys.stderr,
    )


def cmd_build(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    info = build_registry(
        db=args.db,
        as_of=args.as_of,
        debug=args.debug,
        progress=_progress if args.progress else None,
    )
    audit.record(
        args.db,
        args.audit_user,
        args.audit_role or audit.OPERATOR_ROLE,
        "build",
        f"build as_of={info['as_of']}",
        detail=f"version={info['version']} dates_built={len(info['dates_built'])}",
    )
    print(
        f"registry built for {info['as_of']} (version {info['version']}) in "
        f"{time.perf_counter() - t0:.1f}s",
        file=sys.stderr,
    )


# The exports of "Quarter and year" (data contract): assessment is aggregates,
# duplicates and rosters are person-level (a cadre's hold only their grid).
QUARTER_EXPORTS = ("assessment", "duplicates", "roster")


def _quarter_export(args: argparse.Namespace, out: Path, scope: Scope | None) -> int:
    if args.what == "assessment":
        if args.year is None:
            raise CliError("export assessment 需要 --year (--year YYYY is required)")
        return export_assessment(args.db, args.year, out, args.as_of)
    if args.what == "duplicates":
        return export_duplicates(args.db, out, scope=scope, as_of=args.as_of)
    if args.type is None:
        raise CliError("export roster 需要 --type collection|subsidised (--type is required)")
    return export_roster(
        args.db, out, args.type, community=args.community, scope=scope, as_of=args.as_of
    )


def cmd_plan(args: argparse.Namespace) -> None:
    """The what-if plan to the last goal year (aggregates: open to the operator)."""
    if args.reach is None and (args.enroll is None or args.upgrade is None):
        raise CliError("plan 需要 --enroll N --upgrade N 或 --reach YEAR (give both, or --reach)")
    if args.reach is not None and (args.enroll is not None or args.upgrade is not None):
        raise CliError("plan: --reach 不能与 --enroll/--upgrade 同用 (--reach stands alone)")
    out = Path(args.out)
    n = export_plan(args.db, out, enroll=args.enroll, upgrade=args.upgrade, reach=args.reach)
    what = (
        f"plan reach={args.reach}"
        if args.reach is not None
        else f"plan enroll={args.enroll} upgrade={args.upgrade}"
    )
    audit.record(
        args.db, audit.OPERATOR, audit.OPERATOR_ROLE, "export", what, rows=n, detail=f"out={out}"
    )
    print(f"{n} rows written to {args.out}", file=sys.stderr)


def cmd_report(args: argparse.Namespace) -> None:
    """The quarterly 通报 (.docx, and its tables as .xlsx): aggregates, audited."""
    from analytics.quarter.report import write_report  # matplotlib loads for a report only

    xlsx = Path(args.xlsx) if args.xlsx else None
    info = write_report(args.db, args.quarter, Path(args.out), xlsx)
    audit.record(
        args.db,
        audit.OPERATOR,
        audit.OPERATOR_ROLE,
        "export",
        f"report quarter={args.quarter}",
        rows=int(info["streets"]),
        detail=f"out={args.out}" + (f" xlsx={args.xlsx}" if args.xlsx else ""),
    )
    print(f"report for {args.quarter} ({info['as_of']}) written to {args.out}", file=sys.stderr)


def _export_what(args: argparse.Namespace, scope: Scope | None) -> str:
    """The audit log's ``what`` of an export: its name and filters."""
    parts = [args.what]
    if args.what == "kpi":
        parts.append(f"level={args.level}")
    if args.what == "assessment" and args.year is not None:
        parts.append(f"year={args.year}")
    if args.what == "roster":
        parts += [f"type={args.type}"] + ([f"community={args.community}"] if args.community else [])
    if args.as_of:
        parts.append(f"as_of={args.as_of}")
    if scope is not None and scope.grid:
        parts.append("scope=" + ";".join(scope.grid))
    return " ".join(parts)


def cmd_export(args: argparse.Namespace) -> None:
    """An export, audited: for ``--user NAME`` (password in $KUOMIAN_PASSWORD) with
    the account's role and scope, else as the server's operator (full access)."""
    if args.user is None:
        user, role, scope = audit.OPERATOR, audit.OPERATOR_ROLE, None
    else:
        account = accounts.authenticate(
            args.db, args.user, os.environ.get("KUOMIAN_PASSWORD"), what=f"export {args.what}"
        )
        user, role, scope = account.name, account.role, account.access
    what, out = _export_what(args, scope), Path(args.out)
    try:
        if args.what in QUARTER_EXPORTS:
            n = _quarter_export(args, out, scope)
        else:
            n = export(
                args.what, db=args.db, out=out, level=args.level, as_of=args.as_of, scope=scope
            )
    except AccessDenied as exc:
        # 等保 2.0 安全审计: an export the role may not make is an event too (refused).
        audit.record(args.db, user, role, "export", what, detail=f"refused: {exc}")
        raise
    audit.record(args.db, user, role, "export", what, rows=n, detail=f"out={out}")
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


# ---------------------------------------------------------------- kuomian user


def _stdin_password() -> str:
    """The password: one line on stdin (asked without echo at a terminal)."""
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass("密码 (password): ")
    line = sys.stdin.readline() if sys.stdin is not None else ""
    password = line.rstrip("\r\n")
    if not password:
        raise CliError("没有从标准输入读到密码 (no password on stdin: give it as one line)")
    return password


USER_COLUMNS = [
    "name",
    "role",
    "scope",
    "state",
    "must_change_password",
    "created_at",
    "changed_at",
]


def cmd_user(args: argparse.Namespace) -> None:
    """Accounts (data contract, "Accounts"); every change is a user_change row."""
    if args.user_command == "list":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(USER_COLUMNS)
        now = accounts.clock()
        for a in accounts.list_users(args.db):
            w.writerow(
                [
                    a.name,
                    a.role,
                    ";".join(a.scope),
                    a.status(now),
                    str(a.must_change_password).lower(),
                    a.created_at.isoformat(sep=" "),
                    a.changed_at.isoformat(sep=" "),
                ]
            )
        return
    if args.user_command == "add":
        account = accounts.add_user(args.db, args.name, args.role, _stdin_password(), args.scope)
        scope = f", scope {';'.join(account.scope)}" if account.scope else ""
        print(f"user {account.name} added ({account.role}{scope})", file=sys.stderr)
    elif args.user_command == "passwd":
        account = accounts.set_password(args.db, args.name, _stdin_password())
        print(f"password of {account.name} reset (to be changed at next login)", file=sys.stderr)
    elif args.user_command in ("disable", "enable"):
        state = "disabled" if args.user_command == "disable" else "active"
        account = accounts.set_state(args.db, args.name, state)
        print(f"user {account.name} {account.status()}", file=sys.stderr)
    elif args.user_command == "unlock":
        account = accounts.unlock(args.db, args.name)
        print(f"user {account.name} unlocked", file=sys.stderr)


def _user_parser(sub: argparse._SubParsersAction) -> None:
    u = sub.add_parser("user", help="accounts: add, list, disable, enable, unlock, passwd")
    us = u.add_subparsers(dest="user_command", required=True)
    add = us.add_parser("add", help="add an account (password: one line on stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["leader", "bureau", "cadre", "admin"])
    add.add_argument(
        "--scope",
        nargs="+",
        action="extend",
        default=[],
        metavar="CODE",
        help="a cadre's 9-digit street or 12-digit community codes",
    )
    add.add_argument("--db", default=None)
    ls = us.add_parser("list", help="name, role, scope, state (active|disabled|locked)")
    ls.add_argument("--db", default=None)
    for verb, text in (
        ("disable", "refuse every login of an account"),
        ("enable", "allow an account's logins again"),
        ("unlock", "lift a lock after wrong passwords"),
        ("passwd", "reset a password (new password: one line on stdin)"),
    ):
        c = us.add_parser(verb, help=text)
        c.add_argument("name")
        c.add_argument("--db", default=None)
    u.set_defaults(func=cmd_user)


def _audit_args(parser: argparse.ArgumentParser) -> None:
    """The app runs its writes as child processes of this command line, for its user."""
    parser.add_argument("--audit-user", default=CLI_USER, help=argparse.SUPPRESS)
    parser.add_argument("--audit-role", default=None, help=argparse.SUPPRESS)


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
    d.add_argument(
        "--shard-persons",
        type=int,
        default=SHARD_PERSONS,
        help="persons per shard: a larger region is generated shard by shard "
        f"to bound memory (default {SHARD_PERSONS:,})",
    )
    d.set_defaults(func=cmd_demo)

    i = sub.add_parser("import", help="import batch folders (or .zip files)")
    i.add_argument("batches", nargs="+")
    i.add_argument("--db", default=None)
    i.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)
    _audit_args(i)
    i.set_defaults(func=cmd_import)

    b = sub.add_parser("build", help="build the registry for a date (default: latest)")
    b.add_argument("--db", default=None)
    b.add_argument("--as-of", type=_date, default=None)
    b.add_argument("--debug", action="store_true", help="print each step's SQL, rows and time")
    b.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)
    _audit_args(b)
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
    e.add_argument(
        "what",
        choices=["targets", "kpi", "problems", "entities", "imports", "audit", *QUARTER_EXPORTS],
    )
    e.add_argument("--db", default=None)
    e.add_argument("--out", required=True)
    e.add_argument("--level", choices=["city", "street", "community"], default="city")
    e.add_argument("--as-of", type=_date, default=None)
    e.add_argument(
        "--user", default=None, help="export as this account (password in $KUOMIAN_PASSWORD)"
    )
    e.add_argument("--year", type=int, default=None, help="assessment: the year")
    e.add_argument("--type", choices=["collection", "subsidised"], default=None, help="roster")
    e.add_argument("--community", default=None, help="roster: a 9-digit street or 12-digit code")
    e.set_defaults(func=cmd_export)

    rp = sub.add_parser("report", help="the quarterly report (.docx, tables as .xlsx)")
    rp.add_argument("--db", default=None)
    rp.add_argument("--quarter", required=True, help="YYYYQn, e.g. 2025Q3")
    rp.add_argument("--out", required=True)
    rp.add_argument("--xlsx", default=None)
    rp.set_defaults(func=cmd_report)

    pl = sub.add_parser("plan", help="what-if plan to the last goal year (CSV)")
    pl.add_argument("--db", default=None)
    pl.add_argument("--out", required=True)
    pl.add_argument("--enroll", type=int, default=None, help="extra enrollments a year")
    pl.add_argument("--upgrade", type=int, default=None, help="extra upgrades a year")
    pl.add_argument("--reach", type=int, default=None, help="the smallest yearly numbers for YEAR")
    pl.set_defaults(func=cmd_plan)

    _user_parser(sub)
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
            AccessDenied,
        )
        text = (
            " ".join(str(exc).split())
            if isinstance(exc, known)
            else f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        )
        # No unmasked ID number or phone on stderr, whatever the message quotes.
        print(f"kuomian {args.command}: {audit.redact(text, limit=None)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
