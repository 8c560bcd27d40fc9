"""Where a deit-tiny sandwich step spends its time, fp32 vs bf16 autocast: CUDA kernels per step and the top ops.

Six steps at batch 128 under ``torch.profiler`` per precision (the ``gpu.py`` train-step setting), then the
kernel launches per step and the 14 costliest ops by self CUDA time (self CPU time without a GPU).

Run: ``.venv/bin/python benchmarks/gpu_profile.py`` (on a GPU machine: benchmarks/gpu_session.sh runs it).
"""

from __future__ import annotations

import torch
from gpu import SPEC, PrecisionTrainer, synthetic_task
from torch.profiler import ProfilerActivity, profile

from supernas.search_space import preset_space
from supernas.supernet.train import TrainConfig

STEPS, BATCH = 6, 128


def main() -> None:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if cuda else [])]
    for precision in ("fp32", "bf16"):
        config = TrainConfig(epochs=1, batch_size=BATCH, eval_subnets=0)
        trainer = PrecisionTrainer(
            synthetic_task(STEPS * BATCH, 8), preset_space("deit-tiny", SPEC), config, device, loader_workers=0
        )
        trainer.precision = precision
        with profile(activities=activities) as prof:
            trainer.run_epoch(lambda *_: torch.cuda.synchronize() if cuda else None)
        events = prof.key_averages()
        kernels = sum(e.count for e in events if e.device_type.name == "CUDA")
        print(f"== {precision}: {kernels / STEPS:.0f} CUDA kernels per step")
        sort = "self_cuda_time_total" if cuda else "self_cpu_time_total"
        print(events.table(sort_by=sort, row_limit=14, max_name_column_width=60))


if __name__ == "__main__":
    main()
