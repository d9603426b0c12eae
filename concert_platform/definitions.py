"""The Dagster code location (``dagster dev`` and ``dg`` load ``defs`` from here).

Settings are read when Dagster loads the location, not when this module is
imported, so importing it in tests or tools reads no environment.
"""

import dagster as dg

from concert_platform.defs.build import build_definitions
from concert_platform.settings import Settings


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings())
