"""`python -m dlflow.cli`: the same as the `dlflow` console script."""

from dlflow.cli.main import main

main()
