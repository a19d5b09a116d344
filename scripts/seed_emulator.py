"""Create the resources that an environment file expects to exist, on the local emulator.

Usage: seed_emulator.py --env environments/local.yaml --endpoint-url URL [--users N]

The deployer applies to Pinpoint applications and Cognito user pools that already exist, so
the demo creates them first: one Pinpoint application per entry of `applications:`, each
distinct user pool, and a few users in each pool.

moto picks random ids, but the environment file names fixed ones. Before creating each
resource, this script seeds moto's random generator (`POST /moto-api/seed`) with a number
derived from the resource's name, so the resource gets the same id on every run. It then
checks the id against the file and fails, printing the id it got, when they differ (for
example after a moto upgrade changes how ids are drawn).
"""

import argparse
import hashlib
import sys
import urllib.request

import boto3
import yaml


def seed_for(kind: str, name: str) -> int:
    """Seed of moto's random generator for one resource, stable across runs and machines."""
    digest = hashlib.sha256(f"{kind}:{name}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def seed_moto(endpoint_url: str, seed: int) -> None:
    request = urllib.request.Request(
        f"{endpoint_url}/moto-api/seed?a={seed}", data=b"", method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 200:
            raise SystemExit(f"POST /moto-api/seed returned HTTP {response.status}")


def check_id(kind: str, name: str, expected: str, actual: str, env_file: str) -> bool:
    if actual == expected:
        print(f"  {kind} {name}: {actual}")
        return True
    print(
        f"error: moto created {kind} {name} with id {actual}, but {env_file} names {expected}; "
        f"put {actual} in {env_file} if this moto version draws ids differently",
        file=sys.stderr,
    )
    return False


def ensure_pinpoint_app(pinpoint, endpoint_url: str, name: str, expected_id: str) -> str:
    existing = pinpoint.get_apps()["ApplicationsResponse"].get("Item", [])
    if any(app["Id"] == expected_id for app in existing):
        return expected_id

    seed_moto(endpoint_url, seed_for("pinpoint-app", name))
    created = pinpoint.create_app(CreateApplicationRequest={"Name": name})
    return created["ApplicationResponse"]["Id"]


def ensure_user_pool(cognito, endpoint_url: str, name: str, expected_id: str) -> str:
    existing = cognito.list_user_pools(MaxResults=60)["UserPools"]
    if any(pool["Id"] == expected_id for pool in existing):
        return expected_id

    seed_moto(endpoint_url, seed_for("user-pool", name))
    created = cognito.create_user_pool(PoolName=name)
    return created["UserPool"]["Id"]


def ensure_users(cognito, pool_id: str, count: int) -> None:
    for index in range(1, count + 1):
        username = f"demo-user-{index}"
        try:
            cognito.admin_get_user(UserPoolId=pool_id, Username=username)
            continue
        except cognito.exceptions.UserNotFoundException:
            pass
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=username,
            UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}],
            MessageAction="SUPPRESS",
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", required=True, help="environment file to seed for")
    parser.add_argument("--endpoint-url", required=True, help="emulator URL")
    parser.add_argument("--users", type=int, default=3, help="users per user pool")
    args = parser.parse_args()

    with open(args.env) as file:
        environment = yaml.safe_load(file)
    region = environment["region"]
    session = boto3.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=region
    )
    pinpoint = session.client("pinpoint", endpoint_url=args.endpoint_url)
    cognito = session.client("cognito-idp", endpoint_url=args.endpoint_url)

    for application in environment["applications"]:
        for key in ("pinpoint_app_id", "user_pool_id"):
            if not isinstance(application[key], str):
                raise SystemExit(
                    f"error: {args.env}: {key} of {application['name']} is not a string; "
                    "quote it, because YAML reads ids made of digits as numbers"
                )

    all_match = True
    pools = {}
    for application in environment["applications"]:
        name = application["name"]
        expected = application["pinpoint_app_id"]
        actual = ensure_pinpoint_app(pinpoint, args.endpoint_url, name, expected)
        all_match &= check_id("Pinpoint application", name, expected, actual, args.env)
        # Pools are named in the order the file first mentions them: local-users,
        # local-users-2 and so on.
        if application["user_pool_id"] not in pools:
            suffix = f"-{len(pools) + 1}" if pools else ""
            pools[application["user_pool_id"]] = f"{environment['environment']}-users{suffix}"

    for expected, pool_name in pools.items():
        actual = ensure_user_pool(cognito, args.endpoint_url, pool_name, expected)
        all_match &= check_id("user pool", pool_name, expected, actual, args.env)
        ensure_users(cognito, actual, args.users)
        print(f"  {args.users} users in {pool_name}")

    return 0 if all_match else 1


if __name__ == "__main__":
    sys.exit(main())
