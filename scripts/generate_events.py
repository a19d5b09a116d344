#!/usr/bin/env python3
"""Writes invented Pinpoint event-stream records for `pinpoint-attribution replay`.

Usage:
  generate_events.py --app-id ID --users N --records M --out FILE
                     [--endpoints FILE] [--journeys FILE] [--user-prefix PREFIX]
                     [--malformed-every K] [--seed S]

The records are JSON lines in the event stream's shape: journey email opens and clicks of
users PREFIX1..PREFIXN over the last three days (inside a lookback window of three days or more), with some
campaign opens, deliveries and app events that attribute no user, and, with
--malformed-every K, every K-th line replaced by a truncated event. A FILE ending in .gz is
gzip-compressed, as Firehose can write it. --endpoints writes the matching Pinpoint endpoint
export (one endpoint per user, `username` user attribute) and --journeys the journey names,
so that replay can run where Pinpoint's endpoint API is not available (the emulator).
The data is invented; the same --seed gives the same file for the same clock minute.
"""

import argparse
import gzip
import json
import random
import sys
import time

JOURNEYS = {
    "0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a": "Spring sale",
    "5b4a39281706f5e4d3c2b1a098f7e6d5": "Summer sale",
    "9a8b7c6d5e4f30211203f4e5d6c7b8a9": "Win-back",
}
HOUR_MS = 3_600_000


def endpoint_id(index: int) -> str:
    return f"5f0c2a7e-93b1-4d6a-8e2f-{index:012d}"


def event(app_id: str, user: int, kind: str, at_ms: int, rng: random.Random) -> dict:
    feedback = {"_email.open": "opened", "_email.click": "https://shop.example.com/"}
    attributes = {"feedback": feedback.get(kind, "received")}
    if rng.random() < 0.9:
        attributes["journey_id"] = rng.choice(list(JOURNEYS))
        attributes["journey_activity_id"] = "Qm4tRz8LpW"
    else:
        attributes["campaign_id"] = "3c5e7a9b1d2f4e6a8c0b2d4f6a8c0e1b"
        attributes["treatment_id"] = "0"
    return {
        "event_type": kind,
        "event_timestamp": at_ms - HOUR_MS,
        "arrival_timestamp": at_ms,
        "event_version": "3.1",
        "application": {"app_id": app_id, "sdk": {}},
        "client": {"client_id": endpoint_id(user)},
        "attributes": attributes,
    }


def lines(args: argparse.Namespace) -> list:
    rng = random.Random(args.seed)
    now_ms = int(time.time() // 60 * 60_000)
    kinds = ["_email.open", "_email.click", "_email.delivered", "purchase"]
    weights = [50, 30, 15, 5]
    result = []
    for number in range(1, args.records + 1):
        user = rng.randint(1, args.users)
        at_ms = now_ms - rng.randint(1, 72 * HOUR_MS)
        record = json.dumps(event(args.app_id, user, rng.choices(kinds, weights)[0], at_ms, rng))
        if args.malformed_every and number % args.malformed_every == 0:
            record = record[: len(record) // 2]
        result.append(record)
    return result


def write(path: str, text: str) -> None:
    data = text.encode()
    if path.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as file:
        file.write(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--endpoints")
    parser.add_argument("--journeys")
    parser.add_argument("--user-prefix", default="user-")
    parser.add_argument("--malformed-every", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.users < 1 or args.records < 0:
        parser.error("--users must be at least 1 and --records at least 0")

    write(args.out, "\n".join(lines(args)) + "\n")
    if args.endpoints:
        export = [
            json.dumps(
                {
                    "Id": endpoint_id(user),
                    "ApplicationId": args.app_id,
                    "ChannelType": "EMAIL",
                    "User": {"UserAttributes": {"username": [f"{args.user_prefix}{user}"]}},
                }
            )
            for user in range(1, args.users + 1)
        ]
        write(args.endpoints, "\n".join(export) + "\n")
    if args.journeys:
        write(args.journeys, json.dumps(JOURNEYS, indent=2) + "\n")
    print(f"wrote {args.records} records for {args.users} users to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
