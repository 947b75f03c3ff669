"""Roster solver against the field: the ten Curtois shift-scheduling instances (next to their best known values)
and instances generated like them at sizes up to the benchmark's largest, each next to the plain reference model
(cpmpy, solved by the same CP-SAT at the same time limit and workers) in the same run.

Every solve runs in a child process of its own (``roster_runs``): its peak memory is its own, and one that runs far
past its limit is killed and reported, never waited for. Each of our rosters is checked by ``roster.nrp.check``
(a direct evaluation: every hard rule and the exact price), and its price must equal our reported objective.

Per instance and generated size, the table gives the median over ``--runs`` runs of: our objective, the
reference model's, the best known value, the gaps (ours vs best known, ours vs plain), our time to the first
roster, our peak memory (and the reference's), and the checker's verdict on our rosters.

    python bench/roster_nrp.py [--time-limit 60] [--workers 2] [--runs 3] [--instances 1,2,3]
                               [--sizes 28x60x10,182x50x6] [--seeds 1,2] [--no-reference] [--out FILE]
    python bench/roster_nrp.py --quick     # a developer's loop: 10 s, 1 run, two instances, two sizes (~2 min)
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from roster_runs import OURS, REFERENCE, TIMEOUT, Outcome, solve_in_child

from roster.nrp.check import Verdict, check, describe
from roster.nrp.loader import Instance, parse
from roster.nrp.synthetic import generate

# The instances live in the repository, their licence beside them: <repo>/bench/data/nrp.
DEFAULT_DIR = Path(__file__).resolve().parent / "data" / "nrp"
DEFAULT_SIZES = "28x50x6,28x60x10,28x120x18,42x45x6,56x32x4,84x40x5,182x50x6,364x50x10,364x100x16,364x150x32"
QUICK_INSTANCES = "1,5"
QUICK_SIZES = "28x60x10,364x50x10"
QUICK_TIME_LIMIT_S = 10.0
NONE = "—"


def say(message: str) -> None:
    print(message, flush=True)


def fail(message: str) -> int:
    print(f"roster NRP bench: {message}", file=sys.stderr, flush=True)
    return 2


@dataclass(frozen=True)
class Case:
    """One instance to solve: a given one (with its best known value) or a generated one."""

    label: str
    instance: Instance
    text: str
    best_known: int | None

    @property
    def size(self) -> str:
        i = self.instance
        return f"{i.horizon}×{len(i.staff)}×{len(i.shifts)}"


@dataclass
class CaseRuns:
    """Every run of one case: our outcomes with the checker's verdict on each roster, and the reference's."""

    case: Case
    ours: list[Outcome] = field(default_factory=list)
    verdicts: list[Verdict | None] = field(default_factory=list)
    reference: list[Outcome] = field(default_factory=list)
    reference_note: str = ""


def best_known(directory: Path) -> dict[str, int]:
    """The README's table: | instance | days | shift types | staff | best known |."""
    readme = directory / "README.md"
    known: dict[str, int] = {}
    if readme.exists():
        for match in re.finditer(r"^\|\s*(\d+)\s*\|.*\|\s*(\d+)\s*\|\s*$", readme.read_text(), re.M):
            known[f"Instance{match.group(1)}"] = int(match.group(2))
    return known


def given_cases(directory: Path, spec: str) -> list[Case]:
    if spec.strip().lower() == "none":
        return []
    if spec:
        paths = [directory / f"Instance{n.strip()}.txt" for n in spec.split(",")]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            raise ValueError(f"no such instance file: {', '.join(missing)}")
    else:
        paths = sorted(directory.glob("Instance*.txt"), key=lambda p: int(re.sub(r"\D", "", p.stem) or 0))
        if not paths:  # running nothing and printing an empty table would look like a pass
            raise ValueError(f"no InstanceN.txt in {directory} (pass --dir)")
    known = best_known(directory)
    cases = []
    for path in paths:
        text = path.read_text()
        instance = parse(text, name=path.stem)
        cases.append(Case(path.stem.removeprefix("Instance"), instance, text, known.get(instance.name)))
    return cases


def generated_cases(sizes: str, seeds: Sequence[int]) -> list[Case]:
    cases = []
    for spec in (s.strip() for s in sizes.split(",") if s.strip() and sizes.strip().lower() != "none"):
        try:
            days, staff, shifts = (int(v) for v in spec.lower().split("x"))
        except ValueError:
            raise ValueError(f"a size is DAYSxSTAFFxSHIFTS, e.g. 28x60x10, not {spec!r}") from None
        for seed in seeds:
            text = generate(days, staff, shifts, seed=seed)
            label = f"gen {days}×{staff}×{shifts} s{seed}"
            cases.append(Case(label, parse(text, name=label), text, None))
    return cases


