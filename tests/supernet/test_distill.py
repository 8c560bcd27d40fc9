"""Teacher tables: every augmentation choice indexed, lookups equal to the teacher, when a table pays, and
training with a table equal to training without one (supernet and subnet fine-tuning)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import Tensor

from supernas.data import Split
from supernas.data.augment import apply, augment_pad, draw
from supernas.search_space import InputSpec, SearchSpace, largest, smallest
from supernas.supernet import Supernet, distill, extract
from supernas.supernet.distill import (
    TeacherTable,
    augment_variants,
    choices_of,
    variant_of,
    worth_a_table,
)
from supernas.supernet.finetune import FinetuneConfig, SubnetTrainer
from supernas.supernet.train import TrainConfig, Trainer
from tests.supernet.test_train import quadrant_task

GRAY = InputSpec("image", (1, 8, 8), 4)
COLOUR = InputSpec("image", (3, 8, 8), 4)
SEQUENCE = InputSpec("sequence", (12, 3), 4)
CPU = torch.device("cpu")


@pytest.mark.parametrize(
    ("mode", "spec", "pad", "variants"),
    [
        ("none", GRAY, 0, 1),
        ("none", SEQUENCE, 0, 1),
        ("shift", GRAY, 1, 9),  # 3 window starts in each of 2 dimensions
        ("shift", SEQUENCE, 1, None),  # shifted sequences get Gaussian noise: no finite set
        ("crop-flip", COLOUR, 4, 162),  # 9 x 9 window starts, flipped or not
    ],
)
def test_augment_variants_counts_the_distinct_inputs(mode: str, spec: InputSpec, pad: int, variants: int) -> None:
    assert augment_variants(mode, spec, pad) == variants


@pytest.mark.parametrize(("mode", "spec"), [("shift", GRAY), ("crop-flip", COLOUR), ("none", GRAY)])
def test_every_drawn_choice_is_one_variant_and_variants_invert(mode: str, spec: InputSpec) -> None:
    pad = augment_pad(mode, spec)
    variants = augment_variants(mode, spec, pad)
    assert variants is not None
    for v in range(variants):
        assert variant_of(choices_of(v, 3, mode, spec, pad), 3).tolist() == [v, v, v]
    drawn = draw(mode, 4000, spec.shape, spec.kind, torch.Generator().manual_seed(0), pad=pad)
    seen = variant_of(drawn, 4000)
    assert sorted(set(seen.tolist())) == list(range(variants))  # every choice is one variant, every variant drawn


def _linear_teacher(spec: InputSpec) -> torch.nn.Module:
    teacher = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(spec.shape[0] * 64, spec.num_classes))
    with torch.no_grad():
        torch.nn.init.normal_(teacher[1].weight, generator=torch.Generator().manual_seed(1))
    return teacher.eval()


@pytest.mark.parametrize(("mode", "spec"), [("shift", GRAY), ("crop-flip", COLOUR), ("none", GRAY)])
def test_lookups_equal_the_teacher_on_the_augmented_examples(mode: str, spec: InputSpec) -> None:
    x = torch.randn(40, *spec.shape, generator=torch.Generator().manual_seed(2))
    split, teacher, pad = Split(x, torch.zeros(40, dtype=torch.long)), _linear_teacher(spec), augment_pad(mode, spec)
    table = TeacherTable.build(teacher, split, spec, mode, pad, CPU, torch.no_grad)
    rows = torch.randperm(40, generator=torch.Generator().manual_seed(3))[:25]
    choices = draw(mode, 25, spec.shape, spec.kind, torch.Generator().manual_seed(4), pad=pad)
    with torch.no_grad():
        expected = teacher(apply(x[rows], spec.kind, choices)).softmax(dim=-1)  # (25, K)
    torch.testing.assert_close(table.lookup(rows, choices), expected, rtol=0, atol=1e-6)
    other = draw("shift" if mode != "shift" else "none", 25, spec.shape, spec.kind, torch.Generator(), pad=pad)
    with pytest.raises(ValueError, match=f"the table holds {mode!r}"):
        table.lookup(rows, other)


def test_a_table_is_built_only_when_it_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    split = Split(torch.zeros(100, 1, 8, 8), torch.zeros(100, dtype=torch.long))
    assert worth_a_table(split, GRAY, "shift", 1, passes=18)  # 9 variants, each replacing 2 teacher passes
    assert not worth_a_table(split, GRAY, "shift", 1, passes=17)
    assert worth_a_table(split, GRAY, "none", 0, passes=2) and not worth_a_table(split, GRAY, "none", 0, passes=1)
    assert not worth_a_table(split, SEQUENCE, "shift", 1, passes=1000)  # noise: no finite set of inputs
    streamed = SimpleNamespace(streams=True, __len__=lambda: 100)
    assert not worth_a_table(streamed, GRAY, "none", 0, passes=1000)  # type: ignore[arg-type]
    monkeypatch.setattr(distill, "MAX_TABLE_VALUES", 100 * 9 * GRAY.num_classes - 1)
    assert not worth_a_table(split, GRAY, "shift", 1, passes=1000)  # one probability more than the cap


def _pretrained_trainer(space: SearchSpace, epochs: int, table: bool) -> Trainer:
    task = quadrant_task()
    trainer = Trainer(task, space, TrainConfig(epochs=epochs, batch_size=16, eval_subnets=0), CPU)
    source = Supernet(space, task.spec, torch.Generator().manual_seed(7)).state_dict()
    trainer.start_from(source, teacher=True, provenance={"source": "test"})
    assert trainer.teacher_targets is not None
    trainer.teacher_targets.use_table = table  # without: the per-step teacher, as when a table does not pay
    return trainer


def test_supernet_training_with_a_table_equals_training_without(tiny_space: SearchSpace) -> None:
    with_table, without = _pretrained_trainer(tiny_space, 20, True), _pretrained_trainer(tiny_space, 20, False)
    for _ in range(2):
        a, b = with_table.run_epoch(), without.run_epoch()
        assert a.loss == pytest.approx(b.loss, rel=1e-5)
    assert with_table.teacher_targets and without.teacher_targets and without.teacher_targets.table is None
    assert with_table.teacher_targets.table is not None
    assert with_table.teacher_targets.table.probs.shape == (128, 9, 4)  # 128 training examples, 9 shifts, 4 classes
    weights = zip(with_table.supernet.parameters(), without.supernet.parameters())
    assert max(float((p - q).detach().abs().max()) for p, q in weights) < 1e-4


def test_a_short_run_distils_per_step_and_a_resumed_run_decides_again(tiny_space: SearchSpace) -> None:
    short = _pretrained_trainer(tiny_space, 17, True)  # 17 passes < 2 x 9 variants
    short.run_epoch()
    assert short.teacher_targets is not None and short.teacher_targets.table is None
    resumed = Trainer(short.task, tiny_space, TrainConfig(epochs=40, batch_size=16, eval_subnets=0), CPU)
    resumed.restore(short.state())
    resumed.run_epoch()  # 39 epochs left: the table pays
    assert resumed.teacher_targets is not None and resumed.teacher_targets.table is not None


def _finetuner(space: SearchSpace, table: bool) -> SubnetTrainer:
    task = quadrant_task()
    supernet = Supernet(space, task.spec, torch.Generator().manual_seed(5)).eval()
    teacher = extract(supernet, largest(space))
    config = FinetuneConfig(epochs=20, batch_size=16)
    trainer = SubnetTrainer(extract(supernet, smallest(space)), task, config, CPU, teacher)
    assert trainer.teacher_targets is not None
    trainer.teacher_targets.use_table = table
    return trainer


def test_subnet_fine_tuning_with_a_table_equals_fine_tuning_without(tiny_space: SearchSpace) -> None:
    with_table, without = _finetuner(tiny_space, True), _finetuner(tiny_space, False)
    for _ in range(2):
        assert with_table.run_epoch().loss == pytest.approx(without.run_epoch().loss, rel=1e-5)
    assert with_table.teacher_targets and without.teacher_targets and without.teacher_targets.table is None
    assert with_table.teacher_targets.table is not None
    outputs: list[Tensor] = []
    for trainer in (with_table, without):
        with torch.no_grad():
            outputs.append(trainer.model.eval()(trainer.task.val.x))
    torch.testing.assert_close(outputs[0], outputs[1], rtol=0, atol=1e-4)
