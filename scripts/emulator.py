"""Run moto's server for this project's tests and demo.

Usage:
    emulator.py serve [--port PORT] [--host HOST] [--no-patches | --without-patch NAME ...]
    emulator.py patches

This launcher is the one place where the project adjusts moto's deviations from the AWS API.
Each patch below is named after the deviation it fixes, is written for moto 5.2.6 (pinned in
scripts/requirements.txt), and has a Rust test in tests/emulator_*.rs that fails without it.
Product code never special-cases the emulator.
"""

import argparse
import sys
from collections.abc import Callable
from datetime import datetime, timezone


def patch_change_set_outputs() -> None:
    """Rebuild a stack's outputs, exports and description after ExecuteChangeSet.

    moto computes outputs only in CreateStack and UpdateStack. A stack created through a
    change set keeps the empty output map of its REVIEW_IN_PROGRESS placeholder, so
    DescribeStacks has no Outputs and no Description, and an UPDATE change set leaves the old
    outputs in place. AWS returns the outputs of the executed template in both cases.
    """
    from moto.cloudformation.models import CloudFormationBackend

    execute_change_set = CloudFormationBackend.execute_change_set

    def execute_and_rebuild_outputs(self, change_set_name, stack_name=None):
        execute_change_set(self, change_set_name, stack_name)

        # The lookup repeats moto's own: by ARN first, then by name.
        change_set = self.describe_change_set(change_set_name)
        stack = self.stacks[change_set.stack_id]
        for export in stack.exports:
            self.exports.pop(export.name, None)

        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.output_map = stack._create_output_map()
        for export in stack.exports:
            self.exports[export.name] = export

    CloudFormationBackend.execute_change_set = execute_and_rebuild_outputs


def patch_pinpoint_creation_date() -> None:
    """Send a Pinpoint application's CreationDate as an ISO-8601 string.

    moto sends it as a JSON number of epoch seconds. The Pinpoint API model types it as a
    string, so the AWS SDK for Rust rejects CreateApp, GetApp and GetApps responses with
    "expected ValueString or ValueNull".
    """
    from moto.pinpoint.models import App

    to_json = App.to_json

    def to_json_with_string_date(self):
        document = to_json(self)
        created = datetime.fromtimestamp(document["CreationDate"], tz=timezone.utc)
        document["CreationDate"] = created.isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"
        )
        return document

    App.to_json = to_json_with_string_date


def patch_termination_protection() -> None:
    """Implement UpdateTerminationProtection.

    moto 5.2.6 responds to UpdateTerminationProtection with HTTP 500 (NotImplementedError), so a
    stack created through a change set can never get termination protection, although
    DescribeStacks reports the stack's EnableTerminationProtection flag. AWS sets the flag
    and returns the stack id. DeleteStack still ignores the flag, as moto always did.
    """
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    def update_termination_protection(self):
        stack_name = self._get_param("StackName")
        enabled = self._get_bool_param("EnableTerminationProtection")
        stack = self.cloudformation_backend.get_stack(stack_name)
        stack.enable_termination_protection = bool(enabled)
        return ActionResult({"StackId": stack.stack_id})

    CloudFormationResponse.update_termination_protection = update_termination_protection


PATCHES: dict[str, Callable[[], None]] = {
    "change-set-outputs": patch_change_set_outputs,
    "pinpoint-creation-date": patch_pinpoint_creation_date,
    "termination-protection": patch_termination_protection,
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Run moto's server with the project's patches."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server in the foreground")
    serve.add_argument("--port", type=int, default=5201)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument(
        "--no-patches",
        action="store_true",
        help="run moto unchanged, with none of the patches",
    )
    serve.add_argument(
        "--without-patch",
        action="append",
        default=[],
        choices=sorted(PATCHES),
        metavar="NAME",
        help="leave out one patch (repeatable); `patches` lists the names",
    )

    sub.add_parser("patches", help="list the patches and what each one fixes")
    args = parser.parse_args()

    if args.command == "patches":
        for name, patch in PATCHES.items():
            summary = (patch.__doc__ or "").strip().splitlines()[0]
            print(f"{name}: {summary}")
        return 0

    if not args.no_patches:
        for name, patch in PATCHES.items():
            if name not in args.without_patch:
                patch()

    from moto.server import main as moto_main

    moto_main(["-H", args.host, "-p", str(args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
