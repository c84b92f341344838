"""`python -m collector.cli`: the same as the `collector` command."""

from collector.cli import main

main()
