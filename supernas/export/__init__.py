"""Exporting searched subnets: safetensors + config.json (reload with :func:`load`), pt2, ONNX, int8."""

from supernas.export.artifacts import FORMATS, Exported, InputInfo, build, load, write_export
from supernas.export.choose import choose, knee
from supernas.export.int8 import Int8Linear, to_int8

__all__ = [
    "FORMATS",
    "Exported",
    "InputInfo",
    "Int8Linear",
    "build",
    "choose",
    "knee",
    "load",
    "to_int8",
    "write_export",
]
