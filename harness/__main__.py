"""`python -m harness`: the same program as the `limitbench` script."""

from harness.cli.app import main

main()
