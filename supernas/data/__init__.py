"""Tasks and their splits: ``digits`` (embedded), ``npz:PATH`` arrays, ``folder:PATH`` images, ``hf:PATH`` datasets."""

from supernas.data.augment import AUGMENT_MODES, augment
from supernas.data.sources import BUILTIN_TASKS, SOURCES, VALID_TASKS, TaskSource, load_task, task_spec
from supernas.data.streaming import Examples, check_loader_workers, default_loader_workers
from supernas.data.tasks import Split, TaskData, TaskOptions

__all__ = [
    "AUGMENT_MODES",
    "BUILTIN_TASKS",
    "SOURCES",
    "VALID_TASKS",
    "Examples",
    "Split",
    "TaskData",
    "TaskOptions",
    "TaskSource",
    "augment",
    "check_loader_workers",
    "default_loader_workers",
    "load_task",
    "task_spec",
]
