"""Reports, in three layers that import only downwards: analysis/ (numbers derived from
records: aggregates, fits, speeds, comparisons, audits), sections/ (each report section's
markdown, and the figures it links described as data) and render/ (the document, the
matplotlib figures, the HTML page and `limitbench report` in command.py)."""
