"""Elastic overhead: supernet and extracted subnet against the same ViT built from plain modules.

Measures, in one process with interleaved repeats (medians of per-repeat ratios):

* train step (forward, backward, AdamW step) of the supernet at its largest config
  over the plain model (goal ≤ 1.10);
* inference forward of the extracted largest subnet over the plain model (goal ≤ 1.02).

``--preset digits`` (default): the built-in space on 8×8 digits; ``--preset deit-tiny``: the
DeiT-Tiny space on 32×32 RGB inputs (largest subnet: 12 layers, 192 channels, 4-pixel patches).

Run: ``.venv/bin/python benchmarks/elastic_overhead.py [--preset digits|deit-tiny] [--repeats 15] [--batch 64]
[--quick]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from supernas.search_space import InputSpec, largest, preset_space
from supernas.supernet import Supernet, extract

INPUTS = {"digits": InputSpec("image", (1, 8, 8), 10), "deit-tiny": InputSpec("image", (3, 32, 32), 10)}


class PlainLayer(nn.Module):
    """A textbook pre-norm ViT layer."""

    def __init__(self, dim: int, heads: int, head_dim: int, hidden: int, eps: float) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=eps), nn.LayerNorm(dim, eps=eps)
        self.qkv = nn.Linear(dim, 3 * heads * head_dim)
        self.proj = nn.Linear(heads * head_dim, dim)
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, t, _ = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        attn = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, t, -1)  # (B, T, A)
        x = x + self.proj(attn)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class PlainViT(nn.Module):
    def __init__(
        self,
        patch_dim: int,
        tokens: int,
        dim: int,
        depth: int,
        heads: int,
        head_dim: int,
        hidden: int,
        classes: int,
        patch: int,
        eps: float,
    ) -> None:
        super().__init__()
        self.patch = patch
        self.stem = nn.Linear(patch_dim, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens, dim))
        self.layers = nn.ModuleList(PlainLayer(dim, heads, head_dim, hidden, eps) for _ in range(depth))
        self.norm, self.head = nn.LayerNorm(dim, eps=eps), nn.Linear(dim, classes)

    def forward(self, x: Tensor) -> Tensor:
        b, c, h, w = x.shape
        p = self.patch
        x = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5).reshape(b, -1, c * p * p)
        x = torch.cat([self.cls_token.expand(b, -1, -1), self.stem(x)], dim=1) + self.pos_embed
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x[:, 0]))


def plain_copy(net: Supernet) -> PlainViT:
    """A plain ViT holding the weights of the supernet's largest subnet."""
    space, spec = net.space, net.spec
    config = largest(space)
    static = extract(net, config)
    plain = PlainViT(
        spec.patch_dim(space.patch_size),
        spec.num_patches(space.patch_size) + 1,
        config.embed_dim,
        config.depth,
        config.heads[0],
        space.head_dim,
        config.hidden_dim(0),
        spec.num_classes,
        space.patch_size,
        space.ln_eps,
    )
    with torch.no_grad():
        plain.stem.load_state_dict(static.stem.state_dict())
        plain.cls_token.copy_(static.cls_token)
        plain.pos_embed.copy_(static.pos_embed)
        for mine, layer in zip(plain.layers, static.layers):
            block = static.blocks[layer.block]
            for name in ("qkv", "proj", "fc1", "fc2"):
                getattr(mine, name).load_state_dict(getattr(block, name).state_dict())
            mine.norm1.load_state_dict(layer.norm1.state_dict())
            mine.norm2.load_state_dict(layer.norm2.state_dict())
        plain.norm.load_state_dict(static.head_norm.state_dict())
        plain.head.load_state_dict(static.head.state_dict())
    return plain


def timed(fn: Callable[[], object], iters: int) -> float:
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - start) / iters


def train_step(model: nn.Module, opt: torch.optim.Optimizer, forward: Callable[[], Tensor], y: Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(forward(), y).backward()
    opt.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--preset", choices=("digits", "deit-tiny"), default="digits")
    parser.add_argument("--quick", action="store_true", help="2 repeats of 2 iterations at batch 8: check it runs")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.iters, args.batch = 2, 2, 8
    torch.set_num_threads(args.threads)
    spec = INPUTS[args.preset]
    space = preset_space(args.preset, spec)
    net = Supernet(space, spec, torch.Generator().manual_seed(0))
    config = largest(space)
    plain = plain_copy(net)
    static = extract(net, config)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(args.batch, *spec.shape, generator=gen)
    y = torch.randint(0, 10, (args.batch,), generator=gen)
    with torch.no_grad():
        diff = (plain(x) - net(x, config)).abs().max().item()
    assert diff < 1e-5, f"plain model differs from the supernet by {diff}"

    opt_super = torch.optim.AdamW(net.parameters(), lr=1e-4)
    opt_plain = torch.optim.AdamW(plain.parameters(), lr=1e-4)
    train_ratios, fwd_ratios, t_super, t_plain = [], [], [], []
    for _ in range(args.repeats):
        ts = timed(lambda: train_step(net, opt_super, lambda: net(x, config), y), args.iters)
        tp = timed(lambda: train_step(plain, opt_plain, lambda: plain(x), y), args.iters)
        train_ratios.append(ts / tp)
        t_super.append(ts)
        t_plain.append(tp)
        with torch.no_grad():
            fs = timed(lambda: static(x), args.iters * 2)
            fp = timed(lambda: plain(x), args.iters * 2)
        fwd_ratios.append(fs / fp)
    shape = "×".join(map(str, spec.shape))
    print(
        f"{args.preset} space, input {shape}, patch {space.patch_size}, largest subnet {config.depth} layers × "
        f"{config.embed_dim}; batch {args.batch}, threads {args.threads}, "
        f"{args.repeats} repeats × {args.iters} iterations"
    )
    super_ms, plain_ms = statistics.median(t_super) * 1e3, statistics.median(t_plain) * 1e3
    print(f"train step: supernet {super_ms:.2f} ms, plain {plain_ms:.2f} ms")
    print(
        f"train-step ratio supernet/plain: median {statistics.median(train_ratios):.3f} "
        f"(min {min(train_ratios):.3f}, max {max(train_ratios):.3f}); goal ≤ 1.10"
    )
    print(
        f"forward ratio extracted/plain: median {statistics.median(fwd_ratios):.3f} "
        f"(min {min(fwd_ratios):.3f}, max {max(fwd_ratios):.3f}); goal ≤ 1.02"
    )


if __name__ == "__main__":
    main()
