"""Demo data: a generative model of a small shop's catalog and shoppers (see generator.py)."""
