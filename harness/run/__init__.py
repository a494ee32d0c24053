"""The stages of `limitbench run`, in the order a unit passes through them.

  plan.py      suite -> validated tasks with sampled rows x expanded variants (fails fast)
  load.py      one variant: its backend built, then its transform knobs applied
  measure.py   the measured window: profilers around dispatch, repeated to a minimum
  dispatch.py  one backend call per request kind, answers routed back per sample
  runner.py    every unit of the plan: requests -> measure -> scores -> Record -> store

Executors (harness.executors) decide where units run; they call runner.run_unit.
"""
