"""``search/objectives.py``: parsing objectives and constraints, the minimisation form."""

from __future__ import annotations

import pytest

from supernas.errors import SearchError
from supernas.search import parse_constraint, parse_objectives
from supernas.search.objectives import Metric, to_minimization


def test_objective_and_constraint_parsing() -> None:
    assert [m.direction for m in parse_objectives("accuracy, latency_ms,params")] == ["max", "min", "min"]
    for text, needle in [
        ("accuracy,speed", "unknown objective 'speed'; valid: accuracy, latency_ms"),
        ("accuracy,accuracy", "repeats an objective"),
        ("accuracy", "at least two"),
    ]:
        with pytest.raises(SearchError, match=needle):
            parse_objectives(text)
    c = parse_constraint(" latency_ms <= 2.5 ")
    assert (c.metric, c.op, c.bound, str(c)) == ("latency_ms", "<=", 2.5, "latency_ms<=2.5")
    assert c.violation(3.0) == 0.5 and parse_constraint("accuracy>=0.9").violation(0.95) < 0
    for text in ("latency_ms<2", "latency_ms<=fast", "<=3", "speed<=3"):
        with pytest.raises(SearchError, match=r"^constraints ") as info:
            parse_constraint(text)
        assert info.value.field == "constraints"


def test_maximised_objectives_are_negated(objectives: tuple[Metric, ...]) -> None:
    F = to_minimization([{"accuracy": 0.5, "latency_ms": 1.0}], objectives)
    assert F.tolist() == [[-0.5, 1.0]]
