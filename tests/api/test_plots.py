"""``api/plots.py``: output paths checked before drawing, a measured front and hypervolume curves as PNG files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from supernas.api.plots import check_html_path, check_plot_path, plot_front, plot_hypervolume
from supernas.api.searches import SearchRequest, create_search, run_stored_search
from supernas.errors import SearchError, StorageError
from supernas.search import nondominated
from supernas.store import EvaluationStatus, Store
from supernas.testing import SYNTHETIC_SPEC, SyntheticEvaluator, tiny_space

SPACE = tiny_space(
    depth=(1, 2), embed_dim=(16,), loops=(1,), lora_rank=(0,), weight_bits=(8, 32), act_bits=(32,), keep_ratio=(1.0,)
)  # 72 architectures
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A store with ``s`` (12 measured, one exported), ``t`` (8 measured) and ``empty`` (never run)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('plots') / 's.db'}"
    with Store.open(url, create=True) as store:
        for name, budget in (("s", 12), ("t", 8)):
            create_search(store, name, SearchRequest.parse("accuracy,latency_ms", [], "random", budget, 4, 0), None)
            run_stored_search(store, name, SPACE, SYNTHETIC_SPEC, SyntheticEvaluator(SPACE, SYNTHETIC_SPEC))
        store.add_export("s", store.fronts("s")[-1].members[0], "safetensors", "/exports/s", {})
        create_search(store, "empty", SearchRequest.parse("accuracy,params", [], "random", 8, 4, 0), None)
    yield url


@pytest.mark.parametrize("name", ["front.txt", "front"])
def test_a_plot_path_needs_an_image_suffix(tmp_path: Path, name: str) -> None:
    with pytest.raises(SearchError, match=r"has no image suffix; valid: \.png, \.svg, \.pdf") as info:
        check_plot_path(tmp_path / name, "plot")
    assert info.value.field == "plot" and str(info.value).startswith("plot ")


def test_a_plot_path_needs_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(SearchError, match="the directory does not exist") as info:
        check_plot_path(tmp_path / "no" / "front.png", "out")
    assert info.value.field == "out"
    check_plot_path(tmp_path / "front.SVG", "out")  # the suffix is case-insensitive


@pytest.mark.parametrize("name", ["front.htm", "no/front.html"])
def test_an_html_path_needs_the_suffix_and_an_existing_directory(tmp_path: Path, name: str) -> None:
    with pytest.raises(SearchError, match=r"valid: a \.html file in an existing directory") as info:
        check_html_path(tmp_path / name)
    assert info.value.field == "html"
    check_html_path(tmp_path / "front.html")


def test_plot_front_writes_a_png_and_reports_what_it_drew(url: str, tmp_path: Path) -> None:
    out = tmp_path / "front.png"
    drawn = plot_front("s", out, storage=url)
    assert out.read_bytes().startswith(PNG)
    with Store.open(url) as store:
        measured = [e.metrics for e in store.evaluations("s", EvaluationStatus.COMPLETE) if e.metrics]
    xy = np.array([[m["latency_ms"], -m["accuracy"]] for m in measured])  # both minimised
    assert (drawn.search, drawn.out, drawn.points, drawn.exported) == ("s", out, 12, 1)
    assert drawn.front == len(nondominated(xy)) >= 1
    assert drawn.to_dict() == {"search": "s", "out": str(out), "points": 12, "front": drawn.front, "exported": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["front.png"]  # no temporary file left behind


def test_plot_front_in_other_metrics_and_bad_axes(url: str, tmp_path: Path) -> None:
    drawn = plot_front("t", tmp_path / "p.png", x="params", y="accuracy", storage=url)
    assert drawn.points == 8 and drawn.exported == 0 and (tmp_path / "p.png").read_bytes().startswith(PNG)
    with pytest.raises(SearchError, match="'speed' was not measured in this search; valid: accuracy, ") as info:
        plot_front("t", tmp_path / "q.png", x="speed", storage=url)
    assert info.value.field == "x" and not (tmp_path / "q.png").exists()


def test_plot_front_refuses_a_search_without_results_or_a_bad_path(url: str, tmp_path: Path) -> None:
    with pytest.raises(SearchError, match="search 'empty' has no completed evaluations to plot yet"):
        plot_front("empty", tmp_path / "e.png", storage=url)
    with pytest.raises(StorageError, match="unknown search 'nope'"):
        plot_front("nope", tmp_path / "e.png", storage=url)
    with pytest.raises(SearchError, match=r"^out .*has no image suffix"):
        plot_front("s", tmp_path / "e.gif", storage=url)
    assert list(tmp_path.iterdir()) == []


def test_plot_hypervolume_draws_several_searches(url: str, tmp_path: Path) -> None:
    out = tmp_path / "hv.png"
    plot_hypervolume(["s", "t"], out, storage=url)
    assert out.read_bytes().startswith(PNG) and out.stat().st_size > 1000
    with pytest.raises(SearchError, match=r"^plot .*has no image suffix") as info:
        plot_hypervolume(["s"], tmp_path / "hv.jpg", storage=url)
    assert info.value.field == "plot"
    with pytest.raises(StorageError, match="unknown search 'nope'"):
        plot_hypervolume(["s", "nope"], tmp_path / "hv2.png", storage=url)
    assert [p.name for p in tmp_path.iterdir()] == ["hv.png"]


def test_a_subnet_exported_twice_is_one_exported_subnet(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    with Store.open(url, create=True) as store:
        create_search(store, "d", SearchRequest.parse("accuracy,latency_ms", [], "random", 4, 4, 0), None)
        run_stored_search(store, "d", SPACE, SYNTHETIC_SPEC, SyntheticEvaluator(SPACE, SYNTHETIC_SPEC))
        arch = store.fronts("d")[-1].members[0]
        store.add_export("d", arch, "safetensors", str(tmp_path / "a"), {})
        store.add_export("d", arch, "onnx", str(tmp_path / "b"), {})
    assert plot_front("d", tmp_path / "d.png", storage=url).exported == 1
