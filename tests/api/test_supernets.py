"""``api/supernets.py``: checked training plans, registration by sha256, finding a supernet by path or name."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from supernas.api.supernets import (
    RayTrainSettings,
    load_registered_supernet,
    prepare_training,
    register_supernet,
    resolve_supernet,
    supernet_name_hint,
    train_supernet,
)
from supernas.errors import CheckpointError, OutputError, SearchSpaceError, StorageError, TrainingError, WorkerError
from supernas.search_space import SearchSpace, default_space
from supernas.store import Store
from supernas.supernet.checkpoint import file_sha256, load_supernet, read_checkpoint
from supernas.supernet.train import PRETRAINED_START, TrainConfig
from supernas.testing import tiny_space


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 's.db'}"


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    with Store.open(url, create=True) as s:
        yield s


def variant(tiny_checkpoint: Path, out: Path, accuracy: float) -> Path:
    """A valid checkpoint with the same weights as ``tiny_checkpoint`` but other bytes (its final metrics)."""
    state = read_checkpoint(tiny_checkpoint)
    torch.save({**state, "metrics": {"accuracy": accuracy}}, out)
    return out


def test_an_existing_out_needs_resume(tmp_path: Path) -> None:
    (tmp_path / "x.pt").write_bytes(b"old")
    with pytest.raises(TrainingError, match=r"already exists; pass `resume` to continue it") as info:
        prepare_training(tmp_path / "x.pt")
    assert info.value.field == "out" and str(info.value).startswith("out ")
    assert (tmp_path / "x.pt").read_bytes() == b"old"


def test_a_missing_or_unwritable_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="does not exist") as info:
        prepare_training(tmp_path / "no" / "such" / "x.pt")
    assert info.value.field == "out"
    with pytest.raises(OutputError, match=r"^out '/proc' is not writable") as unwritable:
        prepare_training("/proc/x.pt")  # /proc takes no new files, even from root
    assert unwritable.value.field == "out"


def test_a_new_run_gets_the_task_default_space_and_given_settings(tmp_path: Path) -> None:
    plan = prepare_training(tmp_path / "new.pt", settings={"epochs": 3, "lr": 1e-3})
    assert plan.config == TrainConfig(epochs=3, lr=1e-3)  # the plain defaults below the given settings
    assert plan.task.name == "digits" and plan.space == default_space(plan.task.spec)
    assert (plan.resume, plan.done_epochs, plan.out) == (False, 0, tmp_path / "new.pt")
    assert list(tmp_path.iterdir()) == []  # a plan writes nothing
    fresh = prepare_training(tmp_path / "new.pt", resume=True)  # nothing to resume yet: a new run
    assert fresh.resume and fresh.done_epochs == 0


def test_a_space_is_taken_as_given_or_loaded_from_its_file(tmp_path: Path) -> None:
    space = tiny_space(depth=(1, 2))
    assert prepare_training(tmp_path / "a.pt", space=space).space is space
    space.save(tmp_path / "space.toml")
    assert prepare_training(tmp_path / "a.pt", space=tmp_path / "space.toml").space == space
    assert prepare_training(tmp_path / "a.pt", space=str(tmp_path / "space.toml")).space == space
    with pytest.raises(SearchSpaceError, match="patch"):
        prepare_training(tmp_path / "a.pt", space=tiny_space(patch_size=3))  # 8×8 digits do not cut into 3×3
    with pytest.raises(TrainingError, match="unknown training setting 'epoch'"):
        prepare_training(tmp_path / "a.pt", settings={"epoch": 3})


def test_resuming_keeps_the_checkpoint_settings_that_are_not_overridden(tiny_checkpoint: Path) -> None:
    state = read_checkpoint(tiny_checkpoint)
    plan = prepare_training(tiny_checkpoint, resume=True, settings={"epochs": 4})
    assert plan.config.epochs == 4 and plan.config.eval_subnets == state["train_config"]["eval_subnets"] == 2
    assert plan.done_epochs == state["epoch"] == 2 and plan.resume
    assert plan.space == SearchSpace.from_dict(state["space"]) and plan.task.name == state["task"]
    override = tiny_space(depth=(1, 2), weight_bits=(8,))
    assert prepare_training(tiny_checkpoint, resume=True, space=override).space == override


def test_registration_is_idempotent_by_sha256(tiny_checkpoint: Path, store: Store, tmp_path: Path) -> None:
    loaded = load_supernet(tiny_checkpoint)
    first = register_supernet(store, loaded, "tiny")
    assert (first.name, first.checkpoint_sha256, first.task) == ("tiny", loaded.sha256, "digits")
    assert first.checkpoint_path == str(tiny_checkpoint.resolve()) and first.train_metrics == loaded.metrics
    copy = load_supernet(shutil.copy(tiny_checkpoint, tmp_path / "copy.pt"))
    assert register_supernet(store, copy, "another-name") == first  # same bytes: the same supernet
    assert [s.name for s in store.list_supernets()] == ["tiny"]


def test_another_checkpoint_under_a_taken_name_gets_a_unique_one(
    tiny_checkpoint: Path, store: Store, tmp_path: Path
) -> None:
    register_supernet(store, load_supernet(tiny_checkpoint), "tiny")
    other = load_supernet(variant(tiny_checkpoint, tmp_path / "other.pt", 0.5))
    record = register_supernet(store, other, "tiny", {"accuracy": 0.75})
    assert record.name == f"tiny-{other.sha256[:8]}" and record.train_metrics == {"accuracy": 0.75}
    assert [s.name for s in store.list_supernets()] == ["tiny", record.name]


def test_resolve_by_path_or_registered_name(tiny_checkpoint: Path, store: Store, url: str, tmp_path: Path) -> None:
    by_path = resolve_supernet(str(tiny_checkpoint))
    assert by_path.sha256 == file_sha256(tiny_checkpoint)
    register_supernet(store, by_path, "tiny")
    by_name = resolve_supernet("tiny", url)
    assert by_name.sha256 == by_path.sha256 and by_name.path == tiny_checkpoint.resolve()
    for missing in ("missing.pt", "runs/missing"):
        with pytest.raises(CheckpointError, match="no such checkpoint file") as info:
            resolve_supernet(missing, url)
        assert info.value.field == "supernet"
    with pytest.raises(StorageError, match="unknown supernet 'ghost'; known: tiny"):
        resolve_supernet("ghost", url)
    assert supernet_name_hint(str(tiny_checkpoint)) == "tiny" and supernet_name_hint("ghost") == "ghost"


def test_a_checkpoint_changed_since_registration_is_refused(
    tiny_checkpoint: Path, store: Store, tmp_path: Path
) -> None:
    path = variant(tiny_checkpoint, tmp_path / "mine.pt", 0.5)
    register_supernet(store, load_supernet(path), "mine")
    assert load_registered_supernet(store, "mine").sha256 == file_sha256(path)
    variant(tiny_checkpoint, path, 0.6)  # rewritten in place
    with pytest.raises(CheckpointError, match=r"supernet 'mine': .*mine\.pt' changed since it was registered"):
        load_registered_supernet(store, "mine")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"trials": 0}, "trials"),
        ({"trials": 1001}, "trials"),
        ({"cpus_per_trial": 0.0}, "cpus_per_trial"),
        ({"gpus_per_trial": -1.0}, "gpus_per_trial"),
    ],
)
def test_ray_train_settings_name_the_field(fields: dict[str, float], field: str) -> None:
    with pytest.raises(WorkerError, match="is out of range") as info:
        RayTrainSettings(**fields)  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize("trials", [2.5, "2"])
def test_ray_train_settings_want_an_integer_number_of_trials(trials: object) -> None:
    with pytest.raises(WorkerError, match=r"is out of range; valid: an integer in 1\.\.1000") as info:
        RayTrainSettings(trials=trials)  # type: ignore[arg-type]
    assert info.value.field == "trials"


@pytest.fixture(scope="module")
def pretrained_task(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An npz task of 3-channel 32×32 images and the weights of a timm ViT-Tiny with its 3-class head."""
    from safetensors.torch import save_file

    from supernas.supernet.pretrained import require

    root = tmp_path_factory.mktemp("pretrained")
    rng = np.random.default_rng(0)
    np.savez(root / "images.npz", x=rng.random((45, 3, 32, 32), dtype=np.float32), y=np.arange(45) % 3)
    timm = require("timm")
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=32, in_chans=3, num_classes=3)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(root / "vit.safetensors"))
    return root / "images.npz", root / "vit.safetensors"


