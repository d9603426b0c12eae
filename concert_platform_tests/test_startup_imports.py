"""Loading the code location imports no driver, no boto3 and no live client.

Every CLI call, run worker and code server loads the definitions, so what
they import is paid again and again; the S3 client, the warehouse drivers and
the HTTP clients are imported by the code that uses them, in runs that do.
A fresh interpreter is the only place where ``sys.modules`` tells the truth.
"""

import json
import os
import subprocess
import sys

HEAVY = [
    "boto3",
    "botocore",
    "dagster_aws",
    "duckdb",
    "psycopg",
    "psycopg2",
    "sklearn",  # the insights models: imported inside their assets
    "matplotlib",
    "joblib",
    "concert_platform.sources.http",
    "concert_platform.sources.musicbrainz",
    "concert_platform.sources.spotify",
    "concert_platform.sources.ticketmaster",
]
PROGRAM = f"""
import json, sys
import concert_platform.definitions as location
defs = location.defs()
assert defs.get_repository_def().assets_defs_by_key, "no assets loaded"
print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
"""


def test_loading_the_definitions_imports_no_driver_boto3_or_live_client(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONCERT_", "TICKETMASTER_", "SPOTIFY_", "MUSICBRAINZ_"))}
    env.update(
        CONCERT_SOURCES="demo",
        CONCERT_WAREHOUSE_URL=f"duckdb:///{tmp_path / 'w.duckdb'}",
        CONCERT_LAKE_URL=str(tmp_path / "lake"),
        CONCERT_LANDING_URL=str(tmp_path / "landing"),
        PYTHONWARNINGS="ignore",
    )
    done = subprocess.run([sys.executable, "-c", PROGRAM], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
