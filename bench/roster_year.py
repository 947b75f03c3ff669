"""A township's year of rotation periods (轮值轮训), solved one after the other by the roster solver: 600 members (a
fifth police, the rest from six village patrol teams, a security company and a militia company), day training, day
and night patrols per area, a night checkpoint and a fire check; each period's leave and wishes; 13 periods of 28
days. Each roster is carried into the next period's fairness history as the service carries a published one
(roster.testing.year.Served), and checked against the period's hard rules by a checker of its own.

The baseline, in the same run: the same periods solved again with no fairness history (each period's counts start
from zero; nights in a row before a period, a hard rule, still carried), at the same time limit unless
``--baseline-time-limit`` says otherwise. The first period has no history in either, so the baseline shares its
roster. Its cumulative spread is what the year would look like if the service
ignored past periods.

Per period it prints the time to the first roster (from the solve call, model building included), the final
objective (split by soft rule) and bound, the wall time, and the spread of load so far (most − fewest duties per
member, all duties and nights) with and without history; then a summary table and the peak memory. 30 s a period
is the service's default limit (ROSTER_SOLVE_DEFAULT_TIME_LIMIT_S).

Measured 2026-12-07 on the development machine (2 cores, shared with other solver runs: load average 3–4), seed 0,
600 members, 13 periods of 28 days, both chains keeping every hard rule in every period:

| limit a period | first roster | spread after 13 periods, with history | without history | run | peak RSS |
|---|---|---|---|---|---|
| 30 s (default) | 6.5–11.0 s | duties 9, nights 6 | duties 24, nights 9 | 764 s | 1986 MiB |
| 60 s | 6.6–11.9 s | duties 1, nights 4 | duties 12, nights 12 | 1512 s | 2088 MiB |

At 10 s and 20 s a period no roster was found for the first period (the solver gives its first-roster search 60 %
of the limit). The bound is negative throughout (−30 to −246, every penalty being ≥ 0): a trivial bound, so the
gap says nothing at this size.

    python bench/roster_year.py [--periods 13] [--days 28] [--members 600] [--time-limit 30] [--workers 2]
                                [--seed 0] [--baseline-time-limit S] [--no-baseline]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from dataclasses import dataclass

from roster.solver import Status
from roster.testing.township import Township, period_facts, township
from roster.testing.year import PeriodRun, Served, hard_rule_breaks, solve_period, spread, without_fairness_history


def say(message: str) -> None:
    print(message, flush=True)


@dataclass(frozen=True)
class Row:
    period: str
    run: PeriodRun
    breaks: int
    duty_spread: int
    night_spread: int
    baseline: PeriodRun | None = None
    baseline_duty_spread: int | None = None
    baseline_night_spread: int | None = None


@dataclass
class Chain:
    """One chain of periods: its rosters so far, and whether it carries fairness history."""

    history: bool
    served: Served


def solve_in_chain(chain: Chain, town: Township, index: int, args: argparse.Namespace,
                   limit: float) -> tuple[PeriodRun, int]:
    facts = chain.served.history(period_facts(town, index, days=args.days, seed=args.seed))
    if not chain.history:
        facts = without_fairness_history(facts)
    run = solve_period(facts, time_limit_s=limit, workers=args.workers)
    breaks = hard_rule_breaks(facts, run.assignments) if _rostered(run) else []
    for text in breaks[:5]:
        say(f"    hard rule broken: {text}")
    chain.served.add(facts, run.assignments)
    return run, len(breaks)


def spreads(chain: Chain, town: Township) -> tuple[int, int]:
    duties, nights = chain.served.loads(m.member_id for m in town.members)
    return spread(duties), spread(nights)


def _kept(row: Row) -> str:
    if not _rostered(row.run) or (row.baseline is not None and not _rostered(row.baseline)):
        return "not checked (no roster)"
    return "kept" if not row.breaks else f"{row.breaks} BROKEN"


def rss_mib() -> float | None:
    """The process's resident memory now (Linux), to see whether it grows period after period."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration, ValueError):
        return None


def _rostered(run: PeriodRun) -> bool:
    return run.status in (Status.OPTIMAL, Status.FEASIBLE)


def _split(run: PeriodRun) -> str:
    return "[" + ", ".join(f"{kind} {n}" for kind, n in sorted(run.penalties.items())) + "]"


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f}"


