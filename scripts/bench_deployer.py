"""Deployer benchmark: pinpoint-attribution against the AWS CLI and sceptre on one emulator.

Usage:
    bench_deployer.py --deployer BIN --artifacts DIR --bench-venv DIR [--apps 1,10,50]
                      [--tools pinpoint-attribution,aws-cli,sceptre] [--out DIR]

For each number of applications N, the script writes an environment file with N applications
(`app-001` ...), renders their templates once with `pinpoint-attribution render`, and hands the
same templates to every tool:

- pinpoint-attribution: `apply` of the environment file;
- aws-cli: one `aws cloudformation deploy --no-fail-on-empty-changeset` per stack, in a loop;
- sceptre: `sceptre launch -y` of a stack group with one stack config per application.

Each tool runs three scenarios: the first deploy, a redeploy without changes, and a redeploy
after one application's `lookback_days` changed. Before each tool the emulator is reset and
seeded again (Pinpoint applications, user pool, artifacts bucket with the zips), so every tool
starts from the same state. For each scenario the script records the wall time, the peak
memory of the largest process the tool ran, the requests that reached the emulator by action
(moto's recorder), and the change sets created.

Results go to OUT/deployer.json and, as Markdown tables, to OUT/deployer.md.
"""

import argparse
import base64
import collections
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import boto3
import yaml

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))
sys.dont_write_bytecode = True  # keep scripts/ free of __pycache__

import seed_emulator  # noqa: E402  (the seeding helpers live beside this script)

REGION = "eu-west-1"
ACCOUNT_ID = "123456789012"
ENVIRONMENT = "bench"
STACK_PREFIX = "pinpoint-attribution"
TOOLS = ("pinpoint-attribution", "aws-cli", "sceptre")
SCENARIOS = ("first deploy", "no-change redeploy", "one parameter changed")
LOOKBACK_DAYS = 7
CHANGED_LOOKBACK_DAYS = 8

# The deployer's default artifacts bucket and key layout; the peers need the zips there too.
ARTIFACTS_BUCKET = f"pinpoint-attribution-artifacts-{ACCOUNT_ID}-{REGION}"


def s3_key(artifact: dict) -> str:
    return (
        f"pinpoint-attribution/lambda/{artifact['function']}/"
        f"{artifact['architecture']}/{artifact['sha256']}.zip"
    )


# --- the emulator -------------------------------------------------------------------------


