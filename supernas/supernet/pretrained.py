"""Start from a pretrained transformer: import timm and Hugging Face ViT weights into the supernet.

Three steps, each usable on its own:

1. :func:`load_timm`, :func:`load_hf` (or :func:`load_pretrained` on ``timm:NAME`` / ``hf:DIR``)
   read a source model into a :class:`PretrainedViT`: a typed description (:class:`SourceInfo`)
   and its weights as plain tensors in the supernet's layout. Whatever the supernet cannot
   compute exactly is refused with a one-line :class:`~supernas.errors.CheckpointError` that
   names the feature and what is supported; nothing is approximated silently.
2. :func:`pretrained_space` derives a search space whose largest choices are the source's.
3. :func:`import_pretrained` builds a :class:`~supernas.supernet.Supernet` holding the weights:
   its largest float subnet computes the source model's logits (up to float rounding, well
   within 1e-5), and the per-layer LoRA adapters are fitted for recursion
   (:mod:`supernas.supernet.recursion`). Given calibration batches, it first turns the source's
   residual stream to its principal directions (:mod:`supernas.supernet.rotation`).

Then :func:`~supernas.supernet.importance.reorder_by_importance` may sort heads, hidden units and
channels so smaller subnets keep the most important ones; it leaves the largest subnet and the
recursion target unchanged.

timm and transformers are optional extras (``supernas[timm]``, ``supernas[hf]``), imported
only when a source of theirs is read.
"""

from __future__ import annotations

import copy
import importlib
import json
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import torch
from safetensors.torch import load_file
from torch import Tensor, nn

from supernas.errors import CheckpointError, SearchSpaceError
from supernas.search_space.config import largest
from supernas.search_space.space import SearchSpace
from supernas.search_space.spec import InputSpec
from supernas.supernet import functional as fn
from supernas.supernet.checkpoint import load_failure
from supernas.supernet.model import Supernet
from supernas.supernet.ops import ElasticLayerNorm, ElasticLinear
from supernas.supernet.recursion import LINEARS, BlockWeights, RecursionInit, SharedInit, init_recursion
from supernas.supernet.rotation import rotate_stream

SHARES = (0.5, 0.75, 1.0)  # smaller choices of a derived space, as shares of the source's maxima
LOOPS = (1, 2, 3)  # loop choices of a derived space (those up to its depth)
TIMM_MODULES = ("timm.models.vision_transformer", "timm.models.deit")  # where timm defines its ViTs
EXTRAS = {"timm": "timm", "transformers": "hf"}  # optional dependency -> the supernas extra installing it
SOURCES = "timm:NAME (a timm VisionTransformer) or hf:DIRECTORY (a local Hugging Face ViT)"
PATCH_CHECK_TOLERANCE = 1e-4  # conv vs. patchify + linear on a random probe image (float rounding only)

Framework = Literal["timm", "hf"]
Refuse = Callable[[str, str], CheckpointError]  # (feature, what is supported) -> the one-line error


@dataclass(frozen=True)
class SourceInfo:
    """What a pretrained ViT is: the numbers a search space and a supernet need."""

    framework: Framework  # where the source comes from
    name: str  # timm model name (or class), or the hf directory
    depth: int  # transformer layers
    embed_dim: int  # token width
    heads: int  # attention heads per layer
    head_dim: int  # width of one head
    mlp_hidden: int  # MLP hidden units per layer
    patch_size: int  # side of the square patches, pixels
    image_size: tuple[int, int]  # (H, W) the position embeddings cover
    channels: int  # input channels
    num_classes: int  # classifier outputs; 0 when the source has no classifier head
    ln_eps: float  # epsilon of every LayerNorm
    qkv_bias: bool  # False: q/k/v have no bias (imported as exact zeros)
    layer_scale: bool  # True: LayerScale was folded exactly into attention proj and fc2

    @property
    def mlp_ratio(self) -> float:
        return self.mlp_hidden / self.embed_dim

    def input_spec(self, num_classes: int | None = None) -> InputSpec:
        """The image input this source reads, with ``num_classes`` (default: the source's)."""
        return InputSpec("image", (self.channels, *self.image_size), num_classes or self.num_classes)


@dataclass(frozen=True)
class LayerWeights:
    """One source transformer layer in the supernet's layout."""

    norm1: tuple[Tensor, Tensor]  # LayerNorm before attention: weight, bias (E,)
    norm2: tuple[Tensor, Tensor]  # LayerNorm before the MLP
    linears: BlockWeights  # qkv, proj, fc1, fc2 (LayerScale folded into proj and fc2)


