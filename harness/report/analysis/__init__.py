"""What the report computes from records: the tidy frame, scaling series and fits, speeds you
can rank on, each variant against its base, the deployer's options, the quality-per-cost trend
and the invariance audit. No markdown and no matplotlib here: sections/ words it, render/ draws
and assembles it."""
