"""Pure recommendation algorithms: NumPy/SciPy arrays and frozen dataclasses in and out.

Nothing here imports Django, so the same code is benchmarked, evaluated and served.
"""