@dataclass(frozen=True)
class PretrainedViT:
    """A source ViT read into plain float32 tensors in the supernet's layout."""

    info: SourceInfo
    patch: tuple[Tensor, Tensor]  # (E, C·p·p) columns in patchify order (channel, row, column); (E,)
    cls_token: Tensor  # (E,)
    pos_embed: Tensor  # (N+1, E), class token first; zero where the source adds no position
    layers: tuple[LayerWeights, ...]  # one per source layer
    norm: tuple[Tensor, Tensor]  # final LayerNorm
    head: tuple[Tensor, Tensor] | None  # classifier (K, E), (K,); None without one


# ----------------------------------------------------------------------------- sources


def load_pretrained(
    source: str,
    *,
    state_dict: Mapping[str, Tensor] | str | Path | None = None,
    img_size: int | tuple[int, int] | None = None,
    patch_size: int | None = None,
    in_chans: int | None = None,
    num_classes: int | None = None,
) -> PretrainedViT:
    """Read ``timm:NAME`` (built with the given settings, weights from ``state_dict``) or ``hf:DIRECTORY``."""
    kind, _, rest = source.partition(":")
    if kind == "timm" and rest:
        return load_timm(
            rest,
            state_dict=state_dict,
            img_size=img_size,
            patch_size=patch_size,
            in_chans=in_chans,
            num_classes=num_classes,
        )
    if kind == "hf" and rest:
        given = {"state_dict": state_dict, "img_size": img_size, "patch_size": patch_size}
        given.update(in_chans=in_chans, num_classes=num_classes)
        for name, value in given.items():
            if value is not None:
                raise CheckpointError(
                    "applies to timm sources only; an hf directory holds its own config and weights", field=name
                )
        return load_hf(rest)
    raise CheckpointError(f"{source!r} is not valid; valid: {SOURCES}", field="pretrained")


def load_timm(
    model: str | nn.Module,
    *,
    state_dict: Mapping[str, Tensor] | str | Path | None = None,
    img_size: int | tuple[int, int] | None = None,
    patch_size: int | None = None,
    in_chans: int | None = None,
    num_classes: int | None = None,
) -> PretrainedViT:
    """Read a timm ``VisionTransformer``: a model name (built with ``pretrained=False`` and the given
    settings) or a module; ``state_dict`` (a mapping, or a ``.safetensors`` / ``torch.save`` file)
    replaces its weights. A given module is never modified."""
    timm = require("timm")
    given = {"img_size": img_size, "patch_size": patch_size, "in_chans": in_chans, "num_classes": num_classes}
    settings = {k: v for k, v in given.items() if v is not None}
    if isinstance(model, str):
        name, module = model, _create_timm(timm, model, settings)
    else:
        if settings:
            raise CheckpointError(
                "applies to a timm model name only; a given module is read as it is", field=next(iter(settings))
            )
        name = type(model).__name__
        module = copy.deepcopy(model) if state_dict is not None else model
    if state_dict is not None:
        _load_state(module, read_state_dict(state_dict), f"timm model {name!r}")
    return _read_timm(module, name)


def load_hf(directory: str | Path) -> PretrainedViT:
    """Read a Hugging Face ``ViTForImageClassification`` or ``ViTModel`` saved in ``directory``."""
    path = Path(directory)
    config_file = path / "config.json"
    if not config_file.is_file():
        raise CheckpointError(
            f"hf directory {str(path)!r} has no config.json; valid: a directory written by save_pretrained "
            "of a ViT model",
            field="pretrained",
        )
    try:
        raw = json.loads(config_file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"hf directory {str(path)!r}: config.json cannot be read ({exc})") from None
    model_type = raw.get("model_type") if isinstance(raw, dict) else None
    if model_type != "vit":
        raise CheckpointError(
            f"hf directory {str(path)!r} holds a {model_type!r} config; supported: ViT (model_type 'vit': "
            "ViTForImageClassification, ViTModel)",
            field="pretrained",
        )
    transformers = require("transformers")
    if int(transformers.__version__.split(".")[0]) < 5:
        raise CheckpointError(f"transformers {transformers.__version__} is too old; supported: transformers >= 5")
    try:
        config = transformers.ViTConfig.from_pretrained(path)
    except Exception as exc:  # transformers raises many kinds on a malformed config
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"hf directory {str(path)!r}: config.json is not a valid ViT config ({reason})") from None
    if config.hidden_act != "gelu":
        raise _unsupported("hf", str(path), f"activation {config.hidden_act!r}", "exact GELU (hidden_act 'gelu')")
    classify = "ViTForImageClassification" in (config.architectures or [])
    loader = transformers.ViTForImageClassification if classify else transformers.ViTModel
    extra = {} if classify else {"add_pooling_layer": False}
    try:
        model, report = loader.from_pretrained(path, output_loading_info=True, **extra)
    except Exception as exc:  # corrupt weights raise SafetensorError, OSError, RuntimeError, …
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"hf directory {str(path)!r}: the weights cannot be loaded ({reason})") from None
    missing = sorted(report["missing_keys"]) + sorted(str(k) for k in report["mismatched_keys"])
    if missing:
        raise CheckpointError(
            f"hf directory {str(path)!r}: weights lack or mismatch {missing[0]}; valid: the complete weights of "
            "its config"
        )
    return _read_hf(model, str(path))


