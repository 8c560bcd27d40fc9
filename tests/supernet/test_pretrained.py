"""Importing timm and Hugging Face ViTs: the largest subnet is the source, anything else is refused in one line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from safetensors.torch import save_file
from torch import Tensor, nn

from supernas.errors import CheckpointError, SearchSpaceError, SupernasError
from supernas.search_space import InputSpec, SearchSpace, largest
from supernas.supernet import Supernet, extract
from supernas.supernet.importance import reorder_by_importance
from supernas.supernet.pretrained import (
    PretrainedViT,
    check_space,
    import_pretrained,
    load_hf,
    load_pretrained,
    load_timm,
    logit_gap,
    pretrained_space,
    require,
)

EXACT = 1e-5  # the bound on |logit difference|
TIMM_CONFIGS = [  # tiny ViTs covering the features the import must reproduce exactly
    pytest.param({"img_size": 16, "patch_size": 4, "embed_dim": 32, "depth": 2, "num_heads": 2}, 5, id="qkv-bias"),
    pytest.param(
        {"img_size": 8, "patch_size": 2, "in_chans": 1, "embed_dim": 48, "depth": 3, "num_heads": 3, "mlp_ratio": 2.0}
        | {"qkv_bias": False},
        3,
        id="no-qkv-bias-1ch",
    ),
    pytest.param(
        {"img_size": (8, 16), "patch_size": 4, "embed_dim": 64, "depth": 2, "num_heads": 4, "init_values": 0.5}
        | {"no_embed_class": True},
        7,
        id="layerscale-nonsquare-image",
    ),
    pytest.param(
        {"img_size": 8, "patch_size": 4, "embed_dim": 32, "depth": 2, "num_heads": 1, "pos_embed": "none"}
        | {"proj_bias": False},
        2,
        id="no-positions-no-biases",
    ),
]


@pytest.fixture(scope="module")
def timm() -> ModuleType:
    return require("timm")


@pytest.fixture(scope="module")
def transformers() -> ModuleType:
    return require("transformers")


def randomised(model: nn.Module, seed: int) -> nn.Module:
    """Random weights of order one, so that a wrong import shows in the logits (timm's init is near zero)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=gen)
            if param.ndim == 1 and "norm" in name and name.endswith("weight"):
                param.copy_(1 + 0.3 * noise)  # LayerNorm scales
            elif param.ndim >= 2 and "pos" not in name and "token" not in name:
                param.copy_(noise / param[0].numel() ** 0.5)  # fan-in scaled matrices and conv kernels
            else:
                param.copy_(0.3 * noise)  # biases, tokens, positions, LayerScale
    return model.eval()


def tiny_timm(timm: ModuleType, seed: int = 0, num_classes: int = 5, **settings: Any) -> nn.Module:
    base = {"img_size": 16, "patch_size": 4, "embed_dim": 32, "depth": 2, "num_heads": 2}
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=num_classes, **(base | settings))
    return randomised(model, seed)


def images(spec: InputSpec, n: int, seed: int) -> Tensor:
    return torch.randn(n, *spec.shape, generator=torch.Generator().manual_seed(seed))


def assert_exact(supernet: Supernet, source: nn.Module, x: Tensor) -> float:
    """The largest subnet and its extracted static module both compute the source's logits."""
    with torch.no_grad():
        reference = source(x)
        reference = getattr(reference, "logits", reference)
        static = extract(supernet, largest(supernet.space))(x)
    assert reference.std() > 0.1  # logits of order one: a wrong weight would show
    gap = logit_gap(supernet, source, x)
    assert gap <= EXACT
    assert float((static - reference).abs().max()) <= EXACT
    return gap


def assert_exact_imports(source: PretrainedViT, model: nn.Module, x: Tensor, seed: int) -> None:
    """Exact as imported and with the stream rotated, each before and after importance reordering."""
    calibration = [images(source.info.input_spec(), 16, seed=seed)]
    for rotate_on in (None, calibration):
        imported = import_pretrained(source, calibration=rotate_on)
        assert imported.rotated == (rotate_on is not None)
        assert_exact(imported.supernet, model, x)
        reorder_by_importance(imported.supernet, calibration)
        assert_exact(imported.supernet, model, x)


def one_line_error(call: Callable[[], object], fragment: str, kind: type[SupernasError] = CheckpointError) -> str:
    with pytest.raises(kind) as err:
        call()
    message = str(err.value)
    assert "\n" not in message and fragment in message, message
    return message


