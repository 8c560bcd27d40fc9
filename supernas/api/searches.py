"""Searches backed by the store: create, run, resume, and report status and measured fronts.

Everything a search needs to continue lives in the database: its settings (the
strategy is rebuilt from name, seed and options) and every committed result (the
strategy is replayed over them). Evaluations left RUNNING by a killed process are
queued again; COMPLETE ones are never measured twice.

:func:`start_search` and :func:`resume_search` are the whole use case (validate,
open the evaluator, run to the budget, measure the front's test accuracy);
:func:`create_search` and :func:`run_stored_search` are the steps, for callers that
bring their own evaluator.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from supernas.api.evaluation import EvaluationSettings, open_evaluator
from supernas.api.lease import SearchLease
from supernas.api.reports import FrontReport, front_evaluations, search_front
from supernas.api.supernets import load_registered_supernet, register_supernet, resolve_supernet, supernet_name_hint
from supernas.errors import LeaseLostError, SearchError, StorageError, StorageLostError, about, choices_text
from supernas.predictors import FitResult
from supernas.search.engine import EvalResult, Evaluator, Progress, SearchResult, run_search
from supernas.search.objectives import Constraint, Metric, needed_metrics, parse_constraint, parse_objectives
from supernas.search.strategies import STRATEGIES, Candidate, Strategy, Trial, make_strategy
from supernas.search_space import InputSpec, SearchSpace, SubnetConfig, count_architectures
from supernas.store import EvaluationStatus, SearchRecord, SearchStatus, Store
from supernas.store.store import check_name
from supernas.supernet.checkpoint import LoadedSupernet
from supernas.supernet.measure import SubnetMeasurer

ProgressCallback = Callable[[Progress], None]  # after every iteration
StartCallback = Callable[[SearchRecord, int], None]  # (the search, architectures measured so far) before running


@dataclass(frozen=True)
class SearchRequest:
    """A validated search request; building one writes nothing."""

    objectives: tuple[Metric, ...]  # at least two
    constraints: tuple[Constraint, ...]  # may be empty
    strategy: str  # a STRATEGIES name
    budget: int  # distinct architectures to measure
    batch_size: int  # architectures per iteration
    seed: int  # seeds the strategy
    options: dict[str, Any] = field(default_factory=dict)  # strategy options

    @classmethod
    def parse(
        cls,
        objectives: str | Sequence[str],
        constraints: Sequence[str],
        strategy: str,
        budget: int,
        batch_size: int,
        seed: int,
        options: Mapping[str, Any] | None = None,
    ) -> SearchRequest:
        if strategy not in STRATEGIES:
            raise SearchError(f"unknown strategy {strategy!r}; valid: {choices_text(STRATEGIES)}", field="strategy")
        _check_int("batch_size", batch_size, 1, MAX_BATCH)
        _check_int("budget", budget, 1, MAX_BUDGET)
        _check_int("seed", seed, 0, MAX_SEED)
        if budget < batch_size:
            raise SearchError(
                f"{budget} is smaller than `batch_size` {batch_size}; valid: a budget >= the batch", field="budget"
            )
        unknown = sorted(set(options or {}) - set(STRATEGY_OPTIONS.get(strategy, {})))
        if unknown:
            valid = choices_text(STRATEGY_OPTIONS.get(strategy, {})) or "none"
            raise SearchError(f": strategy {strategy!r} has no option {unknown[0]!r}; valid: {valid}", field=unknown[0])
        for option, value in (options or {}).items():
            choices = STRATEGY_OPTIONS[strategy][option]
            if value not in choices:
                raise SearchError(f"{value!r} is not valid; valid: {choices_text(choices)}", field=option)
        return cls(
            objectives=parse_objectives(objectives),
            constraints=tuple(parse_constraint(c) for c in constraints),
            strategy=strategy,
            budget=budget,
            batch_size=batch_size,
            seed=seed,
            options=dict(options or {}),
        )

    @property
    def metrics(self) -> list[str]:
        """Metrics every evaluation must return."""
        return needed_metrics(self.objectives, self.constraints)

    def strategy_for(self, space: SearchSpace, spec: InputSpec) -> Strategy:
        """The request's strategy on ``space``; a budget beyond the space's architectures is an error."""
        count = count_architectures(space)
        if self.budget > count:
            raise SearchError(
                f"{self.budget} is more than the {count} distinct architectures of the space; valid: 1..{count}",
                field="budget",
            )
        return make_strategy(
            self.strategy,
            space,
            spec,
            self.objectives,
            self.constraints,
            self.seed,
            self.batch_size,
            **self.options,
        )


MAX_BUDGET = 1_000_000  # distinct architectures one search may measure
MAX_BATCH = 10_000  # architectures per iteration
MAX_SEED = 2**32 - 1  # seeds are unsigned 32-bit (NumPy, scikit-learn and pymoo all take them)
STRATEGY_OPTIONS: dict[str, dict[str, tuple[str, ...]]] = {"optuna": {"sampler": ("nsga2", "tpe")}}


def _check_int(field: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SearchError(f"{value!r} is out of range; valid: an integer in {low}..{high}", field=field)


def create_search(
    store: Store,
    name: str,
    request: SearchRequest,
    supernet_name: str | None,
    settings: Mapping[str, Any] | None = None,
) -> SearchRecord:
    """Record a new search (status RUNNING) with everything needed to run or resume it."""
    return store.create_search(
        name=name,
        strategy=request.strategy,
        objectives=[{"name": m.name, "direction": m.direction} for m in request.objectives],
        constraints=[str(c) for c in request.constraints],
        budget=request.budget,
        batch_size=request.batch_size,
        seed=request.seed,
        supernet_name=supernet_name,
        settings={"strategy_options": request.options, **(settings or {})},
    )


def request_of(record: SearchRecord) -> SearchRequest:
    """The request a stored search was created with."""
    return SearchRequest.parse(
        [o["name"] for o in record.objectives],
        record.constraints,
        record.strategy,
        record.budget,
        record.batch_size,
        record.seed,
        record.settings.get("strategy_options", {}),
    )


class StoreRecorder:
    """Commits every step of a running search, each in its own transaction.

    ``guard()`` runs before every write (the lease check: it raises once another
    process has taken the search over).
    """

    def __init__(self, store: Store, search: str, guard: Callable[[], None] = lambda: None) -> None:
        self.store, self.search, self.guard = store, search, guard

    def on_batch(self, iteration: int, candidates: Sequence[Candidate]) -> None:
        self.guard()
        self.store.add_pending(
            self.search, iteration, [(c.config.arch_id, c.config.to_dict(), c.predictions) for c in candidates]
        )

    def on_start(self, iteration: int, config: SubnetConfig) -> None:
        self.guard()
        self.store.mark_running(self.search, config.arch_id)

    def on_result(self, iteration: int, config: SubnetConfig, result: EvalResult) -> None:
        self.guard()
        if result.metrics is not None:
            self.store.complete(
                self.search, config.arch_id, result.metrics, result.worker, result.device, result.seconds
            )
        else:
            self.store.fail(
                self.search, config.arch_id, result.error or "failed", result.worker, result.device, result.seconds
            )

    def on_front(self, iteration: int, members: list[str], hypervolume: float, n_evaluated: int) -> None:
        self.guard()
        self.store.add_front(self.search, iteration, members, hypervolume, n_evaluated)

    def on_fits(self, iteration: int, fits: Mapping[str, FitResult]) -> None:
        self.guard()
        for objective, fit in fits.items():
            self.store.add_predictor_fit(
                self.search, iteration, objective, fit.kind, fit.kendall_tau, fit.mape, fit.n_train, fit.to_dict()
            )

    def on_reference(self, reference: list[float]) -> None:
        self.guard()
        self.store.set_hv_reference(self.search, reference)


def history(store: Store, search: str) -> dict[str, Trial]:
    """Committed results of ``search`` (COMPLETE and FAILED), by arch_id."""
    return {
        e.arch_id: Trial(SubnetConfig.from_dict(e.config), e.metrics if e.status == EvaluationStatus.COMPLETE else None)
        for e in store.evaluations(search)
        if e.status.finished
    }


def run_stored_search(
    store: Store,
    search: str,
    space: SearchSpace,
    spec: InputSpec,
    evaluator: Evaluator,
    progress: ProgressCallback | None = None,
    on_start: StartCallback | None = None,
) -> SearchResult:
    """Run (or resume) the stored search ``search`` to its budget, as its one writer.

    Takes the search's lease first (a live process running it makes this raise
    ``SearchBusyError`` before anything is written); the status ends COMPLETE,
    INTERRUPTED (Ctrl-C, SIGTERM: resumable), or FAILED.
    """
    record = store.get_search(search)
    request = request_of(record)
    strategy = request.strategy_for(space, spec)
    with SearchLease(store, search) as lease:
        store.reset_running(search)
        store.set_search_status(search, SearchStatus.RUNNING)
        if on_start is not None:
            counts = store.count_evaluations(search)
            on_start(record, counts[EvaluationStatus.COMPLETE] + counts[EvaluationStatus.FAILED])
        try:
            result = run_search(
                strategy,
                evaluator,
                request.budget,
                StoreRecorder(store, search, lease.check),
                history(store, search),
                record.hv_reference,
                progress,
            )
        except (StorageLostError, LeaseLostError):
            raise  # the row is gone or another process owns it now: nothing to mark
        except KeyboardInterrupt:
            store.set_search_status(search, SearchStatus.INTERRUPTED)
            raise
        except Exception:
            store.set_search_status(search, SearchStatus.FAILED)
            raise
        store.set_search_status(search, SearchStatus.COMPLETE)
    return result


def report_test_accuracy(store: Store, search: str, loaded: LoadedSupernet) -> None:
    """Measure the test accuracy of the latest front's members that lack it (for reports only)."""
    from supernas.data import load_task

    members = [e for e in front_evaluations(store, search) if "test_accuracy" not in (e.metrics or {})]
    if not members:
        return
    task = load_task(loaded.task)
    measurer = SubnetMeasurer(loaded.supernet, (task.val.x, task.val.y), (task.test.x, task.test.y))
    for e in members:
        test = measurer.measure(SubnetConfig.from_dict(e.config), ["test_accuracy"])
        store.update_metrics(search, e.arch_id, test)