class Emulator:
    """One moto server on 127.0.0.1 with the request recorder on."""

    def __init__(self, python: str, work: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.recording = work / "moto-recording.jsonl"
        self.log = open(work / "moto.log", "w")
        env = dict(os.environ)
        env["MOTO_ENABLE_RECORDING"] = "true"
        env["MOTO_RECORDER_FILEPATH"] = str(self.recording)
        self.process = subprocess.Popen(
            [python, str(SCRIPTS / "emulator.py"), "serve", "--port", str(self.port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_until_ready(60)

    def wait_until_ready(self, limit_seconds: float) -> None:
        deadline = time.monotonic() + limit_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(
                    f"moto exited with {self.process.returncode}; see {self.log.name}"
                )
            try:
                self.api("GET", "/moto-api/data.json")
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"moto did not respond on {self.url} within {limit_seconds} s")

    def api(self, method: str, path: str) -> bytes:
        data = b"" if method == "POST" else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()

    def reset(self) -> None:
        self.api("POST", "/moto-api/reset")

    def start_recording(self) -> None:
        self.api("POST", "/moto-api/recorder/reset-recording")
        self.api("POST", "/moto-api/recorder/start-recording")

    def stop_recording(self) -> list[dict]:
        self.api("POST", "/moto-api/recorder/stop-recording")
        return parse_recording(self.api("GET", "/moto-api/recorder/download-recording"))

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse_recording(body: bytes) -> list[dict]:
    """Reads moto's recording as a stream of JSON objects.

    moto writes each entry's object and its newline separately, so concurrent requests can
    leave two objects on one line. Each object is still written whole.
    """
    text = body.decode()
    decoder = json.JSONDecoder()
    entries = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return entries
        entry, position = decoder.raw_decode(text, position)
        entries.append(entry)


HEX_ID = re.compile(r"/[0-9a-f]{32}(?=/|$)")


def action_of(entry: dict) -> str:
    """Names a recorded request `service:Operation`, or `service:METHOD path` for REST APIs."""
    headers = {key.lower(): value for key, value in (entry.get("headers") or {}).items()}
    scope = headers.get("authorization", "").split("Credential=")
    service = scope[1].split("/")[3] if len(scope) > 1 else "unsigned"

    target = headers.get("x-amz-target", "")
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}"

    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode(errors="replace")
    if isinstance(body, str) and "Action=" in body:
        fields = urllib.parse.parse_qs(body)
        if "Action" in fields:
            return f"{service}:{fields['Action'][0]}"

    path = urllib.parse.urlsplit(entry.get("url", "")).path
    query = urllib.parse.urlsplit(entry.get("url", "")).query
    if "Action=" in query:
        return f"{service}:{urllib.parse.parse_qs(query)['Action'][0]}"
    if service == "s3":
        kind = "object" if path.strip("/").count("/") >= 1 else "bucket"
        return f"s3:{entry.get('method')} {kind}"
    return f"{service}:{entry.get('method')} {HEX_ID.sub('/{id}', path)}"


# --- seeding ------------------------------------------------------------------------------


def session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    )


def seed(emulator: Emulator, count: int, artifacts: Path) -> tuple[list[str], str]:
    """Creates the Pinpoint applications, the user pool and the uploaded zips.

    moto's generator is seeded per resource name, so the ids are the same after every reset.
    """
    pinpoint = session().client("pinpoint", endpoint_url=emulator.url)
    cognito = session().client("cognito-idp", endpoint_url=emulator.url)
    s3 = session().client("s3", endpoint_url=emulator.url)

    app_ids = []
    for index in range(1, count + 1):
        name = app_name(index)
        seed_emulator.seed_moto(emulator.url, seed_emulator.seed_for("pinpoint-app", name))
        created = pinpoint.create_app(CreateApplicationRequest={"Name": name})
        app_ids.append(created["ApplicationResponse"]["Id"])

    seed_emulator.seed_moto(emulator.url, seed_emulator.seed_for("user-pool", "bench-users"))
    pool_id = cognito.create_user_pool(PoolName="bench-users")["UserPool"]["Id"]

    s3.create_bucket(
        Bucket=ARTIFACTS_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    manifest = json.loads((artifacts / "manifest.json").read_text())
    for artifact in manifest["artifacts"]:
        s3.upload_file(str(artifacts / artifact["file"]), ARTIFACTS_BUCKET, s3_key(artifact))
    return app_ids, pool_id


def app_name(index: int) -> str:
    return f"app-{index:03d}"


def stack_name(index: int) -> str:
    return f"{STACK_PREFIX}-{ENVIRONMENT}-{app_name(index)}"


# --- inputs of every tool -----------------------------------------------------------------


def write_environment(path: Path, app_ids: list[str], pool_id: str, changed: bool) -> None:
    applications = []
    for index, app_id in enumerate(app_ids, start=1):
        lookback = CHANGED_LOOKBACK_DAYS if changed and index == 1 else LOOKBACK_DAYS
        applications.append(
            {
                "name": app_name(index),
                "pinpoint_app_id": app_id,
                "user_pool_id": pool_id,
                "lookback_days": lookback,
            }
        )
    environment = {
        "environment": ENVIRONMENT,
        "region": REGION,
        "account_id": ACCOUNT_ID,
        "stack_prefix": STACK_PREFIX,
        "tags": {"project": "pinpoint-attribution-bench"},
        "defaults": {"architecture": "x86_64"},
        "applications": applications,
    }
    environment.update(cognito_settings(len(app_ids)))
    path.write_text(yaml.safe_dump(environment, sort_keys=False))


def cognito_settings(count: int) -> dict:
    """Returns the Cognito quota settings that let `count` applications share one account.

    Up to 5 applications fit the defaults (20 % each of 25 updates per second). More split
    the quota evenly. Each application needs 2 updates per second (one instance of each
    function at 1 per second). From 13 applications on, the file therefore also states a
    raised account quota (`cognito_quota`), as an account running that many would need.
    """
    if count <= 5:
        return {}
    percent = 100 // count
    quota = max(25, -(-200 // percent))
    settings = {"defaults": {"architecture": "x86_64", "cognito_quota_percent": percent}}
    if quota > 25:
        settings["cognito_quota"] = quota
    return settings


def render(deployer: str, env_file: Path, artifacts: Path, out: Path) -> None:
    """Renders every application's template from the environment file that apply reads."""
    subprocess.run(
        [deployer, "--env", str(env_file), "render", "--out", str(out), "--artifacts", str(artifacts)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def stack_settings(templates: Path, index: int) -> dict:
    """Reads the stack settings that `render` writes in the CloudFormation API's shape."""
    settings = json.loads((templates / f"{stack_name(index)}.json").read_text())
    return {
        "parameters": {p["ParameterKey"]: p["ParameterValue"] for p in settings["Parameters"]},
        "tags": {tag["Key"]: tag["Value"] for tag in settings["Tags"]},
        "capabilities": settings["Capabilities"],
    }


def write_sceptre_project(project: Path, templates: Path, count: int) -> None:
    """Writes a sceptre project with one stack config per application.

    sceptre names each stack `<project_code>-<group>-<config name>`, which is the deployer's
    `<stack_prefix>-<environment>-<application>`.
    """
    (project / "config" / ENVIRONMENT).mkdir(parents=True, exist_ok=True)
    (project / "templates").mkdir(parents=True, exist_ok=True)
    (project / "config" / "config.yaml").write_text(
        yaml.safe_dump({"project_code": STACK_PREFIX, "region": REGION})
    )
    for index in range(1, count + 1):
        template_file = f"{app_name(index)}.yaml"
        shutil.copyfile(
            templates / f"{stack_name(index)}.template.yaml", project / "templates" / template_file
        )
        settings = stack_settings(templates, index)
        config = {
            "template": {"type": "file", "path": template_file},
            "stack_tags": settings["tags"],
        }
        if settings.get("parameters"):
            config["parameters"] = settings["parameters"]
        (project / "config" / ENVIRONMENT / f"{app_name(index)}.yaml").write_text(
            yaml.safe_dump(config)
        )


# --- one scenario -------------------------------------------------------------------------


def tool_env(emulator: Emulator, bench_venv: Path) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "AWS_ENDPOINT_URL": emulator.url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_PAGER": "",
            "PATH": f"{bench_venv / 'bin'}:{os.environ['PATH']}",
        }
    )
    return env


def commands_for(tool: str, count: int, inputs: dict) -> list[list[str]]:
    if tool == "pinpoint-attribution":
        return [
            [
                inputs["deployer"],
                "--env",
                str(inputs["env_file"]),
                "--output",
                "json",
                "apply",
                "--artifacts",
                str(inputs["artifacts"]),
            ]
        ]
    if tool == "aws-cli":
        commands = []
        for index in range(1, count + 1):
            settings = stack_settings(inputs["templates"], index)
            command = [
                "aws",
                "cloudformation",
                "deploy",
                "--stack-name",
                stack_name(index),
                "--template-file",
                str(inputs["templates"] / f"{stack_name(index)}.template.yaml"),
                "--capabilities",
                *settings["capabilities"],
                "--no-fail-on-empty-changeset",
                "--tags",
                *[f"{key}={value}" for key, value in settings["tags"].items()],
            ]
            if settings.get("parameters"):
                command += ["--parameter-overrides"] + [
                    f"{key}={value}" for key, value in settings["parameters"].items()
                ]
            commands.append(command)
        return commands
    if tool == "sceptre":
        return [["sceptre", "--dir", str(inputs["sceptre_project"]), "launch", "-y", ENVIRONMENT]]
    raise ValueError(tool)


def run_measured(commands: list[list[str]], env: dict, log: Path) -> dict:
    """Runs the commands one after another in a child process that measures them.

    The child reports its own wall time and the peak resident memory of the largest process
    it waited for (getrusage of its children), so earlier scenarios do not leak into it.
    """
    child = subprocess.run(
        [sys.executable, __file__, "_measure", json.dumps(commands), str(log)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        raise SystemExit(f"measuring {commands[0][:3]} failed:\n{child.stderr}")
    return json.loads(child.stdout)


def measure_main(commands_json: str, log_path: str) -> int:
    commands = json.loads(commands_json)
    failures = 0
    with open(log_path, "a") as log:
        started = time.perf_counter()
        for command in commands:
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            result = subprocess.run(command, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
            failures += result.returncode != 0
        wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"wall_seconds": wall, "peak_rss_mib": peak_kib / 1024, "failed_commands": failures}))
    return 0


def run_scenario(emulator: Emulator, tool: str, count: int, inputs: dict, env: dict, log: Path) -> dict:
    emulator.start_recording()
    measured = run_measured(commands_for(tool, count, inputs), env, log)
    actions = collections.Counter(action_of(entry) for entry in emulator.stop_recording())
    measured["requests"] = sum(actions.values())
    measured["cloudformation_requests"] = sum(
        number for action, number in actions.items() if action.startswith("cloudformation:")
    )
    measured["change_sets_created"] = actions.get("cloudformation:CreateChangeSet", 0)
    measured["actions"] = dict(sorted(actions.items()))
    return measured


# --- the run ------------------------------------------------------------------------------


def bench_count(args, emulator: Emulator, count: int, work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    artifacts = Path(args.artifacts).resolve()

    emulator.reset()
    app_ids, pool_id = seed(emulator, count, artifacts)
    env_base, env_changed = work / "env.yaml", work / "env-changed.yaml"
    write_environment(env_base, app_ids, pool_id, changed=False)
    write_environment(env_changed, app_ids, pool_id, changed=True)
    templates_base, templates_changed = work / "templates", work / "templates-changed"
    render(args.deployer, env_base, artifacts, templates_base)
    render(args.deployer, env_changed, artifacts, templates_changed)

    results = {}
    for tool in args.tools:
        print(f"N={count} {tool}", file=sys.stderr, flush=True)
        if tool != args.tools[0]:
            emulator.reset()
            seed(emulator, count, artifacts)
        project = work / "sceptre"
        shutil.rmtree(project, ignore_errors=True)
        env = tool_env(emulator, Path(args.bench_venv).resolve())
        log = work / f"{tool}.log"
        log.write_text("")
        tool_results = {}
        for scenario in SCENARIOS:
            changed = scenario == "one parameter changed"
            templates = templates_changed if changed else templates_base
            write_sceptre_project(project, templates, count)
            inputs = {
                "deployer": args.deployer,
                "env_file": env_changed if changed else env_base,
                "artifacts": artifacts,
                "templates": templates,
                "sceptre_project": project,
            }
            tool_results[scenario] = run_scenario(emulator, tool, count, inputs, env, log)
            summary = tool_results[scenario]
            print(
                f"  {scenario}: {summary['wall_seconds']:.2f} s, {summary['requests']} requests, "
                f"{summary['change_sets_created']} change sets, failed commands {summary['failed_commands']}",
                file=sys.stderr,
                flush=True,
            )
        results[tool] = tool_results
    return results


def markdown(results: dict, meta: dict) -> str:
    lines = []
    for count, by_tool in results.items():
        lines.append(f"### N = {count} applications\n")
        lines.append(
            "| scenario | tool | wall (s) | vs sceptre | peak RSS (MiB) | requests | CloudFormation requests | change sets | failed commands |"
        )
        lines.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for scenario in SCENARIOS:
            reference = by_tool.get("sceptre", {}).get(scenario)
            for tool, by_scenario in by_tool.items():
                row = by_scenario[scenario]
                ratio = (
                    f"{row['wall_seconds'] / reference['wall_seconds']:.2f}×"
                    if reference and reference["wall_seconds"] > 0
                    else "n/a"
                )
                lines.append(
                    f"| {scenario} | {tool} | {row['wall_seconds']:.2f} | {ratio} | "
                    f"{row['peak_rss_mib']:.0f} | {row['requests']} | {row['cloudformation_requests']} | "
                    f"{row['change_sets_created']} | {row['failed_commands']} |"
                )
        lines.append("")
        lines.append(f"Requests by action, N = {count}:\n")
        for scenario in SCENARIOS:
            for tool, by_scenario in by_tool.items():
                actions = ", ".join(
                    f"{action} {number}" for action, number in by_scenario[scenario]["actions"].items()
                )
                lines.append(f"- {scenario}, {tool}: {actions or 'none'}")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "_measure":
        return measure_main(sys.argv[2], sys.argv[3])

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployer", required=True, help="pinpoint-attribution binary")
    parser.add_argument("--artifacts", required=True, help="directory written by `package`")
    parser.add_argument("--bench-venv", required=True, help="venv with awscli and sceptre")
    parser.add_argument("--emulator-python", default=str(SCRIPTS.parent / ".venv/bin/python"))
    parser.add_argument("--apps", default="1,10,50", help="comma-separated application counts")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated tools")
    parser.add_argument("--out", default="bench-results", help="output directory")
    args = parser.parse_args()
    args.tools = args.tools.split(",")
    unknown = set(args.tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools {sorted(unknown)}; choose from {', '.join(TOOLS)}")
    counts = [int(value) for value in args.apps.split(",")]

    out = Path(args.out).resolve()
    work = out / "deployer-work"
    work.mkdir(parents=True, exist_ok=True)
    emulator = Emulator(args.emulator_python, work)
    meta = {"apps": counts, "tools": args.tools}
    results = {}
    try:
        for count in counts:
            results[count] = bench_count(args, emulator, count, work / f"n{count}")
            # Written after every count, so a long run that is stopped keeps what it measured.
            write_results(out, results, meta)
    finally:
        emulator.stop()

    print(markdown(results, meta))
    return 0


def write_results(out: Path, results: dict, meta: dict) -> None:
    (out / "deployer.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    (out / "deployer.md").write_text(markdown(results, meta))


if __name__ == "__main__":
    sys.exit(main())
