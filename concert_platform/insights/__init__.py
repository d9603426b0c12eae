"""The insights engine's pure logic: booking curves, horizons, baselines, metrics, conformal intervals.

No Dagster and no I/O here: every function takes DataFrames (and dates) and
returns DataFrames or numbers, so the assets in ``defs`` stay thin and the
logic is tested on frames small enough to check by hand.
"""
