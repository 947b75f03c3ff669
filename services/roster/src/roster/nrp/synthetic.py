"""Synthetic Curtois-format instances of any size (up to the benchmark's largest, 364 days × 150 staff × 32 shift
types), made like the field's: what the ten given instances hold, at their densities, scaled to the size asked.

Measured on the ten given instances (bench/data/nrp) and reproduced here:

- shifts start early, mid-day, late or at night; a shift may not be followed the next day by one that starts
  earlier in the day (``L`` cannot be followed by ``E`` or ``D``); most last 480 minutes, night ones up to 600;
- contracts: most staff full-time (about 0.64 shifts a day at most, 0.56 at least, in minutes), some part-time
  (half of that, shorter minimum runs); at most 5–6 consecutive shifts, runs of at least 2 (part-time 1) and
  rests of at least 2 (1–3); at most one weekend in two worked;
- each person may take most shift types, some capped (nights a few times a period), a few types not at all;
- one fixed day off per person per fortnight;
- on-requests about 1.2 per person and week, off-requests about 0.6, in runs of one to five days of one shift,
  weights 1–3;
- cover on every day and shift type, weighted 100 per person short and 1 per person over, its total close to
  what the staff's maximum minutes allow: tight, so under-cover is the objective's
  hard part, as in the field.

Seeded: the same arguments give the same text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SLOTS = ("E", "D", "L", "N")
"""Start of the day a shift type belongs to: early, day, late, night."""

FULL_TIME_MAX_SHIFTS_PER_DAY = 0.64
FULL_TIME_MIN_SHIFTS_PER_DAY = 0.56
PART_TIME_SHARE = 0.25
COVER_OF_CAPACITY = 0.96
"""The field's cover is 0.94–0.99 of what the staff's maximum minutes allow (0.62 against 0.63 shifts a day on
Instance10, 0.41 against 0.43 on Instance9)."""


@dataclass(frozen=True)
class _Shift:
    id: str
    slot: int
    minutes: int


@dataclass(frozen=True)
class _Contract:
    max_minutes: int
    min_minutes: int
    max_consecutive: int
    min_consecutive: int
    min_days_off: int
    max_weekends: int


def generate(days: int, staff: int, shifts: int, *, seed: int = 0) -> str:
    rng = random.Random(seed)
    types = _shift_types(shifts, rng)
    people = [f"{chr(65 + i % 26)}{i}" for i in range(staff)]
    contracts = {person: _contract(days, rng) for person in people}
    allowed = {person: _allowed(types, days, rng) for person in people}

    lines = ["SECTION_HORIZON", str(days), "", "SECTION_SHIFTS"]
    for shift in types:
        cannot = [other.id for other in types if other.slot < shift.slot]
        lines.append(f"{shift.id},{shift.minutes},{'|'.join(cannot)}")
    lines += ["", "SECTION_STAFF"]
    for person in people:
        c = contracts[person]
        limits = "|".join(f"{t.id}={allowed[person].get(t.id, 0)}" for t in types)
        lines.append(
            f"{person},{limits},{c.max_minutes},{c.min_minutes},{c.max_consecutive},{c.min_consecutive},"
            f"{c.min_days_off},{c.max_weekends}"
        )
    lines += ["", "SECTION_DAYS_OFF"]
    for person in people:
        off = sorted(rng.sample(range(days), k=min(days, max(1, days // 14))))
        lines.append(",".join([person] + [str(d) for d in off]))
    lines += ["", "SECTION_SHIFT_ON_REQUESTS"]
    lines += _requests(people, allowed, days, per_week=1.2, rng=rng)
    lines += ["", "SECTION_SHIFT_OFF_REQUESTS"]
    lines += _requests(people, allowed, days, per_week=0.6, rng=rng)
    lines += ["", "SECTION_COVER"]
    lines += _cover(types, people, contracts, allowed, days, rng)
    return "\n".join(lines) + "\n"


def _shift_types(count: int, rng: random.Random) -> list[_Shift]:
    """``count`` shift types over the four slots, in slot order, the first of each slot named by it."""
    slots = [min(len(SLOTS) - 1, i * len(SLOTS) // count) for i in range(count)] if count >= 4 else list(range(count))
    out: list[_Shift] = []
    for slot in slots:
        minutes = rng.choice([480, 540, 600]) if SLOTS[slot] == "N" else rng.choice([480, 480, 480, 420, 540])
        taken = sum(1 for s in out if s.slot == slot)
        out.append(_Shift(SLOTS[slot] if taken == 0 else f"{SLOTS[slot]}{taken}", slot, minutes))
    return out


def _contract(days: int, rng: random.Random) -> _Contract:
    part_time = rng.random() < PART_TIME_SHARE
    share = 0.5 if part_time else 1.0
    max_minutes = round(days * FULL_TIME_MAX_SHIFTS_PER_DAY * share * 480 / 60) * 60
    min_minutes = round(days * FULL_TIME_MIN_SHIFTS_PER_DAY * share * 480 / 60) * 60
    weekends = days // 7
    return _Contract(
        max_minutes=max_minutes,
        min_minutes=min_minutes,
        max_consecutive=rng.choice([5, 5, 5, 6]),
        min_consecutive=1 if part_time else 2,
        min_days_off=rng.choice([1, 2, 2, 2, 3]),
        max_weekends=max(1, weekends // 2 + (1 if part_time and weekends > 1 else 0)),
    )


def _allowed(types: list[_Shift], days: int, rng: random.Random) -> dict[str, int]:
    """Each type a person may take, with its cap: most types freely, nights a few times, some not at all."""
    allowed: dict[str, int] = {}
    for t in types:
        if rng.random() < 0.2:
            continue
        if SLOTS[t.slot] == "N":
            allowed[t.id] = max(1, days // 6)
        elif rng.random() < 0.15:
            allowed[t.id] = max(1, days // 3)
        else:
            allowed[t.id] = days
    if not any(cap == days for cap in allowed.values()):
        # everyone may take at least one day-time type freely, or capped nights could not reach their minimum
        # minutes (the field's instances are all feasible)
        t = rng.choice([t for t in types if SLOTS[t.slot] != "N"] or types)
        allowed[t.id] = days
    return allowed


def _requests(
    people: list[str], allowed: dict[str, dict[str, int]], days: int, *, per_week: float, rng: random.Random
) -> list[str]:
    """Requests in runs of one to five days of one shift, about ``per_week`` days per person and week."""
    lines: list[str] = []
    for person in people:
        wanted = round(per_week * days / 7)
        kinds = list(allowed[person])
        while wanted > 0:
            length = min(wanted, rng.randint(1, 5))
            start = rng.randrange(days)
            shift, weight = rng.choice(kinds), rng.randint(1, 3)
            for day in range(start, min(days, start + length)):
                lines.append(f"{person},{day},{shift},{weight}")
            wanted -= length
    return lines


def _cover(
    types: list[_Shift],
    people: list[str],
    contracts: dict[str, _Contract],
    allowed: dict[str, dict[str, int]],
    days: int,
    rng: random.Random,
) -> list[str]:
    """Cover close to what the staff can work: the day's total just under their maximum shifts per day,
    shared among the types by how many people may take each, varying by day."""
    workable = COVER_OF_CAPACITY * sum(c.max_minutes for c in contracts.values()) / 480 / days
    takers = {t.id: sum(1 for p in people if t.id in allowed[p]) for t in types}
    capped = {t.id: sum(min(allowed[p].get(t.id, 0), days) for p in people) / days for t in types}
    share = {t.id: min(takers[t.id], capped[t.id]) for t in types}
    total_share = sum(share.values()) or 1.0
    lines: list[str] = []
    for d in range(days):
        weekend = d % 7 in (5, 6)
        day_total = workable * (0.85 if weekend else 1.06)
        for t in types:
            mean = day_total * share[t.id] / total_share
            need = max(0, round(mean + rng.uniform(-0.35, 0.35) * max(1.0, mean)))
            lines.append(f"{d},{t.id},{need},100,1")
    return lines
