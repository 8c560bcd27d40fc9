"""Supernet training: settings, checkpoints and exact resume."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from supernas.data import Split, TaskData, load_task
from supernas.errors import CheckpointError, TrainingError
from supernas.search_space import InputSpec, SearchSpace, largest
from supernas.supernet.checkpoint import load_supernet, read_checkpoint, save_checkpoint
from supernas.supernet.train import TrainConfig, Trainer, opposing_component, train


def quadrant_task(n: int = 256, seed: int = 0) -> TaskData:
    """A learnable toy task: the label is the brightest quadrant of an 8×8 image."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, 8, generator=g) * 0.2
    y = torch.randint(0, 4, (n,), generator=g)
    for i, label in enumerate(y.tolist()):
        r, c = divmod(label, 2)
        x[i, 0, 4 * r : 4 * r + 4, 4 * c : 4 * c + 4] += 1.0
    spec = InputSpec("image", (1, 8, 8), 4)
    parts = [Split(x[s], y[s]) for s in (slice(0, n // 2), slice(n // 2, 3 * n // 4), slice(3 * n // 4, n))]
    return TaskData("toy", spec, ("a", "b", "c", "d"), *parts)


SMALL = TrainConfig(epochs=3, batch_size=16, random_subnets=1, eval_subnets=2, lr=5e-3)


def test_training_learns_and_reports_the_final_table(tmp_path: Path, tiny_space: SearchSpace) -> None:
    task = quadrant_task()
    result = train(task, tiny_space, TrainConfig(epochs=8, batch_size=16, eval_subnets=3, lr=5e-3), tmp_path / "a.pt")
    losses = [r.loss for r in result.history]
    assert losses[-1] < 0.8 * losses[0]
    assert result.metrics["val_largest"] > 0.5  # chance is 0.25
    names = [row["name"] for row in result.metrics["subnets"]]
    assert names == ["largest", "smallest", "random 1", "random 2", "random 3"]
    loaded = load_supernet(tmp_path / "a.pt")
    assert loaded.complete and loaded.task == "toy" and loaded.metrics == result.metrics
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


@pytest.mark.parametrize(
    "config",
    [SMALL, replace(SMALL, largest_every=3, grad_projection=True)],
    ids=["sandwich", "largest-every-3-projected"],
)
def test_resume_gives_the_same_weights_as_an_uninterrupted_run(
    tmp_path: Path, tiny_space: SearchSpace, config: TrainConfig
) -> None:
    task = quadrant_task()
    full = train(task, tiny_space, config, tmp_path / "full.pt")
    trainer = Trainer(task, tiny_space, config, torch.device("cpu"))
    trainer.run_epoch()
    save_checkpoint(tmp_path / "part.pt", trainer.state())  # as if killed during epoch 2
    resumed = train(task, tiny_space, config, tmp_path / "part.pt", resume=True)
    assert resumed.resumed_from == 1
    a, b = read_checkpoint(tmp_path / "full.pt")["model"], read_checkpoint(tmp_path / "part.pt")["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.metrics == full.metrics
    again = train(task, tiny_space, config, tmp_path / "part.pt", resume=True)  # already complete: no more training
    assert again.metrics == full.metrics


def test_same_seed_same_weights_other_seed_differs(tiny_space: SearchSpace) -> None:
    task = quadrant_task()
    runs = []
    for seed in (0, 0, 1):
        trainer = Trainer(task, tiny_space, TrainConfig(epochs=1, batch_size=16, seed=seed), torch.device("cpu"))
        trainer.run_epoch()
        runs.append(trainer.supernet.head.linear.weight.detach().clone())
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


def test_existing_out_needs_resume_and_resume_needs_the_same_settings(tmp_path: Path, tiny_space: SearchSpace) -> None:
    task = quadrant_task()
    out = tmp_path / "a.pt"
    train(task, tiny_space, SMALL, out)
    before = out.read_bytes()
    with pytest.raises(TrainingError, match="already exists; pass `resume`"):
        train(task, tiny_space, SMALL, out)
    other = TrainConfig(**{**SMALL.__dict__, "lr": 1e-3})
    with pytest.raises(TrainingError, match=r"lr: 0\.005 in the checkpoint, 0\.001 now"):
        train(task, tiny_space, other, out, resume=True)
    assert out.read_bytes() == before


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ({"epochs": 0}, "epochs 0 is out of range; valid: an integer >= 1"),
        ({"lr": -1.0}, "lr -1.0 is out of range"),
        ({"kd_weight": 2.0}, "kd_weight 2.0 is out of range; valid: a number in"),
        ({"adam_eps": 0.0}, r"adam_eps 0.0 is out of range; valid: a number > 0 and <= 1"),
        ({"grad_projection": 1}, "grad_projection 1 is not a boolean; valid: true, false"),
        ({"largest_every": 0}, "largest_every 0 is out of range; valid: an integer >= 1 and <= 1000"),
    ],
)
def test_bad_training_settings(settings: dict[str, float], needle: str) -> None:
    with pytest.raises(TrainingError, match=needle):
        TrainConfig(**settings)  # type: ignore[arg-type]
    with pytest.raises(TrainingError, match="unknown training setting 'lrr'; valid: adam_eps, batch_size"):
        TrainConfig.from_dict({"lrr": 1})


def test_opposing_component_is_the_part_along_the_reference_only_when_they_oppose() -> None:
    reference = torch.tensor([2.0, 0.0, 0.0])
    assert torch.equal(opposing_component(torch.tensor([-3.0, 1.0, 0.5]), reference), torch.tensor([-3.0, 0.0, 0.0]))
    assert torch.equal(opposing_component(torch.tensor([3.0, -1.0, 0.5]), reference), torch.zeros(3))
    assert torch.equal(opposing_component(torch.tensor([-3.0, 1.0, 0.5]), torch.zeros(3)), torch.zeros(3))


def _step_gradient(trainer: Trainer, x: torch.Tensor, y: torch.Tensor, step: int = 1) -> torch.Tensor:
    """The gradient one sandwich step (``step`` of its epoch) hands to AdamW (flat, zeros where none), without
    taking the step."""
    trainer.optimizer.step = lambda *args, **kwargs: None  # type: ignore[method-assign]
    trainer._step(x, y, None, 1.0, step)
    return trainer._flat_grad()


def test_grad_projection_removes_the_students_gradient_against_the_largest_and_nothing_else(
    tiny_space: SearchSpace,
) -> None:
    task = quadrant_task()
    config = TrainConfig(epochs=1, batch_size=16, random_subnets=2, grad_clip=1e9)  # no clipping
    cpu = torch.device("cpu")
    conflicts = []
    for start in range(0, 128, 16):  # batches where the students' gradient opposes the largest's, and where not
        x, y = task.train.x[start : start + 16], task.train.y[start : start + 16]
        plain = _step_gradient(Trainer(task, tiny_space, config, cpu), x, y)
        largest_only = _step_gradient(Trainer(task, tiny_space, replace(config, student_weight=0.0), cpu), x, y)
        projected = _step_gradient(Trainer(task, tiny_space, replace(config, grad_projection=True), cpu), x, y)
        students = plain - largest_only
        conflict = torch.dot(students, largest_only).item() < 0
        conflicts.append(conflict)
        if conflict:
            assert torch.dot(projected - largest_only, largest_only).abs() <= 1e-5 * largest_only.norm() ** 2
            assert torch.allclose(projected, plain - opposing_component(students, largest_only), atol=1e-7)
        else:
            assert torch.equal(projected, plain)
    assert any(conflicts) and not all(conflicts), conflicts


def test_adam_eps_reaches_the_optimizer(tiny_space: SearchSpace) -> None:
    trainer = Trainer(quadrant_task(), tiny_space, TrainConfig(adam_eps=1e-3), torch.device("cpu"))
    assert [group["eps"] for group in trainer.optimizer.param_groups] == [1e-3]


def test_missing_corrupt_and_foreign_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_supernet(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="corrupt or not a supernas checkpoint"):
        load_supernet(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="has format None; valid: 'supernas-supernet/1'"):
        load_supernet(tmp_path / "other.pt")


def test_checkpoint_with_weights_of_another_space_is_rejected(tmp_path: Path, tiny_space: SearchSpace) -> None:
    task = quadrant_task()
    trainer = Trainer(task, tiny_space, SMALL, torch.device("cpu"))
    state = trainer.state()
    state["space"] = {**state["space"], "embed_dim": [16, 24, 32]}
    save_checkpoint(tmp_path / "x.pt", state)
    with pytest.raises(CheckpointError, match="weights do not fit its space"):
        load_supernet(tmp_path / "x.pt")
    assert largest(tiny_space).embed_dim == 24


def image_folder(root: Path, per_class: int = 16, seed: int = 0) -> str:
    """A ``folder:`` task of 8×8 RGB PNGs whose colour gives the class (streamed, crop-flip by default)."""
    rng = np.random.default_rng(seed)
    for k, name in enumerate(("red", "green", "blue")):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 90, (8, 8, 3))
            pixels[:, :, k] += 150
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{i}.png")
    return f"folder:{root}"


def test_streamed_training_resumes_exactly_whatever_the_loader_workers(tmp_path: Path, tiny_space: SearchSpace) -> None:
    task = load_task(image_folder(tmp_path / "imgs"))
    assert task.train.streams
    config = TrainConfig(epochs=3, batch_size=8, eval_subnets=1, lr=5e-3)
    full = train(task, tiny_space, config, tmp_path / "full.pt", loader_workers=2)
    trainer = Trainer(task, tiny_space, config, torch.device("cpu"), loader_workers=0)
    assert trainer.augment_mode == "crop-flip"  # auto, for colour images
    trainer.run_epoch()
    save_checkpoint(tmp_path / "part.pt", trainer.state())  # as if killed during epoch 2
    resumed = train(task, tiny_space, config, tmp_path / "part.pt", resume=True, loader_workers=1)
    a, b = read_checkpoint(tmp_path / "full.pt"), read_checkpoint(tmp_path / "part.pt")
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert resumed.metrics == full.metrics and a["augment"] == "auto"
    assert task.train.streams  # training never read the whole split into memory


def test_resume_keeps_the_augmentation_of_the_checkpoint(tmp_path: Path, tiny_space: SearchSpace) -> None:
    task = quadrant_task()
    trainer = Trainer(task, tiny_space, SMALL, torch.device("cpu"), augment="none")
    trainer.run_epoch()
    save_checkpoint(tmp_path / "a.pt", trainer.state())
    with pytest.raises(TrainingError, match="augment: 'none' in the checkpoint, 'shift' now"):
        train(task, tiny_space, SMALL, tmp_path / "a.pt", resume=True, augment="shift")
    legacy = {k: v for k, v in trainer.state().items() if k != "augment"}  # written before the setting existed
    save_checkpoint(tmp_path / "legacy.pt", legacy)
    train(task, tiny_space, SMALL, tmp_path / "legacy.pt", resume=True)
    assert read_checkpoint(tmp_path / "legacy.pt")["augment"] == "shift"
    with pytest.raises(TrainingError, match="augment 'flip' is not valid; valid: auto, none, shift, crop-flip"):
        train(task, tiny_space, SMALL, tmp_path / "new.pt", augment="flip")
    assert not (tmp_path / "new.pt").exists()


def test_largest_every_trains_the_largest_subnet_on_steps_1_1_plus_n_of_each_epoch(tiny_space: SearchSpace) -> None:
    task = quadrant_task()  # 128 training examples: 8 steps of 16 per epoch
    trainer = Trainer(task, tiny_space, TrainConfig(epochs=2, batch_size=16, largest_every=3), torch.device("cpu"))
    step = trainer._step
    trained: list[bool] = []

    def recording(*args: object) -> float | None:
        loss = step(*args)  # type: ignore[arg-type]
        trained.append(loss is not None)
        return loss

    trainer._step = recording  # type: ignore[method-assign]
    records = [trainer.run_epoch(), trainer.run_epoch()]
    assert trained == [True, False, False, True, False, False, True, False] * 2
    assert all(math.isfinite(r.loss) for r in records)  # the mean of the largest subnet's 3 losses


def test_a_step_without_the_largest_subnet_trains_the_students_on_its_predictions(tiny_space: SearchSpace) -> None:
    task = quadrant_task()
    config = TrainConfig(epochs=1, batch_size=16, random_subnets=2, grad_clip=1e9, largest_every=2)
    cpu = torch.device("cpu")
    x, y = task.train.x[:16], task.train.y[:16]
    plain = _step_gradient(Trainer(task, tiny_space, config, cpu), x, y)
    largest_only = _step_gradient(Trainer(task, tiny_space, replace(config, student_weight=0.0), cpu), x, y)
    students = _step_gradient(Trainer(task, tiny_space, config, cpu), x, y, step=2)
    assert torch.allclose(students, plain - largest_only, atol=1e-7)
    assert students.abs().max() > 0


def test_a_step_without_the_largest_subnet_projects_against_the_epochs_last_largest_gradient(
    tiny_space: SearchSpace,
) -> None:
    task = quadrant_task()
    config = TrainConfig(epochs=1, batch_size=16, random_subnets=2, grad_clip=1e9, largest_every=4)
    cpu = torch.device("cpu")
    conflicts = []
    for start in range(16, 128, 16):  # step 1 on the first batch, then a step without the largest on another
        first, second = (
            (task.train.x[:16], task.train.y[:16]),
            (task.train.x[start : start + 16], task.train.y[start : start + 16]),
        )
        reference = _step_gradient(Trainer(task, tiny_space, replace(config, student_weight=0.0), cpu), *first)
        plain = Trainer(task, tiny_space, config, cpu)
        _step_gradient(plain, *first)
        students = _step_gradient(plain, *second, step=2)
        projecting = Trainer(task, tiny_space, replace(config, grad_projection=True), cpu)
        _step_gradient(projecting, *first)
        projected = _step_gradient(projecting, *second, step=2)
        used = torch.cat([torch.full((p.numel(),), p.grad is not None) for p in projecting.supernet.parameters()])
        reference = reference * used  # the weights the students use: the others keep no gradient
        conflict = torch.dot(students, reference).item() < 0
        conflicts.append(conflict)
        assert torch.allclose(projected, students - opposing_component(students, reference), atol=1e-7)
        if not conflict:
            assert torch.equal(projected, students)
    assert any(conflicts) and not all(conflicts), conflicts