@pytest.mark.parametrize(("settings", "classes"), TIMM_CONFIGS)
def test_timm_import_is_exact_before_and_after_importance_reordering(
    timm: ModuleType, settings: dict[str, Any], classes: int
) -> None:
    model = randomised(timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=classes, **settings), 1)
    source = load_timm(model)
    info = source.info
    assert (info.depth, info.embed_dim, info.heads, info.patch_size) == (
        settings["depth"],
        settings["embed_dim"],
        settings["num_heads"],
        settings["patch_size"],
    )
    assert info.ln_eps == 1e-6 and info.num_classes == classes
    assert info.qkv_bias == settings.get("qkv_bias", True) and info.layer_scale == ("init_values" in settings)
    imported = import_pretrained(source)
    assert not imported.fresh_head and imported.supernet.space.ln_eps == 1e-6
    assert_exact_imports(source, model, images(imported.supernet.spec, 6, seed=2), seed=3)


def test_timm_model_by_name_with_a_state_dict_file(timm: ModuleType, tmp_path: Path) -> None:
    settings = {"img_size": 32, "patch_size": 16, "num_classes": 3}
    trained = randomised(timm.create_model("vit_tiny_patch16_224", pretrained=False, **settings), 4)
    weights = tmp_path / "vit.safetensors"
    save_file({k: v.contiguous() for k, v in trained.state_dict().items()}, str(weights))
    source = load_pretrained("timm:vit_tiny_patch16_224", state_dict=weights, **settings)  # type: ignore[arg-type]
    assert (source.info.depth, source.info.embed_dim, source.info.heads, source.info.head_dim) == (12, 192, 3, 64)
    imported = import_pretrained(source)
    assert_exact(imported.supernet, trained, images(imported.supernet.spec, 4, seed=5))


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"intermediate_size": 37}, id="odd-mlp"),
        pytest.param({"intermediate_size": 64, "qkv_bias": False, "layer_norm_eps": 1e-6}, id="no-qkv-bias"),
    ],
)
def test_hugging_face_import_is_exact_before_and_after_reordering(
    transformers: ModuleType, tmp_path: Path, config: dict[str, Any]
) -> None:
    vit_config = transformers.ViTConfig(
        image_size=16, patch_size=4, num_channels=3, hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
        num_labels=4, **config,
    )  # fmt: skip
    model = randomised(transformers.ViTForImageClassification(vit_config), 6)
    model.save_pretrained(tmp_path)
    source = load_pretrained(f"hf:{tmp_path}")
    assert source.info.framework == "hf" and source.info.mlp_hidden == config["intermediate_size"]
    assert source.info.ln_eps == config.get("layer_norm_eps", 1e-12)
    assert_exact_imports(source, model, images(source.info.input_spec(), 6, seed=7), seed=8)


def test_hugging_face_model_without_a_head_needs_the_task_and_gets_a_fresh_head(
    transformers: ModuleType, tmp_path: Path
) -> None:
    config = transformers.ViTConfig(
        image_size=8, patch_size=2, num_channels=1, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64,
    )  # fmt: skip
    body = randomised(transformers.ViTModel(config, add_pooling_layer=False), 9)
    body.save_pretrained(tmp_path)
    source = load_hf(tmp_path)
    assert source.info.num_classes == 0 and source.head is None
    one_line_error(lambda: import_pretrained(source), "spec is required: hf model")
    imported = import_pretrained(source, InputSpec("image", (1, 8, 8), 6))
    assert imported.fresh_head
    net = imported.supernet
    x = images(net.spec, 5, seed=10)
    with torch.no_grad():
        features = body(x).last_hidden_state[:, 0]  # after the final LayerNorm
        expected = nn.functional.linear(features, net.head.linear.weight, net.head.linear.bias)
        assert float((net(x, largest(net.space)) - expected).abs().max()) <= EXACT


def test_other_task_classes_get_a_fresh_seeded_head_on_the_exact_body(timm: ModuleType) -> None:
    model = tiny_timm(timm, seed=11)
    source = load_timm(model)
    spec = InputSpec("image", (3, 16, 16), 9)
    first = import_pretrained(source, spec, generator=torch.Generator().manual_seed(3))
    again = import_pretrained(source, spec, generator=torch.Generator().manual_seed(3))
    assert first.fresh_head
    assert torch.equal(first.supernet.head.linear.weight, again.supernet.head.linear.weight)
    new_head = nn.Linear(32, 9)
    with torch.no_grad():
        new_head.weight.copy_(first.supernet.head.linear.weight)
        new_head.bias.copy_(first.supernet.head.linear.bias)
    model.reset_classifier(9)
    model.head = new_head
    assert_exact(first.supernet, model, images(spec, 4, seed=12))


