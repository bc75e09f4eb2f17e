"""The package version, in one place (the CLI, checkpoints and the packaging read it)."""

__version__ = "0.1.0"