def _n(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def period_line(row: Row, index: int, periods: int) -> str:
    r = row.run
    line = (f"period {index + 1}/{periods} {row.period}: {r.status.value}, first roster {_s(r.first_roster_s)} s, "
            f"objective {_n(r.objective)} {_split(r)} (bound {_n(r.bound)}), wall {r.wall_s:.1f} s, "
            f"hard rules {_kept(row)}; spread so far: duties "
            f"{row.duty_spread}, nights {row.night_spread}")
    if row.baseline is not None:
        b = row.baseline
        line += (f" | without history: duties {row.baseline_duty_spread}, nights {row.baseline_night_spread} "
                 f"({b.status.value}, first roster {_s(b.first_roster_s)} s, objective {_n(b.objective)})")
    return line


def summary(rows: list[Row]) -> list[str]:
    head = ["period", "status", "first roster s", "objective", "bound", "wall s", "spread duties", "spread nights",
            "no-history duties", "no-history nights"]
    table = [head, ["---"] * len(head)]
    for row in rows:
        r = row.run
        table.append([row.period, r.status.value, _s(r.first_roster_s), _n(r.objective), _n(r.bound),
                      f"{r.wall_s:.1f}", str(row.duty_spread), str(row.night_spread),
                      _n(row.baseline_duty_spread), _n(row.baseline_night_spread)])
    return ["| " + " | ".join(cells) + " |" for cells in table]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--periods", type=int, default=13)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--members", type=int, default=600)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per period")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-time-limit", type=float, default=None,
                        help="seconds per period for the no-history baseline (default: --time-limit)")
    parser.add_argument("--no-baseline", action="store_true", help="solve only the chain with history")
    args = parser.parse_args(argv)
    if args.periods < 1 or args.days < 7 or args.members < 40:
        print("roster year bench: --periods ≥ 1, --days ≥ 7, --members ≥ 40", file=sys.stderr)
        return 2
    town = township(args.members, seed=args.seed)
    police = sum(m.role == "police" for m in town.members)
    slots = sum(d.required_size for d in town.duties)
    night_slots = sum(d.required_size for d in town.duties if d.night)
    baseline_limit = args.time_limit if args.baseline_time_limit is None else args.baseline_time_limit
    say(f"township: {len(town.members)} members ({police} police, {len(town.members) - police} civilians), "
        f"{len(town.duties)} duties, {slots} places a day ({night_slots} at night); {args.periods} periods of "
        f"{args.days} days; {args.time_limit:g} s a period, {args.workers} workers"
        + ("" if args.no_baseline else f"; baseline without history at {baseline_limit:g} s a period"))
    say(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    with_history, without = Chain(True, Served()), Chain(False, Served())
    rows: list[Row] = []
    started = time.monotonic()
    for index in range(args.periods):
        run, breaks = solve_in_chain(with_history, town, index, args, args.time_limit)
        duty_spread, night_spread = spreads(with_history, town)
        row = Row(f"第{index + 1}期", run, breaks, duty_spread, night_spread)
        if not args.no_baseline and index == 0:  # no history yet: the first period is the same problem in both
            without.served.add(period_facts(town, 0, days=args.days, seed=args.seed), run.assignments)
            row = Row(row.period, run, breaks, duty_spread, night_spread, run, duty_spread, night_spread)
        elif not args.no_baseline:
            base, base_breaks = solve_in_chain(without, town, index, args, baseline_limit)
            base_duties, base_nights = spreads(without, town)
            row = Row(row.period, run, breaks + base_breaks, duty_spread, night_spread, base, base_duties, base_nights)
        rows.append(row)
        say(period_line(row, index, args.periods) + f"; memory now {_s(rss_mib())} MiB")
        if not _rostered(run):
            say("no roster for this period: the year stops here (nothing to carry into the next)")
            break
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    say("")
    for line in summary(rows):
        say(line)
    firsts = [r.run.first_roster_s for r in rows if r.run.first_roster_s is not None]
    say("")
    kept = [r for r in rows if r.breaks == 0 and _rostered(r.run) and (r.baseline is None or _rostered(r.baseline))]
    say(f"{len(kept)}/{len(rows)} periods rostered keeping every hard rule (both chains); first roster "
        f"{_s(min(firsts, default=None))}–{_s(max(firsts, default=None))} s; final spread duties "
        f"{rows[-1].duty_spread}, nights {rows[-1].night_spread}"
        + ("" if args.no_baseline else f"; without history: duties {rows[-1].baseline_duty_spread}, nights "
                                       f"{rows[-1].baseline_night_spread}"))
    say(f"total {time.monotonic() - started:.0f} s; peak memory (ru_maxrss) {peak_mib:.0f} MiB; "
        f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0 if len(kept) == args.periods else 1


if __name__ == "__main__":
    sys.exit(main())