def free_search_name(store: Store, base: str) -> str:
    """``base``, or ``base-2``, ``base-3`` … whichever no search has yet."""
    taken = {s.name for s in store.list_searches()}
    if base not in taken:
        return base
    return next(f"{base}-{i}" for i in range(2, 10**6) if f"{base}-{i}" not in taken)


def start_search(
    supernet: str,
    request: SearchRequest,
    evaluation: EvaluationSettings | None = None,
    *,
    name: str | None = None,
    storage: str | None = None,
    on_start: StartCallback | None = None,
    on_progress: ProgressCallback | None = None,
) -> FrontReport:
    """Search ``supernet`` (a checkpoint file or a registered name) to the request's budget.

    Registers the supernet (by sha256, once), names the search (default
    ``SUPERNET-STRATEGY-sSEED``, made unique), commits every result as it arrives, and
    measures the test accuracy of the final front's members.
    """
    evaluation = evaluation or EvaluationSettings()
    if name is not None:
        with about("name"):
            check_name(name, "search name")
    evaluation.check_resources()
    loaded = resolve_supernet(supernet, storage)
    request.strategy_for(loaded.supernet.space, loaded.supernet.spec)  # the budget fits, the options build
    Store.check_url(storage)
    if name is not None:
        _check_free(storage, name)
    with ExitStack() as stack:
        with about("supernet"):  # the checkpoint's task must still load (before any cluster starts)
            evaluator = stack.enter_context(open_evaluator(loaded, request.metrics, evaluation))
        store = stack.enter_context(Store.open(storage, create=True))
        record = register_supernet(store, loaded, supernet_name_hint(supernet))
        name = name or free_search_name(store, f"{record.name}-{request.strategy}-s{request.seed}")
        create_search(store, name, request, record.name, evaluation.to_dict())
        return _run(store, name, loaded, evaluator, on_start, on_progress)


