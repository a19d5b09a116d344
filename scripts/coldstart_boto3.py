"""A minimal Lambda runtime in CPython with boto3: the peer of the Rust `bootstrap` cold start.

`scripts/bench coldstart` writes this file as an executable `bootstrap` with a `#!` line naming
the venv's Python, and the testkit's Runtime API starts it as Lambda starts a custom runtime.
At start it imports boto3, creates the clients named in BOTO3_CLIENTS (comma-separated, none
when unset), then requests its first event from the Runtime API with
GET /2018-06-01/runtime/invocation/next and returns each event's handler result.
"""

import json
import os
import urllib.request

import boto3

CLIENTS = [
    boto3.client(name)
    for name in os.environ.get("BOTO3_CLIENTS", "").split(",")
    if name.strip()
]


def handler(event, context):
    return {"records": len(event.get("Records", []))}


def serve():
    base = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation"
    while True:
        with urllib.request.urlopen(f"{base}/next") as response:
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            event = json.loads(response.read())
        result = json.dumps(handler(event, None)).encode()
        request = urllib.request.Request(f"{base}/{request_id}/response", data=result)
        urllib.request.urlopen(request).close()


serve()
