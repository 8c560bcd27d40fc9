#!/usr/bin/env bash
# Set up the environment (idempotent) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# Two worker processes share the cores (each test module stays in one worker, with its fixtures).
exec .venv/bin/python -m pytest -q -n 2 --dist loadscope "$@"
