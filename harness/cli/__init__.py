"""The `limitbench` command line: the typer app, its commands, and the run folder's driver."""

from harness.cli.app import app, main

__all__ = ["app", "main"]