def test_a_pretrained_start_for_other_classes_gets_a_new_head_and_no_teacher(
    tmp_path: Path, pretrained_task: tuple[Path, Path]
) -> None:
    task, weights = pretrained_task
    with np.load(task) as data:
        np.savez(tmp_path / "four.npz", x=data["x"], y=np.arange(45) % 4)  # the source's head has 3 classes
    plan = prepare_training(
        tmp_path / "p.pt", task=f"npz:{tmp_path / 'four.npz'}", init="timm:vit_tiny_patch16_224", init_weights=weights
    )
    assert plan.start is not None and not plan.start.teacher and plan.start.source_gap is None
    assert plan.start.weights["head.linear.weight"].shape == (4, 192)


def test_a_pretrained_start_imports_teaches_and_resumes(tmp_path: Path, pretrained_task: tuple[Path, Path]) -> None:
    task, weights = pretrained_task
    plan = prepare_training(
        tmp_path / "p.pt",
        task=f"npz:{task}",
        settings={"epochs": 1, "batch_size": 16, "eval_subnets": 1},
        init="timm:vit_tiny_patch16_224",
        init_weights=weights,
    )
    assert plan.start is not None and plan.start.teacher and plan.start.source_gap < 1e-4
    positions = plan.start.weights["stem.pos_embed"]  # (1, N+1, E); timm's are random, not centred
    assert float(positions.sum(dim=-1).abs().max()) < 1e-5  # the stream was centred and rotated (Q 1 = 1)
    recipe = {name: getattr(plan.config, name) for name in PRETRAINED_START}
    assert recipe == {**PRETRAINED_START, "epochs": 1}  # a pretrained start's defaults, below the given settings
    assert (plan.space.max_depth, max(plan.space.embed_dim), plan.space.head_dim, plan.space.patch_size) == (
        12,
        192,
        64,
        16,
    )
    assert plan.space.ln_eps == 1e-6  # timm's LayerNorm epsilon, carried into the space
    result = train_supernet(plan, device="cpu", loader_workers=0)
    state = read_checkpoint(result.path)
    assert state["complete"] and state["init"]["source"] == "timm:vit_tiny_patch16_224" and state["init"]["teacher"]
    imported = {k: v for k, v in plan.start.weights.items()}
    assert all(torch.equal(state["teacher_model"][k], imported[k]) for k in imported)  # the teacher stays frozen
    assert any(not torch.equal(state["model"][k], imported[k]) for k in imported)  # the students trained
    again = prepare_training(tmp_path / "p.pt", resume=True, init="timm:vit_tiny_patch16_224")
    assert again.done_epochs == 1 and again.start is None and again.config == plan.config
    with pytest.raises(TrainingError, match="differs from the start of the run being resumed") as info:
        prepare_training(tmp_path / "p.pt", resume=True, init="hf:somewhere")
    assert info.value.field == "pretrained"


def test_init_weights_without_init_name_the_field(tmp_path: Path, pretrained_task: tuple[Path, Path]) -> None:
    _, weights = pretrained_task
    with pytest.raises(CheckpointError, match="needs `init`") as info:
        prepare_training(tmp_path / "p.pt", init_weights=weights)
    assert info.value.field == "state_dict"
