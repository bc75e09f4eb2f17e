"""`python -m nettrain` runs the command-line interface, named nettrain in its usage lines."""

from .cli import main

main()
