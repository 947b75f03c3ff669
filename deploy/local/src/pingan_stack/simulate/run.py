"""`pingan simulate`: set the city up, drive it on the services' clock (with the chaos, if asked), read everything
back and reconcile. Returns the exit code: 0 balanced, 1 a difference, 2 no stack to drive."""

from __future__ import annotations

import asyncio
import os
import time as wall
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from rich.console import Console

from pingan_shared.clock import Clock, ScaledClock, SystemClock
from pingan_stack.simulate import setup
from pingan_stack.simulate.api import Api, Tokens
from pingan_stack.simulate.chaos import Chaos
from pingan_stack.simulate.city import CHAOS_TARGETS, CityPlan, plan_city
from pingan_stack.simulate.drive import Anchors, Driver, Ledger
from pingan_stack.simulate.observe import Observed, observe
from pingan_stack.simulate.progress import Progress, print_reconciliation
from pingan_stack.simulate.receiver import SECRET, WebhookReceiver
from pingan_stack.simulate.reconcile import Reconciliation, reconcile
from pingan_stack.simulate.stack_state import StackState, read_state

ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Options:
    data_dir: Path
    seed: int = 1
    scale: int = 1
    chaos: bool = False
    covert_days: int = 14  # and as many of rectification: the 211 cycle (the test runs 1 + 1)
    settle_seconds: float = 60  # real seconds the read-back may take to balance after the drive
    live: bool = True


def run_tag(clock: Clock) -> str:
    """Short and unique per run on one stack: the services' clock in base 36 (ids must not clash across runs)."""
    n, digits = int(clock.now().timestamp()), "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, d = divmod(n, 36)
        out = digits[d] + out
    return "s" + out[-6:]


def anchors_for(now: datetime, plan: CityPlan, covert_days: int, *, lead: timedelta = timedelta(hours=1),
                cycle: datetime | None = None) -> Anchors:
    """The night starts ``lead`` from now (a whole ten minutes), the cycle at the next local midnight at least four
    hours away, and the drive ends a day after the cycle's tasks fall overdue (the first 通报 climbs) and two days
    after the night (its hazards' tasks overdue a day later)."""
    local = now.astimezone(ZONE)
    night = (local + lead).replace(second=0, microsecond=0)
    night += timedelta(minutes=(10 - night.minute % 10) % 10)
    if cycle is None:
        cycle = datetime.combine((local + timedelta(hours=4)).date() + timedelta(days=1), datetime.min.time(), ZONE)
    # the rotation period's two training days: the day after the night's next, so no patrol scan of the night
    # falls into a training shift's presence window (a scan there is presence: no no-show)
    training = night.date() + timedelta(days=2)
    end = max(cycle + timedelta(days=2 * covert_days + 1, hours=4),
              night + timedelta(minutes=plan.night_minutes) + timedelta(days=2, hours=6),
              datetime.combine(training + timedelta(days=1), time(12, 30), ZONE))
    return Anchors(night=night, cycle=cycle, covert_days=covert_days, end=end, training=training)


