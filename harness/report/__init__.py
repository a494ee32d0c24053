"""Reports: aggregate runs, fit scaling laws, plot, and render markdown."""
