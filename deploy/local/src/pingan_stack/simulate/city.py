"""The simulated city and how its people misbehave: a pure, seeded plan (no I/O, no clock).

Modelled on the seeds (Ruian, Wenzhou): townships with villages, a police station and a government each, patrol
teams of village members with phones walking routes of checkpoints at night, a rotation programme whose cohort
they are, a 211 cycle of covert findings against the townships' governments and the city's departments, and a
supervisor per township who is told when things go wrong. The field misbehaves, each kind on purpose and drawn
from the seed: checkpoints scanned late or not at all (漏巡), a whole team that never starts (no-show), a phone
offline for hours that syncs its batch after the round has closed, a phone scanning for two members (the second
member's own phone scans too: ``two-devices``), a QR code read where an NFC tag is fitted (``weaker-method``),
hazards reported from the route, findings a unit never rectifies, officials who never acknowledge.

Same seed and scale → the same plan, to the last scan id (``test_simulate_city``). Times are offsets: minutes
from the night's window start, or days into the 211 cycle; the driver anchors them on the services' clock. Every
id carries the run's tag, so runs on one stack never clash (a stack's database outlives a run)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# (township code, name, short, village code, village name, latitude, longitude): from the sample directory
TOWNSHIPS = (
    ("330381102000", "塘下镇", "TX", "330381102201", "韩田村", 27.8490, 120.6580),
    ("330381001000", "安阳街道", "AY", "330381001001", "万松社区", 27.7801, 120.6561),
    ("330381103000", "罗凤街道", "LF", "330381103201", "罗凤村", 27.8800, 120.6910),
)
DEPARTMENTS = ("ZJ", "YJ", "XF")  # 住建局, 应急管理局, 消防救援大队: bundled with a township in a finding (捆绑考核)
SURNAMES = "陈王李张林黄吴周徐郑"
HAZARDS = (("fire", "楼道堆放杂物堵塞消防通道"), ("roads", "路口信号灯损坏"), ("public-order", "废品收购站夜间聚集"))
FINDINGS = (("fire", "沿街店铺灭火器过期"), ("construction", "工地围挡缺失"), ("fire", "出租房电动车违规充电"),
            ("public-order", "网吧接纳未成年人"))
CHAOS_TARGETS = ("patrol", "roster", "inspection", "alerts", "kafka", "postgres")


@dataclass(frozen=True)
class Checkpoint:
    id: str
    tag: str
    name: str
    latitude: float
    longitude: float
    nfc: bool  # an NFC tag is fitted: a QR read here is flagged


@dataclass(frozen=True)
class Team:
    code: str  # a patrol-team entry of the directory, imported by the run
    name: str
    township: str
    village: str
    members: tuple[str, ...]
    phones: tuple[str, ...]  # device ids, one per member (the phone of members[i] is phones[i])
    checkpoints: tuple[Checkpoint, ...]
    route_id: str
    plan_id: str


@dataclass(frozen=True)
class Scan:
    scan_id: str
    team: str
    phone: str
    member: str
    checkpoint: str
    tag: str
    method: str  # nfc or qr
    round_index: int
    minute: float  # device time: minutes after the night's window start
    sync_minute: float  # when the phone gets it through: the same, or hours later for an offline phone
    flags: tuple[str, ...] = ()  # what patrol must flag on it


@dataclass(frozen=True)
class Hazard:
    client_id: str
    team: str
    phone: str
    member: str
    category: str
    description: str
    unit: str  # the township government responsible
    minute: float


@dataclass(frozen=True)
class Finding:
    client_id: str
    township_unit: str
    department_unit: str | None
    category: str
    description: str
    fate: str  # "verified": rectified and verified in time; "unrectified": left to fall overdue


@dataclass(frozen=True)
class Supervisor:
    township: str
    subject: str  # the person's inbox owner
    acknowledges: bool  # some officials never acknowledge


@dataclass(frozen=True)
class ChaosKill:
    target: str  # a service, "kafka" or "postgres"
    at: float  # fraction of the drive (0..1) when it dies


@dataclass(frozen=True)
class CityPlan:
    seed: int
    scale: int
    run: str
    townships: tuple[tuple[str, str, str], ...]  # (code, name, unit id of its government)
    teams: tuple[Team, ...]
    rounds_per_night: int
    round_minutes: int
    start_grace_minutes: int
    checkpoint_grace_minutes: int
    round_fates: dict[tuple[str, int], str]  # (team, round) → patrolled / no-show / offline
    scans: tuple[Scan, ...]
    hazards: tuple[Hazard, ...]
    units: tuple[tuple[str, str, str, str], ...]  # (unit id, name, kind township|department, township code|"")
    findings: tuple[Finding, ...]
    supervisors: tuple[Supervisor, ...]
    chaos: tuple[ChaosKill, ...] = field(default=())

    @property
    def night_minutes(self) -> int:
        return self.rounds_per_night * self.round_minutes

    def team(self, code: str) -> Team:
        return next(t for t in self.teams if t.code == code)


def plan_city(seed: int, *, scale: int = 1, run: str = "r0", chaos: bool = False,
              chaos_targets: tuple[str, ...] = CHAOS_TARGETS) -> CityPlan:
    """The whole city and its night, drawn from ``random.Random(seed)`` alone."""
    rng = random.Random(f"{seed}:{scale}")
    townships = tuple((code, name, f"{run}-{short}") for code, name, short, *_ in TOWNSHIPS)
    teams = tuple(_team(rng, run, i, TOWNSHIPS[i % len(TOWNSHIPS)]) for i in range(2 * len(TOWNSHIPS) * scale))
    rounds, round_minutes = 2, 60
    fates: dict[tuple[str, int], str] = {}
    scans: list[Scan] = []
    doubled: set[str] = set()
    for t_index, team in enumerate(teams):
        for r in range(rounds):
            # the first team never starts its second round; the second team's phone is offline in its first
            fate = ("no-show" if (t_index, r) == (0, 1) else "offline" if (t_index, r) == (1, 0)
                    else rng.choices(("patrolled", "no-show", "offline"), (0.85, 0.05, 0.10))[0])
            fates[(team.code, r)] = fate
            if fate != "no-show":
                scans += _round_scans(rng, team, r, round_minutes, offline=fate == "offline",
                                      rounds_per_night=rounds, doubled=doubled)
    hazards = tuple(
        Hazard(client_id=f"{run}-H{i:03d}", team=team.code, phone=team.phones[0], member=team.members[0],
               category=category,
               description=description, unit=f"{run}-{_short(team.township)}", minute=rng.uniform(5, 100))
        for i, team in enumerate(teams) if rng.random() < 0.5 or i == 0
        for category, description in [rng.choice(HAZARDS)])
    units = tuple((unit, f"{name}人民政府（模拟{run}）", "township", code) for code, name, unit in townships) + tuple(
        (f"{run}-{d}", f"瑞安市{d}局（模拟{run}）", "department", "") for d in DEPARTMENTS)
    findings = []
    for i in range(4 * len(townships) * scale):
        _, _, unit = townships[i % len(townships)]
        category, description = rng.choice(FINDINGS)
        bundled = f"{run}-{rng.choice(DEPARTMENTS)}" if rng.random() < 0.3 else None
        fate = "unrectified" if i in (0, 1) or rng.random() < 0.3 else "verified"
        findings.append(Finding(f"{run}-F{i:03d}", unit, bundled, category, description, fate))
    supervisors = tuple(Supervisor(code, f"{name}督查-{run}", acknowledges=i != 0 and rng.random() < 0.6)
                        for i, (code, name, _) in enumerate(townships))
    kills: tuple[ChaosKill, ...] = ()
    if chaos:
        # spread over the drive, each kind of process at least once, never two within 8 % of each other so each
        # restart has settled before the next death
        order = list(chaos_targets)
        rng.shuffle(order)
        slot = 0.8 / max(1, len(order))
        kills = tuple(ChaosKill(target, round(0.08 + i * slot + rng.uniform(0, slot * 0.4), 4))
                      for i, target in enumerate(order))
    return CityPlan(seed=seed, scale=scale, run=run, townships=townships, teams=teams, rounds_per_night=rounds,
                    round_minutes=round_minutes, start_grace_minutes=15, checkpoint_grace_minutes=10,
                    round_fates=fates, scans=tuple(scans), hazards=hazards, units=units, findings=tuple(findings),
                    supervisors=supervisors, chaos=kills)


def _short(township: str) -> str:
    return next(short for code, _, short, *_ in TOWNSHIPS if code == township)


def _team(rng: random.Random, run: str, index: int, township: tuple[str, str, str, str, str, float, float]) -> Team:
    code, _, short, village, village_name, lat, lon = township
    team_code = f"{run}-{short}{index:02d}"
    size = rng.randint(3, 5)
    members = tuple(f"{rng.choice(SURNAMES)}{team_code}-{m}" for m in range(size))  # distinct by their number
    checkpoints = tuple(
        Checkpoint(id=f"{team_code}-CP{c}", tag=f"NFC-{team_code}-{c}", name=f"{village_name}{c + 1}号点",
                   latitude=round(lat + 0.001 * c, 6), longitude=round(lon + 0.001 * index % 7, 6),
                   nfc=c % 2 == 0)
        for c in range(rng.randint(3, 4)))
    return Team(code=team_code, name=f"{village_name}巡逻{index + 1}队（模拟）", township=code, village=village,
                members=members, phones=tuple(f"phone-{team_code}-{i}" for i in range(size)),
                checkpoints=checkpoints, route_id=f"{team_code}-R", plan_id=f"{team_code}-P")


def _round_scans(rng: random.Random, team: Team, r: int, round_minutes: int, *, offline: bool,
                 rounds_per_night: int, doubled: set[str]) -> list[Scan]:
    """One round of a team: the leader's phone walks the route; some checkpoints are late or missed; now and then
    a QR is read at an NFC point, or the leader's phone scans a second member who scans on his own phone too."""
    start = r * round_minutes
    night_end = rounds_per_night * round_minutes
    out: list[Scan] = []
    # the first scan after the previous round's checkpoint grace (a scan inside it could count for that round) and
    # before this round's start grace ends; the last a few minutes before the next round's window
    step = (round_minutes - 16) / len(team.checkpoints)
    for c, checkpoint in enumerate(team.checkpoints):
        if rng.random() < 0.12 and c > 0:  # 漏巡: never scanned
            continue
        minute = start + 12 + c * step + rng.uniform(0, min(2.5, step / 3))
        if rng.random() < 0.1:  # late, still inside the round and its grace
            minute = min(start + round_minutes - 3, minute + step / 2)  # never into the next round's window
        sync = night_end + rng.uniform(120, 300) if offline else minute
        qr = checkpoint.nfc and rng.random() < 0.15
        scan_id = f"{team.code}-r{r}-c{c}"
        out.append(Scan(scan_id, team.code, team.phones[0], team.members[0], checkpoint.id, checkpoint.tag,
                        "qr" if qr else "nfc", r, round(minute, 3), round(sync, 3),
                        ("weaker-method",) if qr else ()))
        # once a night per team: two such pairs of one member within the hour would flag each other's scans too
        if len(team.members) > 1 and team.code not in doubled and rng.random() < 0.15:
            doubled.add(team.code)
            # the leader's phone scans for the second member too, while that member's own phone scans him there
            # a moment before and after: one member on two devices at once (two-devices on the leader's scan)
            other, own = team.members[1], team.phones[1]
            for suffix, phone, at, flags in (("y", own, minute - 1.5, ()), ("x", team.phones[0], minute,
                                                                              ("two-devices",)),
                                             ("z", own, minute + 1.5, ())):
                out.append(Scan(f"{scan_id}-{suffix}", team.code, phone, other, checkpoint.id, checkpoint.tag,
                                "nfc", r, round(at, 3), round(sync if offline else at, 3), flags))
    return out
