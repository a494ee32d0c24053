"""Reports: aggregate runs, fit scaling laws, plot, and render markdown (command.py is
`limitbench report`)."""