def _check_free(storage: str | None, name: str) -> None:
    """Refuse a search name the store at ``storage`` holds already, before any work (the store checks it again
    when it creates the search)."""
    try:
        store = Store.open(storage)
    except StorageError:
        return  # no database yet (or one that is created or migrated first): no name is taken
    with store:
        if any(s.name == name for s in store.list_searches()):
            raise SearchError(f"{name!r} is taken; choose another or `supernas resume {name}`", field="name")


def resume_search(
    name: str,
    *,
    storage: str | None = None,
    executor: str | None = None,
    workers: int | None = None,
    ray_address: str | None = None,
    on_start: StartCallback | None = None,
    on_progress: ProgressCallback | None = None,
) -> FrontReport:
    """Continue a killed or interrupted search from the database alone (other settings as it was started)."""
    with Store.open(storage) as store:
        record = store.get_search(name)
        if record.supernet_name is None:
            raise SearchError(f"search {name!r} has no supernet to evaluate with")
        evaluation = EvaluationSettings.from_stored(
            record.settings, executor=executor, workers=workers, ray_address=ray_address
        )
        evaluation.check_resources()
        loaded = load_registered_supernet(store, record.supernet_name)
        with open_evaluator(loaded, request_of(record).metrics, evaluation) as evaluator:
            return _run(store, name, loaded, evaluator, on_start, on_progress)


def _run(
    store: Store,
    name: str,
    loaded: LoadedSupernet,
    evaluator: Evaluator,
    on_start: StartCallback | None,
    on_progress: ProgressCallback | None,
) -> FrontReport:
    run_stored_search(store, name, loaded.supernet.space, loaded.supernet.spec, evaluator, on_progress, on_start)
    report_test_accuracy(store, name, loaded)
    return search_front(store, name)