def require(module: str) -> ModuleType:
    """Import ``timm`` or ``transformers``; a one-line :class:`CheckpointError` names the extra when missing."""
    if module not in EXTRAS:
        raise CheckpointError(f"{module!r} is not an optional dependency; valid: {', '.join(EXTRAS)}")
    _import_torchvision()
    try:
        return importlib.import_module(module)
    except ImportError:
        raise CheckpointError(
            f"{module} is not installed; pretrained {module} models need the extra: "
            f"pip install 'supernas[{EXTRAS[module]}]'"
        ) from None


TORCHVISION_SCHEMAS = {  # the torchvision operators whose fake kernels its import registers unconditionally
    "nms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}


def _import_torchvision() -> None:
    """Import torchvision (timm needs it; transformers uses it when present), even beside another torch build.

    A torchvision wheel built for another torch (PyPI's CUDA wheel beside the CPU torch) cannot load
    its C++ operators; its import then fails registering fake kernels for two of them ("operator
    torchvision::nms does not exist"). Declaring those two schemas lets its Python part import. ViTs
    use no torchvision operator; calling one then fails loudly (no kernel).
    """
    try:
        import torchvision
    except ImportError:
        return
    except RuntimeError as exc:
        if "torchvision::" not in str(exc):
            raise
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        for op, schema in TORCHVISION_SCHEMAS.items():
            if not hasattr(torch.ops.torchvision, op):
                torch.library.define(f"torchvision::{op}", schema)
        import torchvision  # noqa: F401


def _create_timm(timm: ModuleType, name: str, settings: Mapping[str, object]) -> nn.Module:
    if not timm.is_model(name):
        raise CheckpointError(
            f"timm model {name!r} is unknown; valid: a timm VisionTransformer name such as vit_tiny_patch16_224 "
            "(see timm.list_models('vit_*'))",
            field="pretrained",
        )
    where = timm.models.model_entrypoint(name).__module__
    if where not in TIMM_MODULES:
        raise CheckpointError(
            f"timm model {name!r} ({where}) is not a VisionTransformer; supported: timm VisionTransformer models "
            f"({', '.join(TIMM_MODULES)})",
            field="pretrained",
        )
    try:
        module: nn.Module = timm.create_model(name, pretrained=False, **settings)
    except (TypeError, ValueError, AssertionError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"timm model {name!r} cannot be built with {settings} ({reason})") from None
    return module


def read_state_dict(state: Mapping[str, Tensor] | str | Path) -> Mapping[str, Tensor]:
    """A state dict given as a mapping, a ``.safetensors`` file or a ``torch.save`` file (``weights_only``)."""
    if isinstance(state, (str, Path)):
        path = Path(state)
        if path.is_dir():
            raise CheckpointError(
                f"{str(path)!r} is a directory; valid: a .safetensors or torch.save file", field="state_dict"
            )
        if not path.is_file():
            raise CheckpointError(f"file {str(path)!r} does not exist", field="state_dict")
        try:
            if path.suffix == ".safetensors":
                loaded: object = load_file(path)
            else:
                with warnings.catch_warnings():  # torch warns about the pickle protocol of files it then refuses
                    warnings.simplefilter("ignore")
                    loaded = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # any failure to parse the file: corrupt bytes raise many kinds
            if path.suffix == ".safetensors":
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            else:
                reason = load_failure(path, exc)
            raise CheckpointError(f"file {str(path)!r} cannot be read ({reason})", field="state_dict") from None
    else:
        loaded = state
    if not isinstance(loaded, Mapping) or not all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in loaded.items()
    ):
        raise CheckpointError(
            "is not a mapping of parameter names to tensors; valid: a model's state_dict() "
            "(a mapping, a .safetensors file or a torch.save file)",
            field="state_dict",
        )
    return loaded


