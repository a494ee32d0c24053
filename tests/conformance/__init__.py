"""The conformance suite every engine passes (docs/engines.md): cases.py opens each engine
on a model and computes what its answers must be; test_engines.py checks them."""
