"""Named points of a publish where the chaos suite makes the process die or fail.

``CONCERT_FAULT_AT=<point>`` kills the process with SIGKILL when it reaches the
point, as a power cut or the OOM killer would; ``<point>:raise`` raises
`InjectedFault` instead (for in-process tests). Unset, as everywhere outside
the chaos suite, ``reach`` is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

VARIABLE = "CONCERT_FAULT_AT"
AFTER_STAGE = "after_stage"  # every lake file of the publish is staged; the warehouse has not committed
IN_TRANSACTION = "in_transaction"  # the new rows are loaded in the open transaction; swap and record follow
AFTER_COMMIT = "after_commit"  # the warehouse committed; the staged lake files are not moved yet
POINTS = (AFTER_STAGE, IN_TRANSACTION, AFTER_COMMIT)


class InjectedFault(RuntimeError):
    """Raised at a point named by ``CONCERT_FAULT_AT=<point>:raise``."""


def reach(point: str) -> None:
    wanted = os.environ.get(VARIABLE)
    if not wanted:
        return
    name, _, action = wanted.partition(":")
    if name != point:
        return
    if action == "raise":
        raise InjectedFault(f"fault injected at {point} ({VARIABLE}={wanted})")
    os.kill(os.getpid(), signal.SIGKILL)
