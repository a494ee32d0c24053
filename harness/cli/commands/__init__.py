"""Commands of `limitbench` that live outside cli.py (which stays a thin table of commands).

Each module imports only typer at the top; the rest loads inside the command, so
`limitbench --help` stays fast.
"""