def run_case(case: Case, args: argparse.Namespace) -> CaseRuns:
    i = case.instance
    say(f"{case.label}: {i.horizon} days × {len(i.staff)} staff × {len(i.shifts)} shift types, "
        f"best known {case.best_known if case.best_known is not None else NONE}")
    runs = CaseRuns(case)
    timeout = args.time_limit + args.grace
    for n in range(1, args.runs + 1):
        tag = f"{case.label} run {n}/{args.runs}"
        ours = solve_in_child(OURS, tag, case.instance.name, case.text, time_limit_s=args.time_limit,
                              workers=args.workers, timeout_s=timeout)
        verdict = check(case.instance, ours.assignments) if ours.objective is not None else None
        runs.ours.append(ours)
        runs.verdicts.append(verdict)
        say(f"  {tag}: ours {_outcome_line(ours)}; check: {_verdict_line(ours, verdict)}")
        if not args.reference or runs.reference_note:
            continue
        ref = solve_in_child(REFERENCE, tag, case.instance.name, case.text, time_limit_s=args.time_limit,
                             workers=args.workers, timeout_s=timeout)
        runs.reference.append(ref)
        say(f"  {tag}: plain {_outcome_line(ref)}")
        if not ref.answered and n < args.runs:
            # It would only time out (or die) again: a 364 × 150 × 32 build alone takes minutes.
            runs.reference_note = f"{ref.status} in run {n}, not repeated"
            say(f"  {case.label}: plain model {runs.reference_note}")
    return runs


def _outcome_line(o: Outcome) -> str:
    if not o.answered:
        peak = f", peak {o.peak_mb:.0f} MB" if o.peak_mb is not None else ""
        return f"NO ROSTER ({o.status} after {o.wall_s:.0f} s{peak})"
    if o.objective is None:
        return f"NO ROSTER ({o.status} after {o.wall_s:.1f} s, peak {_fmt(o.peak_mb)} MB)"
    first = f", first roster {o.first_roster_s:.1f} s" if o.first_roster_s is not None else ""
    bound = f" (bound {o.best_bound:.0f})" if o.best_bound is not None else ""
    return (f"{o.status} objective {_fmt(o.objective)}{bound}{first}, done {o.wall_s:.1f} s, "
            f"peak {_fmt(o.peak_mb)} MB")


def _verdict_line(ours: Outcome, verdict: Verdict | None) -> str:
    if verdict is None:
        return "no roster to check"
    line = describe(verdict)
    if verdict.objective != ours.objective:
        line += f" — OBJECTIVE MISMATCH: we reported {ours.objective}, the checker prices it {verdict.objective}"
    return line


def _fmt(value: float | int | None) -> str:
    if value is None:
        return NONE
    return f"{value:,.0f}"


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median_low(present) if present else None  # _low: always one run's own figure


def _gap(ours: float | None, other: float | None) -> str:
    if ours is None or other is None:
        return NONE
    if other == 0:
        return "0 %" if ours == 0 else NONE
    return f"{(ours - other) / other * 100:+.1f} %"


def _objective_cell(outcomes: Sequence[Outcome], note: str = "") -> str:
    if not outcomes:
        return note or NONE
    values = [o.objective for o in outcomes if o.objective is not None]
    if not values:
        statuses = sorted({_no_roster_status(o) for o in outcomes})
        return f"no roster ({', '.join(statuses)})" + (f"; {note}" if note else "")
    cell = _fmt(_median(values))
    if len(values) > 1 and min(values) != max(values):
        cell += f" ({_fmt(min(values))}–{_fmt(max(values))})"
    if len(values) < len(outcomes):
        cell += f" [roster in {len(values)} of {len(outcomes)} runs]"
    return cell


def _no_roster_status(o: Outcome) -> str:
    return f"{o.status}, killed at {o.wall_s:.0f} s" if o.status == TIMEOUT else f"{o.status} at {o.wall_s:.0f} s"


def _check_cell(runs: CaseRuns) -> str:
    checked = [(o, v) for o, v in zip(runs.ours, runs.verdicts, strict=True) if v is not None]
    if not checked:
        return "no roster"
    parts = []
    broken = [len(v.broken) for _, v in checked if not v.feasible]
    if broken:
        parts.append(f"BREAKS {max(broken)} RULES ({len(broken)} of {len(checked)} rosters)")
    mismatched = [(o.objective, v.objective) for o, v in checked if o.objective != v.objective]
    if mismatched:
        parts.append("OBJECTIVE MISMATCH " + ", ".join(f"{a} ≠ {b}" for a, b in mismatched))
    return "; ".join(parts) if parts else "valid"


