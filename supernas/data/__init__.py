"""Tasks and their splits: the embedded ``digits`` data set and ``npz:PATH`` files."""

from supernas.data.augment import augment
from supernas.data.tasks import BUILTIN_TASKS, Split, TaskData, load_task, task_spec

__all__ = ["BUILTIN_TASKS", "Split", "TaskData", "augment", "load_task", "task_spec"]
