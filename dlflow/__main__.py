"""`python -m dlflow`: the same as the `dlflow` console script."""

from dlflow.cli.main import main

main()