def _load_state(module: nn.Module, state: Mapping[str, Tensor], what: str) -> None:
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        key, problem = (missing[0], "lacks") if missing else (unexpected[0], "has the unknown key")
        raise CheckpointError(
            f"for {what} {problem} {key!r}; valid: the keys of that model's state_dict()",
            field="state_dict",
        )
    for key, value in expected.items():
        if state[key].shape != value.shape:
            raise CheckpointError(
                f"for {what}: {key!r} has shape {tuple(state[key].shape)} but the model's is "
                f"{tuple(value.shape)}; valid: a state dict of that model configuration",
                field="state_dict",
            )
    module.load_state_dict(state)


# ----------------------------------------------------------------------------- reading timm


def _read_timm(model: Any, name: str) -> PretrainedViT:
    vit = importlib.import_module("timm.models.vision_transformer")  # also names the layers it builds with

    def refuse(feature: str, supported: str) -> CheckpointError:
        return _unsupported("timm", name, feature, supported)

    if getattr(model, "dist_token", None) is not None:
        raise refuse("a distillation token", "a class token only (no distilled models)")
    if type(model) is not vit.VisionTransformer:
        raise refuse(f"the model class {type(model).__name__}", "timm's VisionTransformer")
    if model.cls_token is None or model.global_pool != "token":
        pool = model.global_pool or "none"
        raise refuse(f"pooling {pool!r} (global_pool)", "the class token (global_pool='token')")
    if model.reg_token is not None:
        raise refuse(f"{model.num_reg_tokens} register tokens", "no register tokens")
    if not isinstance(model.norm_pre, nn.Identity):
        raise refuse("a pre-norm (norm_pre)", "none (pre_norm=False)")
    if not isinstance(model.fc_norm, nn.Identity) or isinstance(model.norm, nn.Identity):
        raise refuse("a norm after pooling (fc_norm) or none before it", "a final LayerNorm before the head")
    if type(model.patch_embed) is not vit.PatchEmbed or not isinstance(model.patch_embed.norm, nn.Identity):
        raise refuse("a custom or normalised patch embedding", "PatchEmbed without a norm")
    conv = model.patch_embed.proj
    patch = _patch_size(conv, refuse)
    image_size = tuple(int(s) for s in model.patch_embed.img_size)
    blocks = [_read_timm_block(block, vit, refuse) for block in model.blocks]
    eps = _one_eps([e for b in blocks for e in b.ln_eps] + [_ln_eps(model.norm, "the final norm", refuse)], refuse)
    first = blocks[0]
    heads, head_dim, hidden = first.heads, first.head_dim, first.hidden
    if any((b.heads, b.head_dim, b.hidden) != (heads, head_dim, hidden) for b in blocks):
        raise refuse("layers of different widths", "the same heads, head width and MLP width in every layer")
    if not isinstance(model.head, (nn.Linear, nn.Identity)):
        raise refuse(f"the head {type(model.head).__name__}", "a Linear classifier or none")
    head = _linear(model.head) if isinstance(model.head, nn.Linear) else None
    embed_dim = int(model.embed_dim)
    info = SourceInfo(
        framework="timm",
        name=name,
        depth=len(blocks),
        embed_dim=embed_dim,
        heads=heads,
        head_dim=head_dim,
        mlp_hidden=hidden,
        patch_size=patch,
        image_size=(image_size[0], image_size[1]),
        channels=int(conv.in_channels),
        num_classes=0 if head is None else head[0].shape[0],
        ln_eps=eps,
        qkv_bias=any(b.qkv_bias for b in blocks),
        layer_scale=any(b.layer_scale for b in blocks),
    )
    num_patches = (image_size[0] // patch) * (image_size[1] // patch)
    pos = _timm_positions(model, num_patches, embed_dim)
    return PretrainedViT(
        info=info,
        patch=_patch_linear(conv, info),
        cls_token=_plain(model.cls_token).reshape(embed_dim),
        pos_embed=pos,
        layers=tuple(b.weights for b in blocks),
        norm=_norm(model.norm),
        head=head,
    )


@dataclass(frozen=True)
class _Layer:
    """One source layer read from timm or transformers, with the facts checked across layers."""

    weights: LayerWeights
    heads: int
    head_dim: int
    hidden: int
    qkv_bias: bool
    layer_scale: bool
    ln_eps: tuple[float, float]  # of its two LayerNorms


def _read_timm_block(block: Any, vit: ModuleType, refuse: Refuse) -> _Layer:
    if type(block) is not vit.Block:
        raise refuse(f"{type(block).__name__} blocks", "pre-norm Block (x + attn(norm1(x)), x + mlp(norm2(x)))")
    attn, mlp = block.attn, block.mlp
    if type(attn) is not vit.Attention:
        raise refuse(f"attention {type(attn).__name__}", "timm's Attention")
    if not (isinstance(attn.q_norm, nn.Identity) and isinstance(attn.k_norm, nn.Identity)):
        raise refuse("q/k normalisation (qk_norm)", "none")
    if not isinstance(attn.norm, nn.Identity) or getattr(attn, "gate", None) is not None:
        raise refuse("a normalised or gated attention output", "plain attention")
    if type(mlp) is not vit.Mlp or not isinstance(mlp.norm, nn.Identity) or not isinstance(mlp.fc1, nn.Linear):
        raise refuse(f"the MLP {type(mlp).__name__} (or one with a norm)", "timm's Mlp: fc1, GELU, fc2")
    if type(mlp.act) is not nn.GELU or mlp.act.approximate != "none":
        raise refuse(f"activation {mlp.act!r}", "exact GELU (nn.GELU())")
    scales = [_layer_scale(ls, vit, refuse) for ls in (block.ls1, block.ls2)]
    proj, fc2 = _scaled(_linear(attn.proj), scales[0]), _scaled(_linear(mlp.fc2), scales[1])
    eps = (_ln_eps(block.norm1, "norm1", refuse), _ln_eps(block.norm2, "norm2", refuse))
    weights = LayerWeights(
        norm1=_norm(block.norm1),
        norm2=_norm(block.norm2),
        linears=BlockWeights(qkv=_linear(attn.qkv), proj=proj, fc1=_linear(mlp.fc1), fc2=fc2),
    )
    return _Layer(
        weights,
        heads=int(attn.num_heads),
        head_dim=int(attn.head_dim),
        hidden=int(mlp.fc1.out_features),
        qkv_bias=attn.qkv.bias is not None,
        layer_scale=any(s is not None for s in scales),
        ln_eps=eps,
    )


def _layer_scale(module: Any, vit: ModuleType, refuse: Refuse) -> Tensor | None:
    if isinstance(module, nn.Identity):
        return None
    if type(module) is not vit.LayerScale:
        raise refuse(f"the residual scale {type(module).__name__}", "LayerScale (folded exactly) or none")
    return _plain(module.gamma)


def _timm_positions(model: Any, num_patches: int, embed_dim: int) -> Tensor:
    """(N+1, E) positions, zero where timm adds none (no ``pos_embed``; ``no_embed_class``)."""
    if model.pos_embed is None:
        return torch.zeros(num_patches + 1, embed_dim)
    pos = _plain(model.pos_embed).reshape(-1, embed_dim)
    if model.no_embed_class:
        pos = torch.cat([torch.zeros(1, embed_dim), pos])
    return pos


# ----------------------------------------------------------------------------- reading transformers


def _read_hf(model: Any, name: str) -> PretrainedViT:
    def refuse(feature: str, supported: str) -> CheckpointError:
        return _unsupported("hf", name, feature, supported)

    vit = getattr(model, "vit", model)
    embeddings = vit.embeddings
    conv = embeddings.patch_embeddings.projection
    patch = _patch_size(conv, refuse)
    image_size = tuple(int(s) for s in embeddings.patch_embeddings.image_size)
    layers = [_read_hf_layer(layer, refuse) for layer in vit.layers]
    eps = _one_eps([e for b in layers for e in b.ln_eps] + [_ln_eps(vit.layernorm, "the final norm", refuse)], refuse)
    classifier = getattr(model, "classifier", None)
    head = _linear(classifier) if isinstance(classifier, nn.Linear) else None
    first = layers[0]
    embed_dim = int(embeddings.cls_token.shape[-1])
    info = SourceInfo(
        framework="hf",
        name=name,
        depth=len(layers),
        embed_dim=embed_dim,
        heads=first.heads,
        head_dim=first.head_dim,
        mlp_hidden=first.hidden,
        patch_size=patch,
        image_size=(image_size[0], image_size[1]),
        channels=int(conv.in_channels),
        num_classes=0 if head is None else head[0].shape[0],
        ln_eps=eps,
        qkv_bias=first.qkv_bias,
        layer_scale=False,
    )
    return PretrainedViT(
        info=info,
        patch=_patch_linear(conv, info),
        cls_token=_plain(embeddings.cls_token).reshape(embed_dim),
        pos_embed=_plain(embeddings.position_embeddings).reshape(-1, embed_dim),
        layers=tuple(layer.weights for layer in layers),
        norm=_norm(vit.layernorm),
        head=head,
    )


def _read_hf_layer(layer: Any, refuse: Refuse) -> _Layer:
    attn, mlp = layer.attention, layer.mlp
    q, k, v = _linear(attn.q_proj), _linear(attn.k_proj), _linear(attn.v_proj)
    qkv = (torch.cat([q[0], k[0], v[0]]), torch.cat([q[1], k[1], v[1]]))
    eps = (
        _ln_eps(layer.layernorm_before, "layernorm_before", refuse),
        _ln_eps(layer.layernorm_after, "layernorm_after", refuse),
    )
    weights = LayerWeights(
        norm1=_norm(layer.layernorm_before),
        norm2=_norm(layer.layernorm_after),
        linears=BlockWeights(qkv=qkv, proj=_linear(attn.o_proj), fc1=_linear(mlp.fc1), fc2=_linear(mlp.fc2)),
    )
    return _Layer(
        weights,
        heads=int(attn.num_attention_heads),
        head_dim=int(attn.head_dim),
        hidden=int(mlp.fc1.out_features),
        qkv_bias=attn.q_proj.bias is not None,
        layer_scale=False,
        ln_eps=eps,
    )


# ----------------------------------------------------------------------------- shared reading helpers


def _unsupported(framework: Framework, name: str, feature: str, supported: str) -> CheckpointError:
    return CheckpointError(
        f"{framework} model {name!r} uses {feature}, which the supernet cannot represent; supported: {supported}",
        field="pretrained",
    )


def _plain(t: Any) -> Tensor:
    return t.detach().to("cpu", torch.float32).clone()


def _linear(module: Any) -> tuple[Tensor, Tensor]:
    """(weight, bias) of a Linear; a missing bias is an exact zero bias."""
    weight = _plain(module.weight)
    bias = torch.zeros(weight.shape[0]) if module.bias is None else _plain(module.bias)
    return weight, bias


def _scaled(linear: tuple[Tensor, Tensor], scale: Tensor | None) -> tuple[Tensor, Tensor]:
    """Fold a per-output LayerScale ``γ ⊙ (W x + b)`` into ``(γ W) x + γ b``."""
    if scale is None:
        return linear
    return linear[0] * scale[:, None], linear[1] * scale


def _norm(module: Any) -> tuple[Tensor, Tensor]:
    return _plain(module.weight), _plain(module.bias)


def _ln_eps(module: Any, where: str, refuse: Refuse) -> float:
    if not isinstance(module, nn.LayerNorm):
        raise refuse(f"{type(module).__name__} as {where}", "LayerNorm")
    if module.weight is None or module.bias is None or len(module.normalized_shape) != 1:
        raise refuse(f"a LayerNorm without weight or bias as {where}", "LayerNorm with weight and bias")
    return float(module.eps)


def _one_eps(values: list[float], refuse: Refuse) -> float:
    if len(set(values)) > 1:
        raise refuse(f"LayerNorms with different epsilons {sorted(set(values))}", "one epsilon for every LayerNorm")
    return values[0]


def _patch_size(conv: Any, refuse: Refuse) -> int:
    if not isinstance(conv, nn.Conv2d):
        raise refuse(f"a {type(conv).__name__} patch embedding", "a Conv2d patch embedding")
    kernel, stride = tuple(conv.kernel_size), tuple(conv.stride)
    if kernel != stride or conv.padding not in ((0, 0), "valid") or conv.groups != 1 or conv.dilation != (1, 1):
        raise refuse(f"a patch convolution with kernel {kernel}, stride {stride}", "non-overlapping patches")
    if kernel[0] != kernel[1]:
        raise refuse(f"non-square patches {kernel[0]}×{kernel[1]}", "square patches (one patch_size)")
    return int(kernel[0])


@torch.no_grad()
def _patch_linear(conv: Any, info: SourceInfo) -> tuple[Tensor, Tensor]:
    """The conv patch embedding as the supernet's stem linear, checked on a probe image.

    ``Conv2d`` weights (E, C, p, p) flatten to columns in (channel, row, column) order, the order
    :func:`~supernas.supernet.functional.patchify` lays out a patch; tokens follow row-major.
    """
    kernel, bias = _linear(conv)  # (E, C, p, p), (E,)
    if any(side < info.patch_size or side % info.patch_size for side in info.image_size):
        raise CheckpointError(
            f"{info.framework} model {info.name!r}: its {info.patch_size}×{info.patch_size} patches do not tile "
            f"{info.image_size[0]}×{info.image_size[1]} images; valid: image sides that are multiples of "
            f"{info.patch_size} (`image_size`)",
            field="pretrained",
        )
    weight = kernel.reshape(kernel.shape[0], -1)
    probe = torch.randn(1, info.channels, *info.image_size, generator=torch.Generator().manual_seed(0))
    conv_out = torch.nn.functional.conv2d(probe, kernel, bias, stride=info.patch_size)  # what the source's conv does
    expected = conv_out.flatten(2).transpose(1, 2)  # (1, N, E), tokens row by row
    ours = torch.nn.functional.linear(fn.patchify(probe, "image", info.patch_size), weight, bias)
    gap = float((ours - expected).abs().max())
    if not gap <= PATCH_CHECK_TOLERANCE * max(1.0, float(expected.abs().max())):
        raise CheckpointError(
            f"{info.framework} model {info.name!r}: its patch embedding differs from the supernet's patch order "
            f"by {gap:.2e}; supported: Conv2d patch embeddings flattened row by row"
        )
    return weight, bias


# ----------------------------------------------------------------------------- the space and the supernet


def pretrained_space(info: SourceInfo) -> SearchSpace:
    """A space whose largest choices are the source's, with smaller ones at half and three quarters.

    Depth, embed_dim, heads and the MLP ratio take the source's maximum and ``SHARES`` of it; head
    width, patch size and LayerNorm epsilon are the source's; loops 1-3 (up to the depth), LoRA ranks
    0, E/24 and E/12, token reductions after a third and two thirds of the depth; quantization and
    keep ratios as in the default space.
    """

    def shares(n: int) -> tuple[int, ...]:
        return tuple(sorted({max(1, round(n * s)) for s in SHARES}))

    d, e = info.depth, info.embed_dim
    return SearchSpace(
        depth=shares(d),
        embed_dim=shares(e),
        heads=shares(info.heads),
        head_dim=info.head_dim,
        mlp_ratio=tuple(sorted({info.mlp_ratio * s for s in SHARES})),
        loops=tuple(n for n in LOOPS if n <= d),
        lora_rank=tuple(sorted({0, max(1, e // 24), max(1, e // 12)})),
        reduction_layers=tuple(sorted({p for p in (round(d / 3), round(2 * d / 3)) if 1 <= p < d})),
        patch_size=info.patch_size,
        ln_eps=info.ln_eps,
    )


def check_space(space: SearchSpace, info: SourceInfo) -> None:
    """Raise unless the largest choices of ``space`` are exactly the source's (so its largest subnet is the source)."""
    hidden = round(max(space.mlp_ratio) * max(space.embed_dim))
    pairs: tuple[tuple[str, object, object], ...] = (
        ("depth", max(space.depth), info.depth),
        ("embed_dim", max(space.embed_dim), info.embed_dim),
        ("heads", max(space.heads), info.heads),
        ("head_dim", space.head_dim, info.head_dim),
        ("mlp_ratio", hidden, info.mlp_hidden),
        ("patch_size", space.patch_size, info.patch_size),
        ("ln_eps", space.ln_eps, info.ln_eps),
    )
    for name, have, want in pairs:
        if have != want:
            what = "MLP width of the largest choices" if name == "mlp_ratio" else "largest choice"
            raise SearchSpaceError(
                f"search space field {name!r}: {what} {have} differs from the pretrained model's {want}; "
                f"valid: {want} (the source's), as in pretrained_space()"
            )


@dataclass(frozen=True)
class ImportedSupernet:
    """A supernet built from a pretrained source, and how."""

    supernet: Supernet  # largest float subnet = the source (unless ``average`` was accepted)
    info: SourceInfo  # the source
    fresh_head: bool  # True: the task's classes differ, the classifier is new (seeded)
    recursion: RecursionInit  # how the shared blocks and LoRA adapters were set
    rotated: bool  # True: the stream was turned to its principal directions first (rotate_stream)


def import_pretrained(
    source: PretrainedViT,
    spec: InputSpec | None = None,
    space: SearchSpace | None = None,
    *,
    calibration: Iterable[Tensor] | None = None,
    shared_init: SharedInit = "first",
    allow_inexact: bool = False,
    generator: torch.Generator | None = None,
) -> ImportedSupernet:
    """A supernet holding ``source``: its largest float subnet computes the source's logits.

    ``spec`` is the task's input (default: the source's); it must have the source's image shape,
    and a different number of classes gets a fresh classifier drawn from ``generator``. ``space``
    defaults to :func:`pretrained_space`; its largest choices must be the source's. With
    ``calibration`` (input batches of the task), the source's stream is first turned to its principal
    directions on them (:func:`~supernas.supernet.rotation.rotate_stream`: the same logits, and the
    leading channels that narrower subnets keep carry the most). The LoRA adapters are fitted for
    recursion with ``shared_init`` (see :mod:`supernas.supernet.recursion`).
    """
    info = source.info
    spec = _task_spec(info, spec)
    space = pretrained_space(info) if space is None else space
    check_space(space, info)
    space.check_input(spec)
    supernet = Supernet(space, spec, generator if generator is not None else torch.Generator().manual_seed(0))
    fresh_head = spec.num_classes != info.num_classes
    if calibration is not None:
        source = rotate_stream(source, calibration)
    _copy(supernet, source, keep_head=not fresh_head)
    recursion = init_recursion(supernet, [layer.linears for layer in source.layers], shared_init, allow_inexact)
    return ImportedSupernet(supernet, info, fresh_head, recursion, rotated=calibration is not None)


def _task_spec(info: SourceInfo, spec: InputSpec | None) -> InputSpec:
    if spec is None:
        if not info.num_classes:
            raise CheckpointError(
                f"is required: {info.framework} model {info.name!r} has no classifier head; valid: the task's "
                "input spec with its number of classes",
                field="spec",
            )
        return info.input_spec()
    want = (info.channels, *info.image_size)
    if spec.kind != "image" or spec.shape != want:
        raise CheckpointError(
            f"{spec.kind} {spec.shape} differs from the pretrained model's image {want}; valid: images of shape "
            f"{want} (position embeddings are not resampled)",
            field="spec",
        )
    return spec


@torch.no_grad()
def _copy(supernet: Supernet, source: PretrainedViT, keep_head: bool) -> None:
    stem = supernet.stem
    _set_linear(stem.proj, source.patch)
    stem.cls_token.copy_(source.cls_token.view(1, 1, -1))
    stem.pos_embed.copy_(source.pos_embed.unsqueeze(0))
    for block, adapters, layer in zip(supernet.blocks, supernet.layers, source.layers):
        for name in LINEARS:
            _set_linear(getattr(block, name), getattr(layer.linears, name))
        _set_norm(adapters.norm1, layer.norm1)  # type: ignore[arg-type]
        _set_norm(adapters.norm2, layer.norm2)  # type: ignore[arg-type]
    _set_norm(supernet.head.norm, source.norm)
    if keep_head:
        assert source.head is not None
        _set_linear(supernet.head.linear, source.head)


def _set_linear(linear: ElasticLinear, weights: tuple[Tensor, Tensor]) -> None:
    linear.weight.copy_(weights[0])
    assert linear.bias is not None
    linear.bias.copy_(weights[1])


def _set_norm(norm: ElasticLayerNorm, weights: tuple[Tensor, Tensor]) -> None:
    norm.weight.copy_(weights[0])
    norm.bias.copy_(weights[1])


@torch.no_grad()
def logit_gap(supernet: Supernet, reference: nn.Module, x: Tensor) -> float:
    """Largest |difference| between the largest subnet's logits and ``reference(x)`` (a timm or hf model)."""
    ours = supernet(x, largest(supernet.space))
    theirs = reference(x)
    return float((ours - getattr(theirs, "logits", theirs)).abs().max())
