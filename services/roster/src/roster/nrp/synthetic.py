"""Synthetic Curtois-format instances of any size (up to the benchmark's largest, 364 days × 150 staff × 32
shift types), to check that the solver builds big models fast and in sane memory. Seeded: the same arguments
give the same text."""

from __future__ import annotations

import random


def generate(days: int, staff: int, shifts: int, *, seed: int = 0) -> str:
    rng = random.Random(seed)
    ids = [f"S{i}" for i in range(shifts)]
    lines = ["SECTION_HORIZON", str(days), "", "SECTION_SHIFTS"]
    for i, sid in enumerate(ids):
        # later shifts (evening/night-like) may not be followed by the earliest ones
        cannot = [ids[j] for j in range(min(i, 2))] if i >= shifts // 2 else []
        lines.append(f"{sid},{rng.choice([480, 480, 540, 600])},{'|'.join(cannot)}")
    lines += ["", "SECTION_STAFF"]
    weeks = max(1, days // 7)
    people = [chr(65 + i % 26) + str(i) for i in range(staff)]
    for person in people:
        allowed = rng.sample(ids, k=max(1, min(shifts, rng.randint(1, 4))))
        max_shifts = "|".join(f"{sid}={days if sid in allowed else 0}" for sid in ids)
        lines.append(f"{person},{max_shifts},{weeks * 2400},{weeks * 1800},5,2,2,{max(1, weeks // 2)}")
    lines += ["", "SECTION_DAYS_OFF"]
    for person in people:
        off = sorted(rng.sample(range(days), k=min(days, 2 + days // 14)))
        lines.append(",".join([person] + [str(d) for d in off]))
    lines += ["", "SECTION_SHIFT_ON_REQUESTS"]
    for person in people:
        for _ in range(days // 7):
            lines.append(f"{person},{rng.randrange(days)},{rng.choice(ids)},{rng.randint(1, 3)}")
    lines += ["", "SECTION_SHIFT_OFF_REQUESTS"]
    for person in people:
        for _ in range(days // 7):
            lines.append(f"{person},{rng.randrange(days)},{rng.choice(ids)},{rng.randint(1, 3)}")
    lines += ["", "SECTION_COVER"]
    per_shift = max(1, int(staff * 0.7 / shifts))
    for d in range(days):
        for sid in ids:
            lines.append(f"{d},{sid},{max(0, per_shift + rng.randint(-1, 1))},100,1")
    return "\n".join(lines) + "\n"
