"""An escalation policy and its ladder: ordered steps, each with a delay, targets, channels and a label, repeated
N times or forever. Pure rules: which step comes next, when, and what a policy frozen onto an alert says.

Step ``delay_seconds`` is counted from the step before it (for the first step: from the raise; for the first
step of a repeated climb: from the last step). Targets are ``person:<name>``, ``unit:<id>`` or ``role:<name>``;
a target may name the alert's own unit, area, place or township with ``{unit}`` / ``{area}`` / ``{place}`` /
``{township}`` (the default ladder's "the unit's contact", "the township's supervisor"), filled in when the policy
is frozen onto the alert. ``{place}`` and ``{township}`` are directory codes (``alerts.places``), so one contact
entry, ``role:township-supervisor:<the township's code>``, receives the township's alerts from every source. A
target whose placeholder the alert cannot fill (no unit; a department's alert has no township) is dropped from the
frozen copy; a step left without targets leads nowhere (the auditor says so).

``{people}`` is the people the signal addresses (``AlertSignalV1.people``, token subjects): a target naming it, e.g.
``person:{people}``, becomes one target per person. The frozen step keeps that target with its other placeholders
filled (``addressed``), so that a later trigger of the open alert naming more people widens the step to them
(``add_people``) rather than being dropped as a repeat.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Final

FOREVER: Final = -1  # ``repeat``: climb again and again until acknowledged or resolved
PEOPLE: Final = "{people}"
PLACEHOLDERS: Final = ("{unit}", "{area}", "{place}", "{township}", PEOPLE)
TARGET_PATTERN: Final = r"^(person|unit|role):[^\s\x00][^\x00]*$"
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")

DAY: Final = 24 * 3600
HOUR: Final = 3600


@dataclass(frozen=True)
class Step:
    delay_seconds: int
    targets: tuple[str, ...]
    channels: tuple[str, ...]
    label: str
    requires_all_acks: bool = False  # multi-ack: every target must acknowledge (a summons, 约谈)
    # Single-ack step: an acknowledgement lapses after this long and the climb resumes. Multi-ack step: the
    # interval of reminders to the targets that have not acknowledged yet.
    ack_timeout_seconds: int | None = None
    # A frozen step's targets naming {people}, their other placeholders filled: what a later trigger naming more
    # people fills in again (``add_people``).
    addressed: tuple[str, ...] = ()
    # Whether its targets are told when the alert is resolved. A reminder (roster's handoff) has nothing to undo:
    # its resolve only closes it, and telling a volunteer "resolved" at the shift's start would be noise.
    tells_resolution: bool = True

    @property
    def delay(self) -> timedelta:
        return timedelta(seconds=self.delay_seconds)

    @property
    def ack_timeout(self) -> timedelta | None:
        return None if self.ack_timeout_seconds is None else timedelta(seconds=self.ack_timeout_seconds)

    def as_json(self) -> dict[str, Any]:
        # the two later fields only where they say something, so that stored policies read as they always did
        return {"delay_seconds": self.delay_seconds, "targets": list(self.targets), "channels": list(self.channels),
                "label": self.label, "requires_all_acks": self.requires_all_acks,
                "ack_timeout_seconds": self.ack_timeout_seconds,
                **({"addressed": list(self.addressed)} if self.addressed else {}),
                **({} if self.tells_resolution else {"tells_resolution": False})}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Step:
        return cls(delay_seconds=int(data["delay_seconds"]), targets=tuple(data["targets"]),
                   channels=tuple(data["channels"]), label=str(data["label"]),
                   requires_all_acks=bool(data.get("requires_all_acks", False)),
                   ack_timeout_seconds=data.get("ack_timeout_seconds"), addressed=tuple(data.get("addressed", ())),
                   tells_resolution=bool(data.get("tells_resolution", True)))


@dataclass(frozen=True)
class Policy:
    id: str
    name: str
    steps: tuple[Step, ...]
    repeat: int = 0  # extra climbs after the first; FOREVER for no end

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "steps": [s.as_json() for s in self.steps], "repeat": self.repeat}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Policy:
        return cls(id=str(data["id"]), name=str(data["name"]),
                   steps=tuple(Step.from_json(s) for s in data["steps"]), repeat=int(data.get("repeat", 0)))


@dataclass(frozen=True)
class Position:
    """Where an alert stands on its ladder: a step index in a climb (loop 0 is the first climb)."""

    step: int
    loop: int


def following(policy: Policy, current: Position | None) -> Position | None:
    """The step after ``current`` (None: nothing fired yet), or None when the ladder is exhausted."""
    if not policy.steps:
        return None
    if current is None:
        return Position(0, 0)
    if current.step + 1 < len(policy.steps):
        return Position(current.step + 1, current.loop)
    if policy.repeat == FOREVER or current.loop < policy.repeat:
        return Position(0, current.loop + 1)
    return None


def placeholders_in(target: str) -> list[str]:
    return _PLACEHOLDER.findall(target)


def unknown_placeholders(target: str) -> list[str]:
    return [p for p in placeholders_in(target) if p not in PLACEHOLDERS]


def freeze(policy: Policy, *, unit_id: str | None, area: str | None, place: str | None = None,
           township: str | None = None, people: Sequence[str] = ()) -> Policy:
    """The copy of ``policy`` an alert keeps: placeholders filled with the alert's unit, area, place and township,
    a ``{people}`` target once per person, targets that cannot be filled dropped (so a step may be left with none:
    it leads nowhere)."""
    values = {"{unit}": unit_id, "{area}": area, "{place}": place, "{township}": township}

    def fill(target: str) -> str | None:
        for placeholder in placeholders_in(target):
            if placeholder == PEOPLE:
                continue
            value = values.get(placeholder)
            if not value:
                return None
            target = target.replace(placeholder, value)
        return target

    steps = []
    for step in policy.steps:
        filled = [t for t in (fill(t) for t in step.targets) if t is not None]
        addressed = tuple(dict.fromkeys(t for t in filled if PEOPLE in t))
        concrete = [t for t in filled if PEOPLE not in t]
        steps.append(replace(step, targets=tuple(dict.fromkeys([*concrete, *_for_people(addressed, people)])),
                             addressed=addressed))
    return replace(policy, steps=tuple(steps))


def _for_people(addressed: Sequence[str], people: Sequence[str]) -> list[str]:
    return [t.replace(PEOPLE, person) for t in addressed for person in dict.fromkeys(people)]


def add_people(policy: Policy, people: Sequence[str]) -> tuple[Policy, list[tuple[str, ...]]]:
    """A frozen policy addressed to ``people`` too: each step's ``addressed`` targets filled with them, and per
    step the targets that are new (none for people it addresses already)."""
    steps: list[Step] = []
    gained: list[tuple[str, ...]] = []
    for step in policy.steps:
        new = tuple(t for t in dict.fromkeys(_for_people(step.addressed, people)) if t not in step.targets)
        gained.append(new)
        steps.append(replace(step, targets=step.targets + new) if new else step)
    return (replace(policy, steps=tuple(steps)) if any(gained) else policy), gained


def leads_nowhere(policy: Policy) -> list[str]:
    """Why a frozen policy cannot reach anybody (empty: it can): no steps, or steps left without targets."""
    if not policy.steps:
        return ["no steps"]
    return [f"step {i} ({s.label}) has no target" for i, s in enumerate(policy.steps) if not s.targets]


# --- the built-in ladders ----------------------------------------------------------------------------------

INSPECTION_OVERDUE_KIND: Final = "inspection.task-overdue"

# 211 (DESIGN.md §1): an overdue rectification climbs from the unit's contact to the township supervisor with a
# circulated notice (通报), to the city office with listed supervision (挂牌督办), to a summons (约谈) that the
# unit's head and the city office must each acknowledge, and to accountability (问责). The delays follow the
# rhythm of a two-week rectification phase: a day to answer, then a notice; three days more, then listing; a
# week more, then a summons; two weeks more (another rectification phase), then accountability.
DEFAULT_211_LADDER: Final = Policy(
    id="builtin:inspection.task-overdue",
    name="211 整改逾期默认升级阶梯",
    steps=(
        Step(0, ("unit:{unit}",), ("inbox", "email", "webhook"), "逾期提醒", ack_timeout_seconds=DAY),
        Step(DAY, ("role:township-supervisor:{township}",), ("inbox", "email"), "通报", ack_timeout_seconds=2 * DAY),
        Step(3 * DAY, ("role:city-office",), ("inbox", "email", "webhook", "stream"), "挂牌督办",
             ack_timeout_seconds=3 * DAY),
        Step(7 * DAY, ("role:city-office", "unit:{unit}"), ("inbox", "email", "stream"), "约谈",
             requires_all_acks=True, ack_timeout_seconds=DAY),
        Step(14 * DAY, ("role:city-office", "role:discipline-inspection"), ("inbox", "email", "stream"), "问责"),
    ),
)

# The kinds the other services emit (their signals carry the place of the route or duty, but no unit).
ROUND_NOT_STARTED_KIND: Final = "patrol.round-not-started"
CHECKPOINT_MISSED_KIND: Final = "patrol.checkpoint-missed"
SCAN_FLAGGED_KIND: Final = "patrol.scan-flagged"
NO_SHOW_KIND: Final = "roster.no-show"
NOT_PLANNED_KIND: Final = "roster.shift-not-planned"
HANDOFF_DUE_KIND: Final = "roster.handoff-due"

TOWNSHIP_SUPERVISOR: Final = "role:township-supervisor:{township}"  # the township's 平安办 on night duty
PATROL_ORGANISER: Final = "role:patrol-organiser:{township}"  # who made the roster and plans of the township
CITY_OFFICE: Final = "role:city-office"

# 巡逻未按时出发: the plan's start grace has passed already, the round's window is still open. The township
# supervisor phones the team at once (a live channel: it is night); an hour later — most of a round's slot gone —
# the city office is told, unless the township acknowledged. An acknowledgement that is not followed by a start
# (the late scan's resolve would close the alert) lapses after that same hour and the city office is told.
DEFAULT_ROUND_NOT_STARTED_LADDER: Final = Policy(
    id=f"builtin:{ROUND_NOT_STARTED_KIND}",
    name="巡逻未按时出发默认升级阶梯",
    steps=(
        Step(0, (TOWNSHIP_SUPERVISOR,), ("inbox", "webhook", "stream"), "未出巡提醒", ack_timeout_seconds=HOUR),
        Step(HOUR, (CITY_OFFICE,), ("inbox", "webhook", "stream"), "市级通报"),
    ),
)

# 漏巡: known only once the round has closed and its checkpoint grace (late offline batches) has passed, so
# nothing can be done tonight: the township reviews it in its inbox the next morning; one not acknowledged
# within a day goes to the city office as a notice (通报) that counts in the township's compliance.
DEFAULT_CHECKPOINT_MISSED_LADDER: Final = Policy(
    id=f"builtin:{CHECKPOINT_MISSED_KIND}",
    name="漏巡默认升级阶梯",
    steps=(
        Step(0, (TOWNSHIP_SUPERVISOR,), ("inbox", "stream"), "漏巡提醒"),
        Step(DAY, (CITY_OFFICE,), ("inbox", "email"), "漏巡通报"),
    ),
)

# 扫码异常 (a scan too fast, too far, replayed …): low severity and often innocent (a clock off, weak GPS), so
# the organiser checks it in the inbox; no climb — a real pattern shows in patrol's flag listing and compliance.
DEFAULT_SCAN_FLAGGED_LADDER: Final = Policy(
    id=f"builtin:{SCAN_FLAGGED_KIND}",
    name="扫码异常默认处理（不升级）",
    steps=(Step(0, (PATROL_ORGANISER,), ("inbox",), "扫码异常核查"),),
)

# 缺岗: a member not present by the shift's start + grace. The organiser finds a stand-in at once (a swap or an
# override in roster); a crew still short and unacknowledged after 30 minutes means the duty runs under strength,
# which the township supervisor decides on. A single no-show is a township matter: no city step (repeated ones
# show in roster's attendance reports).
DEFAULT_NO_SHOW_LADDER: Final = Policy(
    id=f"builtin:{NO_SHOW_KIND}",
    name="缺岗默认升级阶梯",
    steps=(
        Step(0, (PATROL_ORGANISER,), ("inbox", "webhook", "stream"), "缺岗提醒", ack_timeout_seconds=30 * 60),
        Step(30 * 60, (TOWNSHIP_SUPERVISOR,), ("inbox", "webhook", "stream"), "缺岗通报"),
    ),
)

# 排班未落实: a published patrol shift patrol refused (an unknown route or team …) is about to start unplanned: its
# rounds will not be expected, so nobody would notice the night go unwalked. The organiser of the township fixes the
# duty (or sends the team by hand) at once; one still standing after an hour is the township supervisor's.
DEFAULT_NOT_PLANNED_LADDER: Final = Policy(
    id=f"builtin:{NOT_PLANNED_KIND}",
    name="排班未落实到巡逻默认升级阶梯",
    steps=(
        Step(0, (PATROL_ORGANISER,), ("inbox", "webhook", "stream"), "排班未落实提醒", ack_timeout_seconds=HOUR),
        Step(HOUR, (TOWNSHIP_SUPERVISOR,), ("inbox", "webhook", "stream"), "排班未落实通报"),
    ),
)

# 交接班提醒: before a published shift starts, roster reminds each member on it (the text of the notice at roster's
# GET /v1/me/notices), addressing the members by their subjects. One step to the members themselves, on whatever
# channels their contacts have; no climb and no repeat: nobody acknowledges a reminder. roster resolves it at the
# shift's start (or when the shift is cancelled), and that resolve tells nobody (``tells_resolution``).
DEFAULT_HANDOFF_LADDER: Final = Policy(
    id=f"builtin:{HANDOFF_DUE_KIND}",
    name="交接班提醒（只提醒本人，不升级）",
    steps=(Step(0, ("person:{people}",), ("inbox", "email", "webhook"), "交接班提醒", tells_resolution=False),),
)

BUILTIN_POLICIES: Final[Mapping[str, Policy]] = {
    INSPECTION_OVERDUE_KIND: DEFAULT_211_LADDER,
    ROUND_NOT_STARTED_KIND: DEFAULT_ROUND_NOT_STARTED_LADDER,
    CHECKPOINT_MISSED_KIND: DEFAULT_CHECKPOINT_MISSED_LADDER,
    SCAN_FLAGGED_KIND: DEFAULT_SCAN_FLAGGED_LADDER,
    NO_SHOW_KIND: DEFAULT_NO_SHOW_LADDER,
    NOT_PLANNED_KIND: DEFAULT_NOT_PLANNED_LADDER,
    HANDOFF_DUE_KIND: DEFAULT_HANDOFF_LADDER,
}

# A built-in target scoped by the alert's township, and who stands in for it when the alert lies in none (a scan
# flag names no place; a duty or route may have none; a department serves the whole city): the city-wide office or
# organisers' group, so that a built-in ladder always reaches someone rather than leading nowhere.
UNSCOPED_STAND_INS: Final[Mapping[str, str]] = {
    TOWNSHIP_SUPERVISOR: CITY_OFFICE,
    PATROL_ORGANISER: "role:patrol-organiser",
}


def builtin_for(kind: str, *, township: str | None = None) -> Policy | None:
    """The built-in ladder of ``kind``; for an alert in no township, its township-scoped targets replaced by their
    city-wide stand-ins (``UNSCOPED_STAND_INS``)."""
    policy = BUILTIN_POLICIES.get(kind)
    if policy is None or township:
        return policy
    steps = tuple(replace(step, targets=tuple(dict.fromkeys(UNSCOPED_STAND_INS.get(t, t) for t in step.targets)))
                  for step in policy.steps)
    return replace(policy, steps=steps)


def steps_of(data: Sequence[Mapping[str, Any]]) -> tuple[Step, ...]:
    return tuple(Step.from_json(s) for s in data)