def summarise(runs: CaseRuns, with_reference: bool) -> dict[str, str]:
    ours = _median([o.objective for o in runs.ours])
    plain = _median([o.objective for o in runs.reference])
    reference_cell = _objective_cell(runs.reference, runs.reference_note) if with_reference else "not run"
    return {
        "instance": runs.case.label,
        "days×staff×types": runs.case.size,
        "ours": _objective_cell(runs.ours),
        "plain": reference_cell,
        "best known": _fmt(runs.case.best_known),
        "gap vs best": _gap(ours, runs.case.best_known),
        "gap vs plain": _gap(ours, plain),
        "first roster s": _seconds(_median([o.first_roster_s for o in runs.ours])),
        "peak MB": _fmt(_median([o.peak_mb for o in runs.ours])),
        "plain peak MB": _fmt(_median([o.peak_mb for o in runs.reference])) if with_reference else NONE,
        "check": _check_cell(runs),
    }


def _seconds(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f}"


def table(rows: list[dict[str, str]]) -> str:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row.get(c, "") for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=" ".join((__doc__ or "").split("\n\n")[0].split()))
    parser.add_argument("--quick", action="store_true",
                        help=f"a developer's loop: {QUICK_TIME_LIMIT_S:g} s, 1 run, instances {QUICK_INSTANCES}, "
                             f"sizes {QUICK_SIZES} (each overridable by its own flag)")
    parser.add_argument("--time-limit", type=float, help="seconds per solve, ours and the reference (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers for both (default 2)")
    parser.add_argument("--runs", type=int, help="runs per instance; the table shows medians (default 3)")
    parser.add_argument("--instances", help="comma-separated numbers, or 'none' (default: every InstanceN.txt)")
    parser.add_argument("--sizes", help="generated DAYSxSTAFFxSHIFTS, comma-separated, or 'none' "
                                        f"(default: {DEFAULT_SIZES})")
    parser.add_argument("--seeds", default="1", help="generator seeds, comma-separated: a row per size and seed")
    parser.add_argument("--grace", type=float,
                        help="seconds past the time limit before a solve is killed "
                             "(default: max(60, time limit); 30 with --quick)")
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="skip the plain reference model (our rosters are still checked)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--out", type=Path, help="also write the final table (markdown) to this file")
    args = parser.parse_args(argv)
    if args.time_limit is None:
        args.time_limit = QUICK_TIME_LIMIT_S if args.quick else 60.0
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if args.instances is None:
        args.instances = QUICK_INSTANCES if args.quick else ""
    if args.sizes is None:
        args.sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    if args.grace is None:  # quick: a plain model still building at 40 s is reported, not waited for
        args.grace = 30.0 if args.quick else max(60.0, args.time_limit)
    if args.runs < 1 or args.time_limit <= 0 or args.workers < 1:
        parser.error("--runs, --time-limit and --workers must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.dir.is_dir():
        return fail(f"no instance directory {args.dir} (the Curtois instances, InstanceN.txt; pass --dir)")
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        cases = given_cases(args.dir, args.instances) + generated_cases(args.sizes, seeds)
    except ValueError as error:
        return fail(str(error))
    if not cases:
        return fail("nothing to run (--instances none and --sizes none)")
    say(f"roster NRP bench: {len(cases)} instances × {args.runs} runs, {args.time_limit:g} s each, "
        f"{args.workers} workers, reference {'on' if args.reference else 'off'}, each solve in its own process "
        f"(killed after {args.time_limit + args.grace:g} s), python {sys.version.split()[0]}")
    all_runs = [run_case(case, args) for case in cases]
    rows = [summarise(runs, args.reference) for runs in all_runs]
    report = table(rows)
    say("")
    say(f"Medians of {args.runs} run(s) at {args.time_limit:g} s, {args.workers} workers "
        "(range across runs in parentheses):")
    say(report)
    if args.out:
        args.out.write_text(report + "\n")
        say(f"(table written to {args.out})")
    failed = [row["instance"] for row in rows if row["check"] not in ("valid", "no roster")]
    if failed:
        say(f"CHECK FAILED on {', '.join(failed)}: a roster breaks a rule or is not priced as we reported")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
