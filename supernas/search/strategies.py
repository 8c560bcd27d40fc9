"""Search strategies: small ask/tell classes over the integer genome."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from supernas.errors import SearchError
from supernas.predictors import COST_NAMES, FitResult, ObjectivePredictors
from supernas.search.objectives import Constraint, Metric, to_minimization, violations
from supernas.search.pareto import nondominated
from supernas.search_space import (
    InputSpec,
    SearchSpace,
    SubnetConfig,
    canonical,
    count_architectures,
    decode,
    encode,
    largest,
    sample,
    smallest,
    upper_bounds,
)
from supernas.search_space.enumerate import enumerate_configs

ENUMERATION_LIMIT = 100_000  # spaces up to this many architectures may be enumerated to find unmeasured ones
OPTUNA_ATTEMPTS = 5  # sampler proposals per requested config before random unmeasured ones are enqueued


@dataclass(frozen=True)
class Candidate:
    """A config a strategy wants measured."""

    config: SubnetConfig  # canonical
    predictions: dict[str, float] | None = None  # predicted objective values, when a model chose it


@dataclass(frozen=True)
class Trial:
    """A measured config: its metrics, or ``None`` when the evaluation failed."""

    config: SubnetConfig  # canonical
    metrics: dict[str, float] | None  # None: FAILED


class Strategy(ABC):
    """Proposes configs to measure and learns from their results.

    Contract:

    * ``ask(n)`` returns canonical candidates, ``n`` of them unless the strategy
      works in fixed generations (``nsga2``); the driver measures what fits the
      budget and answers candidates it has already measured from its history;
    * ``tell(trials)`` receives the results of the last ``ask``, one trial per
      candidate, in the order asked;
    * all randomness comes from the ``seed`` given at construction: the sequence of
      asks is a function of the seed and the sequence of tells. A driver can
      therefore rebuild a strategy after a crash by replaying the stored results;
    * strategies never see the database or the evaluator.
    """

    name = "base"

    def __init__(
        self,
        space: SearchSpace,
        spec: InputSpec,
        objectives: Sequence[Metric],
        constraints: Sequence[Constraint],
        seed: int,
        batch_size: int,
    ) -> None:
        self.space, self.spec = space, spec
        self.objectives, self.constraints = tuple(objectives), tuple(constraints)
        self.seed, self.batch_size = seed, batch_size
        self.rng = np.random.default_rng([seed, 7])
        self.upper = upper_bounds(space)
        self.measured: dict[str, Trial] = {}  # every trial told so far, by arch_id
        self.n_architectures = count_architectures(space)  # distinct networks of the space

    @abstractmethod
    def ask(self, n: int) -> list[Candidate]:
        """Up to ``n`` candidates to measure next."""

    def tell(self, trials: Sequence[Trial]) -> None:
        """Results of the last ``ask``, in the order asked."""
        for trial in trials:
            self.measured[trial.config.arch_id] = trial

    def _random_unmeasured(self, n: int, taken: set[str]) -> list[Candidate]:
        """Up to ``n`` random configs outside ``taken`` and the measured ones.

        Random draws first; when they keep hitting measured configs in a small space,
        the rest come from a seeded shuffle of the space's enumeration, so every
        unmeasured architecture can be reached.
        """
        out: list[Candidate] = []
        for _ in range(50 * n):
            if len(out) == n:
                break
            config = sample(self.space, self.rng)
            if config.arch_id not in taken and config.arch_id not in self.measured:
                taken.add(config.arch_id)
                out.append(Candidate(config))
        if len(out) < n and self.n_architectures <= ENUMERATION_LIMIT:
            rest = [c for c in enumerate_configs(self.space) if c.arch_id not in taken | self.measured.keys()]
            out += [Candidate(rest[i]) for i in self.rng.permutation(len(rest))[: n - len(out)]]
        return out

    def _initial(self, n: int) -> list[Candidate]:
        """The extremes of the space not measured yet, then random configs."""
        extremes: dict[str, Candidate] = {}
        for config in (largest(self.space), smallest(self.space)):
            if config.arch_id not in self.measured:
                extremes.setdefault(config.arch_id, Candidate(config))
        chosen = list(extremes.values())[:n]
        return chosen + self._random_unmeasured(n - len(chosen), {c.config.arch_id for c in chosen})

    def _decode(self, genome: np.ndarray) -> SubnetConfig:
        return canonical(self.space, decode(self.space, np.asarray(genome, dtype=int)))


class RandomStrategy(Strategy):
    """Uniformly random unmeasured configs (the extremes first)."""

    name = "random"

    def ask(self, n: int) -> list[Candidate]:
        return self._initial(n) if not self.measured else self._random_unmeasured(n, set())


def _nsga2(pop_size: int, sampling: Any = None) -> Any:
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling

    return NSGA2(
        pop_size=pop_size,
        sampling=IntegerRandomSampling() if sampling is None else sampling,
        crossover=SBX(prob=0.9, eta=15, vtype=float, repair=RoundingRepair()),
        mutation=PM(eta=20, vtype=float, repair=RoundingRepair()),
        eliminate_duplicates=True,
    )


def _problem(n_var: int, n_obj: int, n_constr: int, upper: np.ndarray) -> Any:
    from pymoo.core.problem import Problem

    return Problem(n_var=n_var, n_obj=n_obj, n_ieq_constr=n_constr, xl=0, xu=upper, vtype=int)


class NSGA2Strategy(Strategy):
    """pymoo NSGA-II on true evaluations: one generation per batch."""

    name = "nsga2"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from pymoo.core.termination import NoTermination

        self.problem = _problem(len(self.upper), len(self.objectives), len(self.constraints), self.upper)
        self.algorithm = _nsga2(self.batch_size)
        self.algorithm.setup(self.problem, termination=NoTermination(), seed=self.seed % 2**31)
        self.pending: Any = None

    def ask(self, n: int) -> list[Candidate]:
        from pymoo.core.population import Population

        pending = self.algorithm.ask()  # one generation, whatever n is: the driver trims the last batch
        if pending is None or all(self._decode(x).arch_id in self.measured for x in pending.get("X")):
            # mating found nothing new (a small, well-explored space): random unmeasured immigrants instead
            fresh = self._random_unmeasured(self.batch_size, set())
            genomes = np.array([encode(self.space, c.config) for c in fresh], dtype=int).reshape(-1, len(self.upper))
            pending = Population.new("X", genomes)
        self.pending = pending
        return [Candidate(self._decode(x)) for x in self.pending.get("X")]

    def tell(self, trials: Sequence[Trial]) -> None:
        super().tell(trials)
        if len(self.pending) == 0:
            return  # the space is exhausted: nothing was asked
        from pymoo.problems.static import StaticProblem

        rows = [self.measured[self._decode(x).arch_id].metrics for x in self.pending.get("X")]
        F = to_minimization(rows, self.objectives)
        kwargs: dict[str, Any] = {"F": F}
        if self.constraints:
            kwargs["G"] = violations(rows, self.constraints)
        self.algorithm.evaluator.eval(StaticProblem(self.problem, **kwargs), self.pending)
        self.algorithm.tell(infills=self.pending)


class OptunaStrategy(Strategy):
    """Optuna's NSGA-II (default) or multivariate TPE sampler through ask/tell."""

    name = "optuna"

    def __init__(self, *args: Any, sampler: str = "nsga2", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        import optuna

        optuna.logging.set_verbosity(logging.WARNING)
        constraints = self._constraints if self.constraints else None
        if sampler == "nsga2":
            built: Any = optuna.samplers.NSGAIISampler(
                seed=self.seed, population_size=max(2, self.batch_size), constraints_func=constraints
            )
        elif sampler == "tpe":
            built = optuna.samplers.TPESampler(seed=self.seed, multivariate=True, constraints_func=constraints)
        else:
            raise SearchError(f"optuna sampler {sampler!r} is not valid; valid: nsga2, tpe")
        self.study = optuna.create_study(
            directions=["maximize" if m.direction == "max" else "minimize" for m in self.objectives], sampler=built
        )
        self.pending: list[tuple[Any, str]] = []

    @staticmethod
    def _constraints(trial: Any) -> Sequence[float]:
        return trial.user_attrs["constraints"]  # type: ignore[no-any-return]

    def ask(self, n: int) -> list[Candidate]:
        """``n`` unmeasured configs: the sampler's proposals, each already measured one told its known result at
        once and asked again; when the sampler keeps repeating itself (a small, well-explored space), random
        unmeasured configs are enqueued as its next trials."""
        self.pending = []
        out: dict[str, Candidate] = {}
        for _ in range(OPTUNA_ATTEMPTS * n):
            if len(out) == n:
                break
            self._propose(out)
        for fill in self._random_unmeasured(n - len(out), set(out)):
            self.study.enqueue_trial({f"g{i}": int(g) for i, g in enumerate(encode(self.space, fill.config))})
            self._propose(out)
        return list(out.values())

    def _propose(self, out: dict[str, Candidate]) -> None:
        """Ask the sampler once; keep a new config in ``out``, answer a measured one right away."""
        trial = self.study.ask()
        config = self._decode(np.array([trial.suggest_int(f"g{i}", 0, int(u)) for i, u in enumerate(self.upper)]))
        if config.arch_id in self.measured:
            self._tell_one(trial, self.measured[config.arch_id].metrics)
            return
        self.pending.append((trial, config.arch_id))
        out.setdefault(config.arch_id, Candidate(config))

    def tell(self, trials: Sequence[Trial]) -> None:
        super().tell(trials)
        for trial, arch_id in self.pending:
            self._tell_one(trial, self.measured[arch_id].metrics)

    def _tell_one(self, trial: Any, metrics: dict[str, float] | None) -> None:
        from optuna.trial import TrialState

        if metrics is None:
            if self.constraints:
                trial.set_user_attr("constraints", [1.0] * len(self.constraints))
            self.study.tell(trial, state=TrialState.FAIL)
            return
        if self.constraints:
            trial.set_user_attr("constraints", [c.violation(metrics[c.metric]) for c in self.constraints])
        self.study.tell(trial, [metrics[m.name] for m in self.objectives])


class LinasStrategy(Strategy):
    """Predictor-guided NSGA-II (LINAS): measure few, predict many, measure the promising.

    The first ask is an initial sample (the extremes and random configs). Every
    later ask fits one predictor per measured objective on everything measured
    (analytic costs are exact), runs NSGA-II on the predictions, and returns the
    best-ranked, most spread-out configs of the predicted front that were never
    measured, with their predictions.
    """

    name = "linas"

    def __init__(
        self,
        *args: Any,
        initial: int | None = None,
        population: int = 60,
        generations: int = 40,
        predictor_kinds: Sequence[str] = ("ridge", "gp", "gbt"),
        cv: int = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.initial = initial or self.batch_size
        self.population, self.generations = population, generations
        self.predictor_kinds, self.cv = tuple(predictor_kinds), cv
        self.last_fits: dict[str, FitResult] = {}

    def ask(self, n: int) -> list[Candidate]:
        complete = [t for t in self.measured.values() if t.metrics is not None]
        if not self.measured or len(complete) < 4:
            return self._initial(min(n, self.initial) if not self.measured else n)
        predictors = self._fit(complete)
        X, F = self._search_predicted(predictors, complete)
        return self._pick(X, F, predictors, n)

    def _fit(self, complete: list[Trial]) -> ObjectivePredictors:
        exact = [m.name for m in self.objectives if m.name in COST_NAMES]
        predictors = ObjectivePredictors(
            self.space, self.spec, kinds=self.predictor_kinds, seed=self.seed, cv=self.cv, exact=exact
        )
        genomes = np.array([encode(self.space, t.config) for t in complete])
        learned = {m for m in self._needed() if m not in exact}
        targets = {name: np.array([t.metrics[name] for t in complete if t.metrics]) for name in learned}
        self.last_fits = predictors.fit(genomes, targets)
        return predictors

    def _needed(self) -> list[str]:
        return list(dict.fromkeys([m.name for m in self.objectives] + [c.metric for c in self.constraints]))

    def _predict(self, predictors: ObjectivePredictors, X: np.ndarray) -> dict[str, np.ndarray]:
        predicted = predictors.predict(X)
        return {name: np.asarray(predicted[name][0], dtype=float) for name in self._needed()}

    def _search_predicted(
        self, predictors: ObjectivePredictors, complete: list[Trial]
    ) -> tuple[np.ndarray, np.ndarray]:
        """NSGA-II on the predicted objectives; returns its final population and predicted F."""
        from pymoo.core.problem import Problem
        from pymoo.optimize import minimize

        strategy = self

        class Predicted(Problem):
            def _evaluate(self, x: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
                values = strategy._predict(predictors, np.asarray(x, dtype=int))
                rows = [{k: float(v[i]) for k, v in values.items()} for i in range(len(x))]
                out["F"] = to_minimization(rows, strategy.objectives)
                if strategy.constraints:
                    out["G"] = violations(rows, strategy.constraints)

        problem = Predicted(
            n_var=len(self.upper),
            n_obj=len(self.objectives),
            n_ieq_constr=len(self.constraints),
            xl=0,
            xu=self.upper,
            vtype=int,
        )
        measured_F = to_minimization([t.metrics for t in complete], self.objectives)
        front = [encode(self.space, complete[i].config) for i in nondominated(measured_F)]
        seeds = np.array(front[: self.population // 2], dtype=int)
        rest = self.rng.integers(0, self.upper + 1, size=(self.population - len(seeds), len(self.upper)))
        sampling = np.vstack([seeds, rest]) if len(seeds) else rest
        result = minimize(
            problem,
            _nsga2(self.population, sampling),
            ("n_gen", self.generations),
            seed=int(self.rng.integers(2**31)),
            verbose=False,
        )
        X = np.asarray(result.pop.get("X"), dtype=int)
        return X, np.asarray(result.pop.get("F"), dtype=float)

    def _pick(self, X: np.ndarray, F: np.ndarray, predictors: ObjectivePredictors, n: int) -> list[Candidate]:
        """Unmeasured configs by predicted rank, spread by greedy max-min distance in objective space."""
        from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

        fronts = NonDominatedSorting().do(F)
        scale = np.ptp(F, axis=0) + 1e-12
        chosen: list[int] = []
        seen: set[str] = set()
        for front in fronts:
            pool = []
            for i in front:
                arch = self._decode(X[i]).arch_id
                if arch not in self.measured and arch not in seen:
                    seen.add(arch)
                    pool.append(int(i))
            while pool and len(chosen) < n:
                if not chosen:
                    pick = pool[int(np.argmin(F[pool, 0]))]
                else:
                    dist = np.abs((F[pool][:, None, :] - F[chosen][None, :, :]) / scale).sum(-1).min(axis=1)
                    pick = pool[int(np.argmax(dist))]
                chosen.append(pick)
                pool.remove(pick)
            if len(chosen) == n:
                break
        values = self._predict(predictors, X[chosen]) if chosen else {}
        out = [Candidate(self._decode(X[i]), {k: float(v[j]) for k, v in values.items()}) for j, i in enumerate(chosen)]
        if len(out) < n:
            out += self._random_unmeasured(n - len(out), {c.config.arch_id for c in out})
        return out


STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (LinasStrategy, NSGA2Strategy, RandomStrategy, OptunaStrategy)
}


def make_strategy(
    name: str,
    space: SearchSpace,
    spec: InputSpec,
    objectives: Sequence[Metric],
    constraints: Sequence[Constraint],
    seed: int,
    batch_size: int,
    **options: Any,
) -> Strategy:
    """The strategy ``name`` with its options; unknown names list the valid ones."""
    if name not in STRATEGIES:
        raise SearchError(f"unknown strategy {name!r}; valid: {', '.join(STRATEGIES)}", field="strategy")
    try:
        return STRATEGIES[name](space, spec, objectives, constraints, seed, batch_size, **options)
    except TypeError as exc:
        raise SearchError(f"strategy {name!r}: invalid option ({exc})") from None
