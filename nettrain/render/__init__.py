"""Text rendering of a command's result, one module per command (the CLI parses, calls and renders)."""
