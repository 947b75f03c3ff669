"""Roster solver against the field: the Curtois shift-scheduling instances, next to their best known values and
next to the plain reference model (cpmpy, solved by the same CP-SAT at the same time limit and cores), both run
here, one after the other, in the same run.

Per instance it prints the objective our solver reaches at the time limit (and its proven bound), the
reference model's objective and bound, the best known value, and the check of our roster by the reference
model: its variables fixed to our roster, every constraint must hold and the objective must be the same.

    python bench/roster_nrp.py [--time-limit 60] [--workers 2] [--instances 1,2,3] [--no-reference]
    python bench/roster_nrp.py --synthetic 364x150x32 --time-limit 60   # build time, memory, objective
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import time
from pathlib import Path

from roster.nrp import reference
from roster.nrp.loader import Instance, load, parse, to_problem
from roster.nrp.synthetic import generate
from roster.solver import Progress, solve
from roster.solver.roster_model import RosterModel

# The instances live in the repository, their licence beside them: <repo>/bench/data/nrp.
DEFAULT_DIR = Path(__file__).resolve().parent / "data" / "nrp"


def say(message: str) -> None:
    print(message, flush=True)


def fail(message: str) -> int:
    print(f"roster NRP bench: {message}", file=sys.stderr, flush=True)
    return 2


def best_known(directory: Path) -> dict[str, int]:
    """The README's table: | instance | days | shift types | staff | best known |."""
    readme = directory / "README.md"
    known: dict[str, int] = {}
    if readme.exists():
        for match in re.finditer(r"^\|\s*(\d+)\s*\|.*\|\s*(\d+)\s*\|\s*$", readme.read_text(), re.M):
            known[f"Instance{match.group(1)}"] = int(match.group(2))
    return known


def progress_printer(name: str) -> tuple[object, list[Progress]]:
    seen: list[Progress] = []
    last = [0.0]

    def report(p: Progress) -> None:
        seen.append(p)
        now = time.monotonic()
        if now - last[0] >= 2.0 or p.objective == p.best_bound:
            last[0] = now
            say(f"  {name}: {p.elapsed_s:6.1f} s  objective {p.objective}  bound {p.best_bound:.0f}  "
                f"(solution {p.solutions})")

    return report, seen


def run_instance(instance: Instance, known: int | None, args: argparse.Namespace) -> dict[str, str]:
    name = instance.name
    say(f"{name}: {instance.horizon} days × {len(instance.staff)} staff × {len(instance.shifts)} shift types")
    started = time.monotonic()
    problem = to_problem(instance)
    report, _ = progress_printer(name)
    ours = solve(problem, time_limit_s=args.time_limit, workers=args.workers, on_progress=report)
    say(f"  {name}: ours {ours.status} objective {ours.objective} bound {ours.best_bound} "
        f"in {ours.wall_time_s:.1f} s ({time.monotonic() - started:.1f} s with loading)")
    row = {
        "instance": name.removeprefix("Instance"),
        "size": f"{instance.horizon}×{len(instance.staff)}×{len(instance.shifts)}",
        "best known": str(known) if known is not None else "?",
        "ours": _fmt(ours.objective),
        "ours bound": _fmt(ours.best_bound),
        "ours time s": f"{ours.wall_time_s:.1f}",
    }
    if ours.objective is not None:
        verdict = reference.check(instance, ours.assignments)
        agree = verdict.feasible and verdict.objective == ours.objective
        row["check"] = "ok" if agree else f"MISMATCH (feasible {verdict.feasible}, objective {verdict.objective})"
        say(f"  {name}: reference check of our roster: all constraints hold {verdict.feasible}, "
            f"objective {verdict.objective} (ours {ours.objective}) -> {row['check']}")
    else:
        row["check"] = "-"
    if args.reference:
        say(f"  {name}: reference model (cpmpy → CP-SAT), {args.time_limit:g} s, {args.workers} workers …")
        ref = reference.solve(instance, time_limit_s=args.time_limit, workers=args.workers)
        say(f"  {name}: reference {ref.status} objective {ref.objective} bound {ref.best_bound} "
            f"in {ref.wall_time_s:.1f} s")
        row["reference"] = _fmt(ref.objective)
        row["reference bound"] = _fmt(ref.best_bound)
        row["reference time s"] = f"{ref.wall_time_s:.1f}"
    return row


def _fmt(value: float | int | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if isinstance(value, float) else str(value)


def table(rows: list[dict[str, str]]) -> str:
    columns = list(rows[0])
    for row in rows[1:]:
        columns += [c for c in row if c not in columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row.get(c, "") for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def synthetic(spec: str, args: argparse.Namespace) -> None:
    days, staff, shifts = (int(v) for v in spec.lower().split("x"))
    text = generate(days, staff, shifts, seed=args.seed)
    instance = parse(text, name=f"synthetic-{spec}")
    problem = to_problem(instance)
    started = time.monotonic()
    built = RosterModel(problem)
    build_s = time.monotonic() - started
    proto = built.model.proto
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    say(f"{instance.name}: model built in {build_s:.1f} s: {len(proto.variables)} variables, "
        f"{len(proto.constraints)} constraints, peak memory {peak_mb:.0f} MB")
    if args.time_limit > 0:
        report, _ = progress_printer(instance.name)
        ours = solve(problem, time_limit_s=args.time_limit, workers=args.workers, on_progress=report)
        say(f"{instance.name}: ours {ours.status} objective {ours.objective} bound {ours.best_bound} "
            f"in {ours.wall_time_s:.1f} s; peak memory "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        if args.reference:
            ref = reference.solve(instance, time_limit_s=args.time_limit, workers=args.workers)
            say(f"{instance.name}: reference {ref.status} objective {ref.objective} bound {ref.best_bound} "
                f"in {ref.wall_time_s:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per solve (ours and reference)")
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers for both")
    parser.add_argument("--instances", default="", help="comma-separated numbers (default: every InstanceN.txt)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="skip solving the reference model (the check of our rosters still runs)")
    parser.add_argument("--synthetic", default="", help="DAYSxSTAFFxSHIFTS: a generated instance instead")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.synthetic:
        synthetic(args.synthetic, args)
        return 0
    if not args.dir.is_dir():
        return fail(f"no instance directory {args.dir} (the Curtois instances, InstanceN.txt; pass --dir)")
    known = best_known(args.dir)
    if args.instances:
        paths = [args.dir / f"Instance{n.strip()}.txt" for n in args.instances.split(",")]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            return fail(f"no such instance file: {', '.join(missing)}")
    else:
        paths = sorted(args.dir.glob("Instance*.txt"), key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
    if not paths:
        # Running nothing and printing an empty table would look like a pass.
        return fail(f"no InstanceN.txt in {args.dir} (pass --dir)")
    say(f"roster NRP bench: {len(paths)} instances, {args.time_limit:g} s each, {args.workers} workers, "
        f"python {sys.version.split()[0]}")
    rows = []
    for path in paths:
        instance = load(path)
        rows.append(run_instance(instance, known.get(instance.name), args))
    say("")
    say(table(rows))
    mismatches = [r["instance"] for r in rows if r["check"].startswith("MISMATCH")]
    if mismatches:
        say(f"reference check FAILED on instances {', '.join(mismatches)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
