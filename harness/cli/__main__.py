"""`python -m harness.cli`: the same program as the `limitbench` script."""

from harness.cli.app import main

main()
