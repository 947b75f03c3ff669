"""The background load of ``city_latency.py``: patrol phones uploading scans at a fixed offered rate, open loop.

Run as a process of its own (``python bench/city_load.py …``) so that generating the load takes no time from the
probes' event loop in the benchmark's process; it prints one JSON line with what it offered and what was accepted.

The field's shape: a team (about 10 members, Wenzhou's 17,644 members in 1,729 teams) carries one phone, which
uploads its members' scans in batches (``--batch``, by default 10: each member's scan of the last five minutes).
At N× the city there are N× as many teams, each uploading every five minutes, so the uploads per second grow with
N while a batch stays the size the field sends. Each upload is from the next team in turn, its scans one per member
at a checkpoint of the team's route, device times spread over the five minutes before the upload (a member scans
every five minutes; none repeats a checkpoint within the measured period, so no anti-fraud flag is provoked).

Open loop: uploads are launched on the schedule whatever the answers; while ``--in-flight`` are unanswered, an
upload due is counted as offered and not sent (the phones would retry later). Nothing is capped to flatter it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta

import aiohttp

from pingan_shared.auth import Role, SigningKey
from pingan_stack.testing import bearer

MEMBERS_PER_TEAM = 10


async def run(args: argparse.Namespace) -> dict[str, float]:
    interval = args.batch / args.rate  # seconds between two uploads
    uploads = int(args.duration / interval)
    routes = [r.split(",") for r in args.routes.split(";")]
    # tokens before the clock starts: signing is the phones' work, not the load generator's
    key = SigningKey.load(os.environ["PINGAN_AUTH_SIGNING_KEY_FILE"])
    teams = max(1, args.teams)
    tokens = [bearer(Role.PATROL_DEVICE, f"phone-{args.tag}-{t}", team=f"队{args.tag}-{t}", key=key)
              for t in range(min(teams, uploads))]
    spacing = timedelta(seconds=300 / args.batch)
    accepted = refused = failed = skipped = 0
    in_period = 0
    in_flight: set[asyncio.Task[None]] = set()
    started = time.monotonic()

    async def upload(http: aiohttp.ClientSession, n: int) -> None:
        nonlocal accepted, refused, failed, in_period
        team = n % teams
        route = routes[team % len(routes)]
        now = datetime.now(UTC)
        scans = [{"scan_id": f"{args.tag}-{n}-{j}", "team_id": f"队{args.tag}-{team}",
                  "member_id": f"{args.tag}-{team}-{j % MEMBERS_PER_TEAM}",
                  "checkpoint_id": route[(n + j) % len(route)],
                  "device_time": (now - (args.batch - j) * spacing).isoformat(), "method": "nfc"}
                 for j in range(args.batch)]
        try:
            async with http.post(f"{args.patrol_url}/v1/scans", json={"sent_at": now.isoformat(), "scans": scans},
                                 headers=tokens[team % len(tokens)]) as response:
                body = await response.json(content_type=None)
                if response.status == 200:
                    accepted += int(body["accepted"])
                    if time.monotonic() - started <= args.duration:
                        in_period += int(body["accepted"])
                else:
                    refused += 1
        except (aiohttp.ClientError, TimeoutError, ValueError):
            failed += 1

    connector = aiohttp.TCPConnector(limit=args.in_flight)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        launched = 0
        while (elapsed := time.monotonic() - started) < args.duration:
            due = min(uploads, int(elapsed / interval) + 1)
            while launched < due:
                if len(in_flight) < args.in_flight:
                    task = asyncio.create_task(upload(http, launched))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                else:
                    skipped += 1
                launched += 1
            await asyncio.sleep(min(interval, 0.005))
        period = time.monotonic() - started
        if in_flight:  # the answers still owed: counted as accepted, but not within the period
            await asyncio.wait(set(in_flight), timeout=60)
    return {"offered": launched * args.batch / period, "accepted_in_period": in_period / period,
            "accepted": accepted, "uploads": launched, "skipped": skipped, "refused": refused, "failed": failed,
            "period": period, "batch": args.batch, "in_flight": args.in_flight}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patrol-url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="scans per second offered")
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--teams", type=int, required=True)
    parser.add_argument("--routes", required=True, help="checkpoint ids: ',' within a route, ';' between routes")
    parser.add_argument("--tag", required=True, help="makes this level's scan, team and member ids its own")
    parser.add_argument("--in-flight", type=int, default=256)
    try:
        import uvloop  # the services' loop: the generator should not be the slowest part
        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(run(parser.parse_args()))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
