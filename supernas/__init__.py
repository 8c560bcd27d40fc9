"""supernas: neural architecture search over a five-axis weight-sharing transformer supernet."""

from supernas.errors import SupernasError

__version__ = "0.1.0"

__all__ = ["SupernasError", "__version__"]