def test_the_derived_space_tops_out_at_the_source_and_a_given_space_must_too(timm: ModuleType) -> None:
    source = load_timm(tiny_timm(timm, depth=3, embed_dim=48, num_heads=3))
    space = pretrained_space(source.info)
    assert (max(space.depth), max(space.embed_dim), max(space.heads), space.head_dim) == (3, 48, 3, 16)
    assert space.depth == (2, 3) and space.embed_dim == (24, 36, 48) and space.mlp_ratio == (2.0, 3.0, 4.0)
    assert (space.patch_size, space.ln_eps, space.loops) == (4, 1e-6, (1, 2, 3))
    narrow = SearchSpace(**(space.to_dict() | {"embed_dim": (48,), "depth": (3,), "reduction_layers": ()}))
    check_space(narrow, source.info)
    assert import_pretrained(source, space=narrow).supernet.space == narrow
    for change, fragment in [
        ({"depth": (2,), "loops": (1, 2)}, "'depth': largest choice 2 differs from the pretrained model's 3"),
        (
            {"mlp_ratio": (2.0,)},
            "'mlp_ratio': MLP width of the largest choices 96 differs from the pretrained model's 192",
        ),
        ({"ln_eps": 1e-5}, "'ln_eps': largest choice 1e-05 differs from the pretrained model's 1e-06"),
    ]:
        bad = SearchSpace(**(space.to_dict() | change | {"reduction_layers": (1,)}))
        one_line_error(lambda bad=bad: import_pretrained(source, space=bad), fragment, SearchSpaceError)


def test_the_task_input_must_be_the_source_image(timm: ModuleType) -> None:
    source = load_timm(tiny_timm(timm))
    one_line_error(
        lambda: import_pretrained(source, InputSpec("image", (1, 16, 16), 5)),
        "spec image (1, 16, 16) differs from the pretrained model's image (3, 16, 16)",
    )


def features(timm: ModuleType, **settings: Any) -> Callable[[], object]:
    return lambda: load_timm(tiny_timm(timm, **settings))


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"global_pool": "avg"}, "uses pooling 'avg' (global_pool), which the supernet cannot represent; supported:"),
        ({"reg_tokens": 2}, "uses 2 register tokens"),
        ({"pre_norm": True}, "uses a pre-norm (norm_pre)"),
        ({"act_layer": "gelu_tanh"}, "uses activation GELUTanh(), which the supernet cannot represent"),
        ({"qk_norm": True}, "uses q/k normalisation (qk_norm)"),
        ({"norm_layer": "rmsnorm"}, "uses RmsNorm as norm1"),
        ({"fc_norm": True}, "a norm after pooling (fc_norm)"),
    ],
)
def test_unsupported_timm_features_are_refused_in_one_line(
    timm: ModuleType, settings: dict[str, Any], fragment: str
) -> None:
    one_line_error(features(timm, **settings), fragment)


def test_distillation_tokens_and_other_block_types_are_refused(timm: ModuleType) -> None:
    base = {"img_size": 16, "patch_size": 4, "embed_dim": 32, "depth": 1, "num_heads": 2}
    distilled = timm.create_model("deit_tiny_distilled_patch16_224", pretrained=False, **base)
    one_line_error(lambda: load_timm(distilled), "uses a distillation token, which the supernet cannot represent")
    vit = sys.modules["timm.models.vision_transformer"]
    post_norm = timm.create_model("vit_tiny_patch16_224", pretrained=False, block_fn=vit.ResPostBlock, **base)
    one_line_error(lambda: load_timm(post_norm), "uses ResPostBlock blocks")


