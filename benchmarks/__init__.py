"""shapserve benchmarks: ours vs shap, side by side on one machine.  Run with ``make bench``.

Timing lives here and only here; the tests assert correctness, never speed.
"""
