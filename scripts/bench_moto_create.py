"""How long the emulator takes to create one application's stack, by API path.

Usage:
    bench_moto_create.py --deployer BIN --artifacts DIR [--stacks 5] [--rounds 3]

Creates the same rendered stacks on one moto server twice over, one stack at a time with boto3:
once with CreateStack (sceptre's path) and once with CreateChangeSet plus ExecuteChangeSet (the
path of `pinpoint-attribution apply` and `aws cloudformation deploy`). moto creates every
resource inside the request, so the time of the calls is the emulator's own work per stack. The
emulator is reset and seeded again before each round. Prints the median time per stack of each
path and their ratio.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))
sys.dont_write_bytecode = True

import bench_deployer as bench  # noqa: E402  (the emulator and seeding helpers live there)


def create_stack(cloudformation, name: str, body: str, settings: dict) -> None:
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=body,
        Capabilities=settings["capabilities"],
        Tags=[{"Key": key, "Value": value} for key, value in settings["tags"].items()],
    )
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 2000}
    )


def create_with_change_set(cloudformation, name: str, body: str, settings: dict) -> None:
    created = cloudformation.create_change_set(
        StackName=name,
        ChangeSetName="probe",
        ChangeSetType="CREATE",
        TemplateBody=body,
        Capabilities=settings["capabilities"],
        Tags=[{"Key": key, "Value": value} for key, value in settings["tags"].items()],
    )
    cloudformation.get_waiter("change_set_create_complete").wait(
        ChangeSetName=created["Id"], WaiterConfig={"Delay": 0.05, "MaxAttempts": 2000}
    )
    cloudformation.execute_change_set(ChangeSetName=created["Id"])
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 2000}
    )


def time_path(emulator, create, stacks: int, artifacts: Path, templates: Path) -> list[float]:
    emulator.reset()
    bench.seed(emulator, stacks, artifacts)
    cloudformation = bench.session().client("cloudformation", endpoint_url=emulator.url)
    seconds = []
    for index in range(1, stacks + 1):
        name = bench.stack_name(index)
        body = (templates / f"{name}.template.yaml").read_text()
        settings = bench.stack_settings(templates, index)
        started = time.perf_counter()
        create(cloudformation, name, body, settings)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployer", required=True)
    parser.add_argument("--artifacts", required=True, type=Path)
    parser.add_argument("--stacks", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        emulator = bench.Emulator(sys.executable, work)
        try:
            app_ids, pool_id = bench.seed(emulator, args.stacks, args.artifacts)
            env_file = work / "environment.yaml"
            bench.write_environment(env_file, app_ids, pool_id, changed=False)
            templates = work / "templates"
            bench.render(args.deployer, env_file, args.artifacts, templates)

            paths = {
                "CreateStack": create_stack,
                "CreateChangeSet + ExecuteChangeSet": create_with_change_set,
            }
            samples = {label: [] for label in paths}
            for _ in range(args.rounds):
                for label, create in paths.items():
                    samples[label] += time_path(
                        emulator, create, args.stacks, args.artifacts, templates
                    )
        finally:
            emulator.stop()

    medians = {label: statistics.median(values) for label, values in samples.items()}
    for label, values in samples.items():
        print(
            f"{label}: median {medians[label] * 1000:.0f} ms per stack "
            f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}, n = {len(values)})"
        )
    ratio = medians["CreateChangeSet + ExecuteChangeSet"] / medians["CreateStack"]
    print(f"change set path / CreateStack: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
