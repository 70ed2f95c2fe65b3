"""Benchmark report for the subscription portal (`make bench`, i.e. `python -m bench`). See bench/__main__.py.

Deliberately empty of imports: the cold-start child processes run as `python -m bench._child`, and nothing of the app
may be imported before their timed section.
"""