def test_bad_sources_name_themselves_and_what_is_supported(timm: ModuleType, tmp_path: Path) -> None:
    one_line_error(
        lambda: load_pretrained("timm:vit_no_such_model"), "timm model 'vit_no_such_model' is unknown; valid:"
    )
    one_line_error(lambda: load_pretrained("timm:resnet18"), "timm model 'resnet18' (timm.models.resnet) is not a")
    one_line_error(lambda: load_timm(nn.Linear(4, 4)), "uses the model class Linear")
    one_line_error(
        lambda: load_pretrained("onnx:model.onnx"), "pretrained 'onnx:model.onnx' is not valid; valid: timm:NAME"
    )
    one_line_error(lambda: load_timm(tiny_timm(timm), img_size=8), "img_size applies to a timm model name only")
    one_line_error(lambda: load_pretrained(f"hf:{tmp_path}", img_size=8), "img_size applies to timm sources only")


def test_state_dicts_that_do_not_fit_are_refused(timm: ModuleType, tmp_path: Path) -> None:
    model = tiny_timm(timm)
    wider = tiny_timm(timm, embed_dim=48).state_dict()
    one_line_error(
        lambda: load_timm(model, state_dict=wider),
        "state_dict for timm model 'VisionTransformer': 'cls_token' has shape",
    )
    partial = {k: v for k, v in model.state_dict().items() if k != "head.bias"}
    one_line_error(lambda: load_timm(model, state_dict=partial), "lacks 'head.bias'")
    saved = tmp_path / "wider.pt"
    torch.save(wider, saved)
    one_line_error(lambda: load_timm(model, state_dict=saved), "(1, 1, 48) but the model's is (1, 1, 32)")
    one_line_error(lambda: load_timm(model, state_dict=tmp_path / "none.pt"), "state_dict file")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"not safetensors")
    one_line_error(lambda: load_timm(model, state_dict=corrupt), "cannot be read")
    text = tmp_path / "notes.pt"
    text.write_text("a text file")
    one_line_error(lambda: load_timm(model, state_dict=text), "cannot be read (it is not the zip archive torch.save")
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(saved.read_bytes()[:-10])
    one_line_error(lambda: load_timm(model, state_dict=truncated), "(a zip archive that is truncated or damaged")
    one_line_error(lambda: load_timm(model, state_dict=tmp_path), "is a directory; valid: a .safetensors or torch.save")
    one_line_error(lambda: load_timm(model, state_dict={"cls_token": 1}), "state_dict is not a mapping of")  # type: ignore[dict-item]
    untouched = model.state_dict()["cls_token"].clone()
    load_timm(model, state_dict=tiny_timm(timm, seed=5).state_dict())
    assert torch.equal(model.state_dict()["cls_token"], untouched)  # the caller's module is not modified


def test_hugging_face_directories_without_a_vit_are_refused(transformers: ModuleType, tmp_path: Path) -> None:
    one_line_error(lambda: load_hf(tmp_path), "has no config.json; valid: a directory written by save_pretrained")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 32}))
    one_line_error(lambda: load_pretrained(f"hf:{tmp_path}"), "holds a 'bert' config; supported: ViT")
    config = transformers.ViTConfig(
        image_size=8, patch_size=4, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        num_labels=3, hidden_act="gelu_new",
    )  # fmt: skip
    approximate = tmp_path / "tanh"
    transformers.ViTForImageClassification(config).save_pretrained(approximate)
    one_line_error(lambda: load_hf(approximate), "uses activation 'gelu_new', which the supernet cannot represent")
    config.hidden_act = "gelu"
    empty = tmp_path / "no-weights"
    empty.mkdir()
    (empty / "config.json").write_text(config.to_json_string())
    one_line_error(lambda: load_hf(empty), "the weights cannot be loaded")


def test_missing_extras_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "timm", None)
    monkeypatch.setitem(sys.modules, "transformers", None)
    one_line_error(lambda: load_pretrained("timm:vit_tiny_patch16_224"), "pip install 'supernas[timm]'")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "vit"}))
    one_line_error(lambda: load_hf(tmp_path), "transformers is not installed; pretrained transformers models need")


def test_the_patch_order_is_checked_against_the_source_convolution(
    timm: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    def column_major(x: Tensor, kind: str, patch: int) -> Tensor:  # pixels of a patch column by column: wrong
        b, c, h, w = x.shape
        x = x.reshape(b, c, h // patch, patch, w // patch, patch).permute(0, 2, 4, 1, 5, 3)
        return x.reshape(b, (h // patch) * (w // patch), c * patch * patch)

    model = tiny_timm(timm)
    monkeypatch.setattr("supernas.supernet.pretrained.fn.patchify", column_major)
    one_line_error(lambda: load_timm(model), "its patch embedding differs from the supernet's patch order")
