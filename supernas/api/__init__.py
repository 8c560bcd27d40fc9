"""The public Python API: every use case the ``supernas`` command offers, as typed functions.

The CLI parses options, calls these and renders what they return; a notebook or a service
calls them directly. A search end to end::

    from supernas.api import EvaluationSettings, SearchRequest, prepare_training, start_search, train_supernet

    train_supernet(prepare_training("runs/digits.pt", task="digits", settings={"epochs": 30}))
    request = SearchRequest.parse("accuracy,latency_ms", [], "linas", budget=50, batch_size=10, seed=0)
    report = start_search("runs/digits.pt", request, EvaluationSettings(executor="local"), name="demo")
    print(report.front[0].arch_id, report.front[0].metrics)

Names load on first use (``supernas.api.X``), so a read-only command never imports torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supernas.api.database import (
        DatabaseInfo as DatabaseInfo,
        database_info as database_info,
        upgrade_database as upgrade_database,
    )
    from supernas.api.demo import (
        DemoCallbacks as DemoCallbacks,
        DemoPlan as DemoPlan,
        DemoResult as DemoResult,
        prepare_demo as prepare_demo,
        run_demo as run_demo,
    )
    from supernas.api.evaluation import (
        EXECUTORS as EXECUTORS,
        EvaluationSettings as EvaluationSettings,
        LocalEvaluator as LocalEvaluator,
        RayEvaluator as RayEvaluator,
        open_evaluator as open_evaluator,
    )
    from supernas.api.exports import (
        ExportRequest as ExportRequest,
        ExportResult as ExportResult,
        export_search as export_search,
        export_subnet as export_subnet,
    )
    from supernas.api.finetune import (
        FinetuneReport as FinetuneReport,
        FinetuneSettings as FinetuneSettings,
        Selection as Selection,
        TrainedFrontReport as TrainedFrontReport,
        TrainedMember as TrainedMember,
        finetune_subnets as finetune_subnets,
        list_trainings as list_trainings,
        trained_front as trained_front,
    )
    from supernas.api.plots import (
        FrontPlot as FrontPlot,
        front_html as front_html,
        front_plot as front_plot,
        hv_plot as hv_plot,
        plot_front as plot_front,
        plot_hypervolume as plot_hypervolume,
        plot_trained_front as plot_trained_front,
    )
    from supernas.api.reports import (
        FrontMember as FrontMember,
        FrontReport as FrontReport,
        SearchStatusReport as SearchStatusReport,
        SearchSummary as SearchSummary,
        front_members as front_members,
        list_searches as list_searches,
        search_front as search_front,
        search_status as search_status,
    )
    from supernas.api.searches import (
        ProgressCallback as ProgressCallback,
        SearchRequest as SearchRequest,
        StartCallback as StartCallback,
        create_search as create_search,
        free_search_name as free_search_name,
        report_test_accuracy as report_test_accuracy,
        resume_search as resume_search,
        run_stored_search as run_stored_search,
        start_search as start_search,
    )
    from supernas.api.spaces import (
        SpaceSummary as SpaceSummary,
        SubnetDescription as SubnetDescription,
        describe_space as describe_space,
        list_presets as list_presets,
        resolve_space as resolve_space,
        sample_subnets as sample_subnets,
        validate_space_file as validate_space_file,
    )
    from supernas.api.supernets import (
        RayTrainResult as RayTrainResult,
        RayTrainSettings as RayTrainSettings,
        TrainingPlan as TrainingPlan,
        load_registered_supernet as load_registered_supernet,
        prepare_training as prepare_training,
        register_supernet as register_supernet,
        resolve_supernet as resolve_supernet,
        train_supernet as train_supernet,
        train_supernet_on_ray as train_supernet_on_ray,
    )
    from supernas.export.artifacts import (
        FORMATS as FORMATS,
        TOLERANCE as TOLERANCE,
    )
    from supernas.search.engine import (
        Progress as Progress,
    )
    from supernas.store import (
        SearchRecord as SearchRecord,
        Store as Store,
        TrainingRecord as TrainingRecord,
        TrainingStatus as TrainingStatus,
    )
    from supernas.supernet.checkpoint import (
        LoadedSupernet as LoadedSupernet,
    )
    from supernas.supernet.finetune import (
        FinetuneEpoch as FinetuneEpoch,
    )
    from supernas.supernet.train import (
        EpochRecord as EpochRecord,
        TrainConfig as TrainConfig,
        TrainResult as TrainResult,
    )

_EXPORTS = {  # public name -> the module that defines it
    "DatabaseInfo": "supernas.api.database",
    "database_info": "supernas.api.database",
    "upgrade_database": "supernas.api.database",
    "DemoCallbacks": "supernas.api.demo",
    "DemoPlan": "supernas.api.demo",
    "DemoResult": "supernas.api.demo",
    "prepare_demo": "supernas.api.demo",
    "run_demo": "supernas.api.demo",
    "EXECUTORS": "supernas.api.evaluation",
    "EvaluationSettings": "supernas.api.evaluation",
    "LocalEvaluator": "supernas.api.evaluation",
    "RayEvaluator": "supernas.api.evaluation",
    "open_evaluator": "supernas.api.evaluation",
    "ExportRequest": "supernas.api.exports",
    "ExportResult": "supernas.api.exports",
    "export_search": "supernas.api.exports",
    "export_subnet": "supernas.api.exports",
    "FinetuneReport": "supernas.api.finetune",
    "FinetuneSettings": "supernas.api.finetune",
    "Selection": "supernas.api.finetune",
    "TrainedFrontReport": "supernas.api.finetune",
    "TrainedMember": "supernas.api.finetune",
    "finetune_subnets": "supernas.api.finetune",
    "list_trainings": "supernas.api.finetune",
    "trained_front": "supernas.api.finetune",
    "FrontPlot": "supernas.api.plots",
    "front_html": "supernas.api.plots",
    "front_plot": "supernas.api.plots",
    "hv_plot": "supernas.api.plots",
    "plot_front": "supernas.api.plots",
    "plot_hypervolume": "supernas.api.plots",
    "plot_trained_front": "supernas.api.plots",
    "FrontMember": "supernas.api.reports",
    "FrontReport": "supernas.api.reports",
    "SearchStatusReport": "supernas.api.reports",
    "SearchSummary": "supernas.api.reports",
    "front_members": "supernas.api.reports",
    "list_searches": "supernas.api.reports",
    "search_front": "supernas.api.reports",
    "search_status": "supernas.api.reports",
    "ProgressCallback": "supernas.api.searches",
    "SearchRequest": "supernas.api.searches",
    "StartCallback": "supernas.api.searches",
    "create_search": "supernas.api.searches",
    "free_search_name": "supernas.api.searches",
    "report_test_accuracy": "supernas.api.searches",
    "resume_search": "supernas.api.searches",
    "run_stored_search": "supernas.api.searches",
    "start_search": "supernas.api.searches",
    "SpaceSummary": "supernas.api.spaces",
    "SubnetDescription": "supernas.api.spaces",
    "describe_space": "supernas.api.spaces",
    "list_presets": "supernas.api.spaces",
    "resolve_space": "supernas.api.spaces",
    "sample_subnets": "supernas.api.spaces",
    "validate_space_file": "supernas.api.spaces",
    "RayTrainResult": "supernas.api.supernets",
    "RayTrainSettings": "supernas.api.supernets",
    "TrainingPlan": "supernas.api.supernets",
    "load_registered_supernet": "supernas.api.supernets",
    "prepare_training": "supernas.api.supernets",
    "register_supernet": "supernas.api.supernets",
    "resolve_supernet": "supernas.api.supernets",
    "train_supernet": "supernas.api.supernets",
    "train_supernet_on_ray": "supernas.api.supernets",
    "FORMATS": "supernas.export.artifacts",
    "TOLERANCE": "supernas.export.artifacts",
    "Progress": "supernas.search.engine",
    "SearchRecord": "supernas.store",
    "Store": "supernas.store",
    "TrainingRecord": "supernas.store",
    "TrainingStatus": "supernas.store",
    "LoadedSupernet": "supernas.supernet.checkpoint",
    "FinetuneEpoch": "supernas.supernet.finetune",
    "EpochRecord": "supernas.supernet.train",
    "TrainConfig": "supernas.supernet.train",
    "TrainResult": "supernas.supernet.train",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    """Import the module defining ``name`` on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'supernas.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
