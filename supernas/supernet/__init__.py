"""The elastic supernet, its static extractor and training."""

from supernas.supernet.model import Supernet
from supernas.supernet.static import StaticSubnet, extract

__all__ = ["StaticSubnet", "Supernet", "extract"]
