"""`python -m nettrain` runs the command-line interface."""

from .cli import main

main()
