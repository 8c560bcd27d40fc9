"""Bad input to ``supernas space show|validate|sample|presets``: one line naming the field, exit 2, nothing written."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cli.bad_input import HUGE, LONG, Case, Outcome, case

SPACE_FILES = [  # (file under spaces/, what the message must name)
    ("unknown-field.toml", "unknown field 'depthh'"),
    ("malformed.toml", "not valid TOML"),
    ("malformed.json", "not valid JSON"),
    ("array.json", "expected a table of fields"),
    ("string.json", "expected a table of fields"),
    ("huge-int.toml", "'depth'"),
    ("negative.toml", "'depth'"),
    ("zero.toml", "'embed_dim'"),
    ("float-depth.toml", "'depth'"),
    ("bool-depth.toml", "'depth'"),
    ("string-depth.toml", "'depth'"),
    ("empty-list.toml", "'depth'"),
    ("duplicates.toml", "'depth'"),
    ("scalar-list.toml", "'reduction_layers'"),
    ("nan.json", "'depth'"),
    ("infinity.json", "'mlp_ratio'"),
    ("deep.json", "not valid JSON"),
    ("too-many-choices.toml", "'depth'"),
    ("too-big.toml", "shared weights"),
    ("ln-eps.toml", "'ln_eps'"),
    ("patch.toml", "'patch_size'"),
    ("space.yaml", "unknown suffix '.yaml'"),
    ("nul.toml", "not valid TOML"),
    ("latin1.toml", "not UTF-8"),
    ("binary.json", "not UTF-8"),
    ("oversized.toml", "bytes; valid: at most"),
    ("directory.toml", "cannot be read"),
    ("missing.toml", "cannot be read"),
]

CASES = [
    *(
        case("space", "validate", f"spaces/{name}", names=(f"space file spaces/{name}", needle))
        for name, needle in SPACE_FILES
    ),
    *(case("space", "show", "--space", f"spaces/{name}", names="--space") for name, _ in SPACE_FILES[::3]),
    case("space", "validate", "spaces/patch-misfit.toml", "--task", "digits", names=("patch-misfit.toml", "patch")),
    case("space", "validate", "tiny.toml", "--task", "mnist", names="--task"),
    case("space", "validate", names="Missing argument"),
    case("space", "validate", "tiny.toml", "tiny.toml", names="unexpected extra argument"),
    case("space", "show", "--task", "mnist", names="--task"),
    case("space", "show", "--task", "", names="--task"),
    case("space", "show", "--task", "npz:", names="--task"),
    case("space", "show", "--task", "npz:npz/missing.npz", names="--task"),
    case("space", "show", "--task", "npz:npz/renamed.npz", names="--task"),
    case("space", "show", "--task", "folder:images/empty", names="--task"),
    case("space", "show", "--task", "folder:images/mixed-sizes", names="--task"),
    case("space", "show", "--task", "hf:hf-not-dataset", names="--task"),
    case("space", "show", "--task", "digits?image_size=8", names="image_size"),
    case("space", "show", "--task", "folder:images/one-class?image_size=0", names="image_size"),
    case("space", "show", "--task", "folder:images/one-class?colour=red", names="colour=red"),
    case("space", "show", "--space-preset", "nope", names="--space-preset"),
    case("space", "show", "--space-preset", LONG, names="--space-preset"),
    case("space", "show", "--space", "tiny.toml", "--space-preset", "tiny", names="--space-preset"),
    case("space", "show", "--space", "spaces/patch-misfit.toml", names="--space"),
    case("space", "show", "--json=yes", names="--json"),
    case("space", "show", "--bogus", names="No such option: --bogus"),
    case("space", "sample", "--n", "0", names="--n"),
    case("space", "sample", "--n", "-1", names="--n"),
    case("space", "sample", "--n", "ten", names="--n"),
    case("space", "sample", "--n", HUGE, names="--n"),
    case("space", "sample", "--n", "1000000000", names="--n"),
    case("space", "sample", "--seed", "-1", names="--seed"),
    case("space", "sample", "--seed", str(2**32), names="--seed"),
    case("space", "sample", "--seed", HUGE, names="--seed"),
    case("space", "sample", "--seed", "1.5", names="--seed"),
    case("space", "sample", "--space", "spaces/negative.toml", names="--space"),
    case("space", "sample", "--task", "npz:npz/one-class.npz", names="--task"),
    case("space", "presets", "extra", names="unexpected extra argument"),
    case("space", "presets", "--all", names="No such option: --all"),
    case("space", "nosuch", names="No such command 'nosuch'"),
]


@pytest.mark.parametrize("bad", CASES, ids=str)
def test_refused_in_one_line_with_exit_2_and_nothing_written(bad: Case, refused: Callable[[Case], Outcome]) -> None:
    refused(bad)
