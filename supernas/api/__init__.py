"""The public Python API: every use case the ``supernas`` command offers, as typed functions.

The CLI parses options, calls these and renders what they return; a notebook or a service
calls them directly. A search end to end::

    from supernas.api import EvaluationSettings, SearchRequest, prepare_training, start_search, train_supernet

    train_supernet(prepare_training("runs/digits.pt", task="digits", settings={"epochs": 30}))
    request = SearchRequest.parse("accuracy,latency_ms", [], "linas", budget=50, batch_size=10, seed=0)
    report = start_search("runs/digits.pt", request, EvaluationSettings(executor="local"), name="demo")
    print(report.front[0].arch_id, report.front[0].metrics)
"""

from supernas.api.database import DatabaseInfo, database_info, upgrade_database
from supernas.api.demo import DemoCallbacks, DemoPlan, DemoResult, prepare_demo, run_demo
from supernas.api.evaluation import EXECUTORS, EvaluationSettings, LocalEvaluator, RayEvaluator, open_evaluator
from supernas.api.exports import ExportRequest, ExportResult, export_search, export_subnet
from supernas.api.plots import FrontPlot, front_html, front_plot, hv_plot, plot_front, plot_hypervolume
from supernas.api.searches import (
    FrontMember,
    FrontReport,
    ProgressCallback,
    SearchRequest,
    SearchStatusReport,
    SearchSummary,
    StartCallback,
    create_search,
    free_search_name,
    front_members,
    list_searches,
    report_test_accuracy,
    resume_search,
    run_stored_search,
    search_front,
    search_status,
    start_search,
)
from supernas.api.spaces import (
    SpaceSummary,
    SubnetDescription,
    describe_space,
    list_presets,
    resolve_space,
    sample_subnets,
    validate_space_file,
)
from supernas.api.supernets import (
    RayTrainResult,
    RayTrainSettings,
    TrainingPlan,
    load_registered_supernet,
    prepare_training,
    register_supernet,
    resolve_supernet,
    train_supernet,
    train_supernet_on_ray,
)
from supernas.export.artifacts import FORMATS, TOLERANCE
from supernas.search.engine import Progress
from supernas.store import SearchRecord, Store
from supernas.supernet.checkpoint import LoadedSupernet
from supernas.supernet.train import EpochRecord, TrainConfig, TrainResult

__all__ = [
    "EXECUTORS",
    "FORMATS",
    "TOLERANCE",
    "DatabaseInfo",
    "DemoCallbacks",
    "DemoPlan",
    "DemoResult",
    "EpochRecord",
    "EvaluationSettings",
    "ExportRequest",
    "ExportResult",
    "FrontMember",
    "FrontPlot",
    "FrontReport",
    "LoadedSupernet",
    "LocalEvaluator",
    "Progress",
    "ProgressCallback",
    "RayEvaluator",
    "RayTrainResult",
    "RayTrainSettings",
    "SearchRecord",
    "SearchRequest",
    "SearchStatusReport",
    "SearchSummary",
    "SpaceSummary",
    "StartCallback",
    "Store",
    "SubnetDescription",
    "TrainConfig",
    "TrainResult",
    "TrainingPlan",
    "create_search",
    "database_info",
    "describe_space",
    "export_search",
    "export_subnet",
    "free_search_name",
    "front_html",
    "front_members",
    "front_plot",
    "hv_plot",
    "list_presets",
    "list_searches",
    "load_registered_supernet",
    "open_evaluator",
    "plot_front",
    "plot_hypervolume",
    "prepare_demo",
    "prepare_training",
    "register_supernet",
    "report_test_accuracy",
    "resolve_space",
    "resolve_supernet",
    "resume_search",
    "run_demo",
    "run_stored_search",
    "sample_subnets",
    "search_front",
    "search_status",
    "start_search",
    "train_supernet",
    "train_supernet_on_ray",
    "upgrade_database",
    "validate_space_file",
]
