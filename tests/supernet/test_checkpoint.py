"""Checkpoints: atomic saves, validated reads with one-line refusals, the rebuilt supernet and the file hash."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from supernas.errors import CheckpointError
from supernas.search_space import InputSpec, SearchSpace, largest
from supernas.supernet import Supernet
from supernas.supernet.checkpoint import FORMAT, REQUIRED, file_sha256, load_supernet, read_checkpoint, save_checkpoint

SPEC = InputSpec("image", (1, 8, 8), 10)


@pytest.fixture
def supernet(tiny_space: SearchSpace) -> Supernet:
    return Supernet(tiny_space, SPEC, torch.Generator().manual_seed(0))


def _state(supernet: Supernet, **extra: Any) -> dict[str, Any]:
    """A minimal valid checkpoint state (no training needed)."""
    return {
        "model": supernet.state_dict(),
        "space": supernet.space.to_dict(),
        "spec": SPEC.to_dict(),
        "task": "digits",
        "class_names": [str(k) for k in range(10)],
        "train_config": {"epochs": 3},
        "epoch": 2,
        "history": [{"epoch": 1}],
        **extra,
    }


def _refusal(path: Path) -> str:
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    message = str(info.value)
    assert "\n" not in message and info.value.field is None and "weights_only=False" not in message
    return message


def test_saved_state_reads_back_with_the_format(supernet: Supernet, tmp_path: Path) -> None:
    state = _state(supernet, metrics={"accuracy": 0.5}, complete=True)
    save_checkpoint(tmp_path / "a.pt", state)
    read = read_checkpoint(tmp_path / "a.pt")
    assert read["format"] == FORMAT and set(read) == {"format", *state}
    assert set(REQUIRED) <= set(read)
    assert all(torch.equal(read["model"][k], v) for k, v in state["model"].items())
    assert {k: read[k] for k in state if k != "model"} == {k: v for k, v in state.items() if k != "model"}


def test_load_supernet_rebuilds_the_same_network(supernet: Supernet, tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "a.pt", _state(supernet, metrics={"accuracy": 0.75}, complete=True))
    loaded = load_supernet(tmp_path / "a.pt")
    assert (loaded.task, loaded.class_names, loaded.train_config) == ("digits", tuple("0123456789"), {"epochs": 3})
    assert loaded.metrics == {"accuracy": 0.75} and loaded.complete and loaded.path == tmp_path / "a.pt"
    assert loaded.sha256 == hashlib.sha256((tmp_path / "a.pt").read_bytes()).hexdigest()
    assert not loaded.supernet.training and loaded.supernet.space == supernet.space
    x = torch.randn(3, *SPEC.shape, generator=torch.Generator().manual_seed(1))
    config = largest(supernet.space)
    with torch.no_grad():
        assert torch.equal(loaded.supernet(x, config), supernet.eval()(x, config))


def test_load_supernet_defaults_for_an_unfinished_run(supernet: Supernet, tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "a.pt", _state(supernet))  # no metrics, no complete flag yet
    loaded = load_supernet(tmp_path / "a.pt")
    assert loaded.metrics == {} and loaded.complete is False


def test_save_creates_parents_replaces_atomically_and_leaves_no_temporary_files(
    supernet: Supernet, tmp_path: Path
) -> None:
    path = tmp_path / "runs" / "deep" / "a.pt"
    save_checkpoint(path, _state(supernet, epoch=1))
    save_checkpoint(path, _state(supernet, epoch=2))
    assert read_checkpoint(path)["epoch"] == 2
    assert [p.name for p in path.parent.iterdir()] == ["a.pt"]
    before = path.read_bytes()
    with pytest.raises(TypeError, match="cannot pickle 'generator' object"):  # the write fails midway
        save_checkpoint(path, _state(supernet, epoch=3, broken=(k for k in range(2))))
    assert path.read_bytes() == before  # the old checkpoint is whole
    assert [p.name for p in path.parent.iterdir()] == ["a.pt"]


def test_missing_and_directory_paths_are_refused(tmp_path: Path) -> None:
    missing = tmp_path / "none.pt"
    assert _refusal(missing) == f"checkpoint {str(missing)!r} does not exist; pass the output file of `supernas train`"
    assert _refusal(tmp_path) == f"checkpoint {str(tmp_path)!r} is a directory; pass the file `supernas train` wrote"


@pytest.mark.parametrize(
    ("keep", "reason"),
    [
        (0, "the file is empty"),
        (3, "it is not the zip archive torch.save writes"),  # "PK\x03" of the 4-byte zip signature
        (10, "a zip archive that is truncated or damaged: PytorchStreamReader failed reading zip archive: not a ZIP"),
        (100, "a zip archive that is truncated or damaged: PytorchStreamReader failed reading zip archive: failed "),
        (-10, "a zip archive that is truncated or damaged: PytorchStreamReader failed reading zip archive: failed "),
        (0.5, "a zip archive that is truncated or damaged)"),  # torch reads a member past the end: an OSError
    ],
)
def test_empty_truncated_and_garbled_files_are_refused(
    supernet: Supernet, tmp_path: Path, keep: float, reason: str
) -> None:
    save_checkpoint(tmp_path / "full.pt", _state(supernet))
    data = (tmp_path / "full.pt").read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: int(keep * len(data)) if isinstance(keep, float) else keep])
    message = _refusal(cut)
    assert message.startswith(f"checkpoint {str(cut)!r} is corrupt or not a supernas checkpoint ({reason}")
    assert message.endswith(")") and "Errno" not in message and "miniz" not in message


def test_a_file_of_other_bytes_is_not_a_zip_archive(tmp_path: Path) -> None:
    path = tmp_path / "notes.pt"
    path.write_text("hello, this is text\n")
    assert _refusal(path) == (
        f"checkpoint {str(path)!r} is corrupt or not a supernas checkpoint "
        "(it is not the zip archive torch.save writes)"
    )


def test_pickled_python_objects_are_refused_without_unpickling(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "payload": math.gcd}, path)  # a callable: never allowed by weights_only
    message = _refusal(path)
    assert message == (
        f"checkpoint {str(path)!r} is corrupt or not a supernas checkpoint (it holds Python objects beyond "
        "tensors and plain data, which supernas never unpickles)"
    )


@pytest.mark.parametrize(
    ("content", "found"),
    [([1, 2], "'list'"), ({"format": "supernas-supernet/0"}, "'supernas-supernet/0'"), ({"model": {}}, "None")],
)
def test_foreign_formats_are_refused(tmp_path: Path, content: object, found: str) -> None:
    path = tmp_path / "x.pt"
    torch.save(content, path)
    assert _refusal(path) == f"checkpoint {str(path)!r} has format {found}; valid: 'supernas-supernet/1'"


def test_missing_required_fields_are_named(supernet: Supernet, tmp_path: Path) -> None:
    state = _state(supernet)
    del state["epoch"], state["history"]
    save_checkpoint(tmp_path / "x.pt", state)
    message = _refusal(tmp_path / "x.pt")
    assert message == f"checkpoint {str(tmp_path / 'x.pt')!r} lacks epoch, history; it is incomplete or corrupt"


@pytest.mark.parametrize(
    ("field", "value", "found", "valid"),
    [
        ("epoch", True, "bool", "int"),  # a bool is not an epoch count
        ("epoch", "2", "str", "int"),
        ("class_names", ("a", "b"), "tuple", "list"),
        ("complete", 1, "int", "bool"),
        ("metrics", [0.5], "list", "dict"),
        ("task", None, "NoneType", "str"),
    ],
)
def test_fields_of_the_wrong_type_are_refused(
    supernet: Supernet, tmp_path: Path, field: str, value: object, found: str, valid: str
) -> None:
    save_checkpoint(tmp_path / "x.pt", _state(supernet, **{field: value}))
    assert _refusal(tmp_path / "x.pt") == (
        f"checkpoint {str(tmp_path / 'x.pt')!r} field {field!r} is a {found}; valid: {valid}"
    )


def test_an_invalid_space_is_refused(supernet: Supernet, tmp_path: Path) -> None:
    state = _state(supernet)
    state["space"] = {**state["space"], "depth": [0]}
    save_checkpoint(tmp_path / "x.pt", state)
    with pytest.raises(CheckpointError, match=r"^checkpoint '.*x\.pt' holds an invalid space or input spec: ") as info:
        load_supernet(tmp_path / "x.pt")
    assert "depth" in str(info.value) and "\n" not in str(info.value)


def test_weights_missing_a_tensor_are_refused(supernet: Supernet, tmp_path: Path) -> None:
    state = _state(supernet)
    name = next(iter(state["model"]))
    state["model"] = {k: v for k, v in state["model"].items() if k != name}
    save_checkpoint(tmp_path / "x.pt", state)
    assert read_checkpoint(tmp_path / "x.pt")["model"].keys() == state["model"].keys()  # the file itself is fine
    with pytest.raises(CheckpointError, match=r"^checkpoint '.*x\.pt' weights do not fit its space \(") as info:
        load_supernet(tmp_path / "x.pt")
    assert "\n" not in str(info.value) and info.value.field is None
    assert f"Missing key(s) in state_dict: {name!r}".replace("'", '"') in str(info.value)  # names the tensor
    state["model"] = {**_state(supernet)["model"], name: torch.zeros(3)}  # present, of the wrong shape
    save_checkpoint(tmp_path / "y.pt", state)
    with pytest.raises(CheckpointError, match=rf"size mismatch for {name}: copying a param with shape"):
        load_supernet(tmp_path / "y.pt")


def test_non_finite_weights_are_refused_with_the_tensor_named(supernet: Supernet, tmp_path: Path) -> None:
    state = _state(supernet)
    name = sorted(state["model"])[-1]
    state["model"] = {**state["model"], name: state["model"][name].clone().fill_(float("nan"))}
    save_checkpoint(tmp_path / "x.pt", state)
    with pytest.raises(CheckpointError) as info:
        load_supernet(tmp_path / "x.pt")
    assert str(info.value) == (
        f"checkpoint {str(tmp_path / 'x.pt')!r} holds non-finite weights ({name!r}); valid: finite weights — "
        "the run diverged: retrain, e.g. with a lower `lr`"
    )


def test_file_sha256_is_the_hex_digest_of_the_bytes(tmp_path: Path) -> None:
    empty, big = tmp_path / "empty", tmp_path / "big"
    empty.write_bytes(b"")
    big.write_bytes(np.random.default_rng(2).bytes((1 << 20) + 12345))  # more than one 1 MiB read
    assert file_sha256(empty) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert file_sha256(big) == hashlib.sha256(big.read_bytes()).hexdigest()
    assert file_sha256(str(big)) == file_sha256(big)
