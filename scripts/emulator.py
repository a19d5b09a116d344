"""Run moto's server for this project's tests and demo.

Usage: emulator.py serve --port PORT

This launcher is the one place where the project adjusts moto's deviations from the AWS API.
"""

import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server in the foreground")
    serve.add_argument("--port", type=int, default=5201)
    serve.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()

    from moto.server import main as moto_main

    moto_main(["-H", args.host, "-p", str(args.port)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
