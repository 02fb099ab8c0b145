"""Benchmark of csms: a parking lot of simulated chargers against Home Assistant.

Run it with `script/bench` (see docs/performance.md). Nothing here is part of
the integration; it measures it.
"""
