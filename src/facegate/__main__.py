"""`python -m facegate`: the same command as `facegate`."""

from facegate.cli import main

main()
