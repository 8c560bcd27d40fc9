#!/usr/bin/env bash
# Create .venv (if missing) with PyTorch and supernas with its test and optional extras. Idempotent.
# --core: supernas and its required dependencies only (what `scripts/supernas` needs: a faster first run).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# Install the CPU wheel before the project: a plain "torch" requirement would pull a
# multi-GB CUDA build here. An already installed torch (a CUDA build, say) is kept.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  .venv/bin/python -m pip install -q "torch==2.13.0"
fi
# The extras pull torchvision; pin it (and torch) to the installed torch's release so pip never swaps torch.
TORCH=$(.venv/bin/python -c "import torch; print(torch.__version__.split('+')[0])")
MINOR=$(echo "$TORCH" | cut -d. -f2)
if [ "${1:-}" = "--core" ]; then
  .venv/bin/python -m pip install -q -e . "torch==$TORCH"
else
  .venv/bin/python -m pip install -q -e ".[dev,onnx,html,timm,hf]" "torch==$TORCH" "torchvision==0.$((MINOR + 15)).*"
fi