def simulate(options: Options, console: Console | None = None) -> int:
    console = console or Console(stderr=True)
    state = read_state(options.data_dir)
    if state is None:
        console.print(f"pingan simulate: 没有运行中的 pingan up (no running `pingan up` with --data-dir "
                      f"{options.data_dir}: its {options.data_dir}/stack.json is missing)")
        return 2
    if state.supervisor_pid is not None and not _alive(state.supervisor_pid):
        console.print(f"pingan simulate: {options.data_dir}/stack.json 的 pingan up 已不在运行 (the `pingan up` that "
                      "wrote it is gone)")
        return 2
    if state.clock_scale < 60:
        console.print("pingan simulate: 服务在真实时间运行，一夜需要十二小时 (the stack runs in real time: a night "
                      "would take twelve hours); start it with `pingan up --clock-scale 1440` (a day a minute) or "
                      "`make demo`")
        return 2
    return asyncio.run(_simulate(options, state, console))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _simulate(options: Options, state: StackState, console: Console) -> int:
    epoch = state.epoch()
    clock: Clock = ScaledClock(state.clock_scale, epoch=epoch) if epoch and state.clock_scale != 1 else SystemClock()
    targets = tuple(t for t in CHAOS_TARGETS if t in state.pids)
    plan = plan_city(options.seed, scale=options.scale, run=run_tag(clock), chaos=options.chaos,
                     chaos_targets=targets)
    ledger, tokens, started = Ledger(), Tokens.from_data_dir(options.data_dir, clock), wall.monotonic()
    seen: Observed | None = None
    with WebhookReceiver() as receiver:
        async with httpx.AsyncClient(timeout=30) as http:
            api = Api({k: v for k, v in state.urls.items() if v.startswith("http")}, http)
            driver: Driver | None = None
            chaos = Chaos(options.data_dir, plan.chaos, say=lambda _: None)

            def figures() -> dict[str, object]:
                return {
                    "服务时钟 services' clock": clock.now(),
                    "城市 city": f"run {plan.run}, seed {plan.seed}, ×{plan.scale}: {len(plan.teams)} 支巡逻队 teams, "
                                 f"{sum(len(t.members) for t in plan.teams)} 名队员 members, "
                                 f"{sum(len(t.checkpoints) for t in plan.teams)} 个点位 checkpoints",
                    "正在 now": driver.current if driver else "布置城市 setting the city up",
                    "进度 acts": f"{driver.done if driver else 0}",
                    "扫码 scans accepted": f"{len(ledger.scans)} / {len(plan.scans)}",
                    "隐患 hazards": len(ledger.hazards), "暗访发现 findings": len(ledger.findings),
                    "整改/销号 rectified/verified": f"{len(ledger.rectified)}/{len(ledger.verified)}",
                    "督查确认 acknowledged": len(ledger.acks),
                    "webhook 收到 received": f"{len(receiver.received.by_key)} (重发 redelivered "
                                             f"{receiver.received.redelivered})",
                    "重试 retries": api.retries,
                    "混沌 chaos": ", ".join(f"{k.target}@{k.at}s→{k.back_after}s" for k in chaos.done) or "—",
                }

            with Progress(console, figures, live=options.live) as progress:
                chaos.say = progress.say
                api.on_retry = progress.say
                progress.say(f"城市 {plan.run}: 目录、联系人、点位、路线、队员、暗访周期 (setting up)")
                await setup.load_directory(api, tokens, plan)
                await setup.contacts(api, tokens, plan, receiver.url, SECRET)
                lead = timedelta(seconds=max(3600.0, 2 * state.clock_scale))  # 2 real seconds to post the plans
                anchors = anchors_for(clock.now(), plan, options.covert_days, lead=lead)
                cycle_id = await setup.inspection_entities(api, tokens, plan, anchors.cycle.date())
                await setup.patrol_entities(api, tokens, plan)
                # the night from now: a scaled city's set-up takes compressed hours (its cycle stays as opened)
                anchors = anchors_for(clock.now(), plan, options.covert_days, lead=lead, cycle=anchors.cycle)
                await setup.plans(api, tokens, plan, anchors.night)
                await setup.roster_entities(api, tokens, plan, anchors.training)
                progress.say("轮值轮训: 求解、发布、调班 (the rotation period: solve, publish, a swap)")
                for shift in await setup.rotation_roster(api, tokens, plan):
                    ledger.shifts[shift["shift_id"]] = shift
                swapped = list(ledger.shifts.values())[1:2]  # the second day's training changes hands
                cohort = [m for team in plan.teams for m in team.members]
                for shift in swapped:
                    done = await setup.swap(api, tokens, shift, cohort)
                    if done is not None:
                        ledger.swaps[shift["shift_id"]] = done
                        shift["member_ids"] = [done[1] if m == done[0] else m for m in shift["member_ids"]]
                scale = state.clock_scale
                drive_seconds = max(1.0, (anchors.end - clock.now()).total_seconds() / scale)
                progress.say(f"夜巡 night {anchors.night:%m-%d %H:%M}, 211 周期 cycle {anchors.cycle:%m-%d}, "
                             f"结束 end {anchors.end:%m-%d %H:%M}: about {drive_seconds:.0f} s")
                driver = Driver(api, tokens, clock, plan, anchors, cycle_id, ledger, progress.say)
                jobs = [driver.run(driver.acts(), scale)] + ([chaos.run(drive_seconds)] if options.chaos else [])
                await asyncio.gather(*jobs)
                progress.say("读回并对账 (reading back and reconciling)")
                result: Reconciliation | None = None
                deadline = wall.monotonic() + options.settle_seconds
                while True:
                    seen = await observe(api, tokens, plan, cycle_id)
                    seen.webhook = receiver.received.notifications()
                    seen.redelivered = receiver.received.redelivered
                    result = reconcile(plan, ledger, seen, slack=timedelta(seconds=20 * scale))
                    if result.balanced or wall.monotonic() > deadline:
                        break
                    await asyncio.sleep(2)
    print_reconciliation(console, result)
    kills = ", ".join(f"{k.target} (back in {k.back_after} s)" for k in chaos.done)
    console.print(f"{wall.monotonic() - started:.0f} s; {api.calls} requests, {api.retries} retried; "
                  f"webhook redelivered {seen.redelivered if seen else 0}; "
                  + (f"killed: {kills}" if options.chaos else "no chaos") + "; "
                  + (f"refused acts: {ledger.problems}" if ledger.problems else "no act refused"))
    return 0 if result.balanced and not ledger.problems else 1
