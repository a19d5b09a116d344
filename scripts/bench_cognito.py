"""Cognito rate benchmark: `replay` of generated records, its user updates counted per second.

Usage:
    bench_cognito.py --deployer BIN [--records 10000] [--users 500] [--rate 10] [--percent 80]
                     [--label NAME] [--out DIR]

On one moto server with the request recorder on, the script creates a Pinpoint application, a
user pool with USERS users and the campaign attribute, and a stack. The stack contains only the
attribution table and its `TableName` output, which is all that `replay` reads from it. It writes
an environment file whose application has `cognito_updates_per_second: RATE` and
`cognito_quota_percent: PERCENT`, generates RECORDS records with `generate_events.py` (one
truncated line in 997, an endpoint export and journey names, since moto has no Pinpoint
endpoint API), and replays them with `BIN replay`.

The recorded `AdminUpdateUserAttributes` requests are then counted per second of their
`X-Amz-Date` header, which the SDK sets when it signs and sends each request. moto's recorder
keeps no time of its own. A window with more than RATE requests breaks the per-instance limit
that the replay, like one instance of the tagging function, is held to.

Results go to OUT/cognito-LABEL.json and OUT/cognito-LABEL.md.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))
sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__

import bench_deployer  # noqa: E402  (the emulator and recording helpers live there)
from bench_deployer import ACCOUNT_ID, REGION, Emulator  # noqa: E402

ENVIRONMENT = "ratebench"
APPLICATION = "shop"
STACK = f"pinpoint-attribution-{ENVIRONMENT}-{APPLICATION}"
TABLE = f"{STACK}-attribution"
USER_PREFIX = "user-"
TABLE_TEMPLATE = f"""Resources:
  AttributionTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: {TABLE}
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: username
          AttributeType: S
      KeySchema:
        - AttributeName: username
          KeyType: HASH
Outputs:
  TableName:
    Value:
      Ref: AttributionTable
"""


def seed(emulator: Emulator, users: int) -> tuple[str, str]:
    """Creates the Pinpoint application, the user pool with its users, and the table stack."""
    session = bench_deployer.session()
    pinpoint = session.client("pinpoint", endpoint_url=emulator.url)
    cognito = session.client("cognito-idp", endpoint_url=emulator.url)
    cloudformation = session.client("cloudformation", endpoint_url=emulator.url)

    app_id = pinpoint.create_app(CreateApplicationRequest={"Name": APPLICATION})[
        "ApplicationResponse"
    ]["Id"]
    pool_id = cognito.create_user_pool(PoolName=f"{ENVIRONMENT}-users")["UserPool"]["Id"]
    cognito.add_custom_attributes(
        UserPoolId=pool_id,
        CustomAttributes=[{"Name": "campaign", "AttributeDataType": "String", "Mutable": True}],
    )
    for index in range(1, users + 1):
        cognito.admin_create_user(
            UserPoolId=pool_id, Username=f"{USER_PREFIX}{index}", MessageAction="SUPPRESS"
        )

    cloudformation.create_stack(
        StackName=STACK,
        TemplateBody=TABLE_TEMPLATE,
        Tags=[
            {"Key": "pinpoint-attribution:environment", "Value": ENVIRONMENT},
            {"Key": "pinpoint-attribution:application", "Value": APPLICATION},
        ],
    )
    return app_id, pool_id


def write_environment(path: Path, app_id: str, pool_id: str, rate: int, percent: int) -> None:
    path.write_text(
        f"""environment: {ENVIRONMENT}
region: {REGION}
account_id: "{ACCOUNT_ID}"
defaults:
  architecture: x86_64
applications:
  - name: {APPLICATION}
    pinpoint_app_id: {app_id}
    user_pool_id: {pool_id}
    lookback_days: 30
    cognito_updates_per_second: {rate}
    cognito_quota_percent: {percent}
"""
    )


def generate(app_id: str, args: argparse.Namespace, work: Path) -> dict:
    files = {
        "events": work / "events.jsonl.gz",
        "endpoints": work / "endpoints.jsonl",
        "journeys": work / "journeys.json",
    }
    subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "generate_events.py"),
            "--app-id", app_id,
            "--users", str(args.users),
            "--records", str(args.records),
            "--malformed-every", "997",
            "--user-prefix", USER_PREFIX,
            "--out", str(files["events"]),
            "--endpoints", str(files["endpoints"]),
            "--journeys", str(files["journeys"]),
        ],
        check=True,
    )
    return files


def replay(args: argparse.Namespace, emulator: Emulator, env_file: Path, files: dict) -> dict:
    env = dict(os.environ)
    env.pop("PINPOINT_ATTRIBUTION_ENV", None)
    env.update(
        {
            "AWS_ENDPOINT_URL": emulator.url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }
    )
    started = time.monotonic()
    finished = subprocess.run(
        [
            args.deployer, "replay",
            "--env", str(env_file),
            "--output", "json",
            "--endpoints", str(files["endpoints"]),
            "--journeys", str(files["journeys"]),
            str(files["events"]),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    if finished.returncode != 0:
        raise SystemExit(f"replay failed ({finished.returncode}):\n{finished.stderr}")
    summary = json.loads(finished.stdout)
    summary["wall_seconds"] = round(wall, 2)
    return summary


def updates_per_window(entries: list[dict]) -> collections.Counter:
    """Counts AdminUpdateUserAttributes requests per X-Amz-Date second."""
    windows = collections.Counter()
    for entry in entries:
        headers = {key.lower(): value for key, value in (entry.get("headers") or {}).items()}
        if headers.get("x-amz-target", "").endswith(".AdminUpdateUserAttributes"):
            windows[headers["x-amz-date"]] += 1
    return windows


def markdown(result: dict) -> str:
    counts = result["summary"]["counts"]
    windows = result["windows"]
    histogram = ", ".join(
        f"{size}: {count}" for size, count in sorted(result["windows_by_size"].items())
    )
    return "\n".join(
        [
            f"| deployer | records | Cognito updates (replay summary) | AdminUpdateUserAttributes (emulator) | one-second windows with an update | max per window | limit per instance | windows over the limit | replay wall (s) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {result['label']} | {counts['received']} | {counts['attribute_updates']} | {sum(windows.values())} | {len(windows)} | {max(windows.values(), default=0)} | {result['rate']} | {result['windows_over_limit']} | {result['summary']['wall_seconds']} |",
            "",
            f"Windows by number of updates (updates: windows): {histogram}.",
            "",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deployer", required=True)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--rate", type=int, default=10)
    parser.add_argument("--percent", type=int, default=80)
    parser.add_argument("--label", default="pinpoint-attribution")
    parser.add_argument("--out", default="bench-results")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-cognito-") as work_dir:
        work = Path(work_dir)
        emulator = Emulator(str(Path(sys.executable)), work)
        try:
            app_id, pool_id = seed(emulator, args.users)
            env_file = work / f"{ENVIRONMENT}.yaml"
            write_environment(env_file, app_id, pool_id, args.rate, args.percent)
            files = generate(app_id, args, work)
            emulator.start_recording()
            summary = replay(args, emulator, env_file, files)
            windows = updates_per_window(emulator.stop_recording())
        finally:
            emulator.stop()

    result = {
        "label": args.label,
        "rate": args.rate,
        "percent": args.percent,
        "summary": summary,
        "windows": dict(sorted(windows.items())),
        "windows_by_size": dict(collections.Counter(windows.values())),
        "windows_over_limit": sum(1 for count in windows.values() if count > args.rate),
    }
    (out / f"cognito-{args.label}.json").write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    (out / f"cognito-{args.label}.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
