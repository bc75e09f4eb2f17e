"""nettrain: fully-connected neural networks trained from config files, the UFLDL way."""

__version__ = "0.1.0"
