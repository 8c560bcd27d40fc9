#!/bin/bash
# Prepare .whl/ (git-ignored) for a lent GPU machine whose image has torch, timm and transformers but not
# Ray, SQLAlchemy, Optuna or pymoo: Python 3.12 wheels of what supernas needs beyond that image, with Ray's
# Java jars, RLlib, Serve, LLM and dashboard front-end left out so that everything travels under 64 MiB.
# Then: the device tool's run with carry [".whl"] and command `bash benchmarks/gpu_session.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
get() {
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "$@"
}
get ray==2.60.0 sqlalchemy==2.1.9 alembic mako optuna==5.0.0 colorlog pymoo==0.6.2 moocore cffi pycparser autograd \
    cma alive_progress about-time grapheme Deprecated jsonschema jsonschema-specifications referencing rpds-py \
    tensorboardX pydantic==2.14.4 pydantic-core==2.50.5 annotated-types typing-inspection platformdirs
python3 - <<'PY'
import glob, zipfile
(src,) = glob.glob(".whl/ray-*.whl")
drop = ("ray/jars/", "ray/rllib/", "ray/serve/", "ray/llm/", "ray/dashboard/client/")
with zipfile.ZipFile(src) as zin, zipfile.ZipFile(src + ".tmp", "w", zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        if info.filename.startswith(drop):
            continue
        data = zin.read(info.filename)
        if info.filename.endswith(".dist-info/RECORD"):
            data = b"\n".join(line for line in data.split(b"\n") if not line.decode().startswith(drop))
        zout.writestr(info, data)
import os
os.replace(src + ".tmp", src)
PY
du -sh .whl
