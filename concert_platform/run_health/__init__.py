"""What tells run monitoring that a run's worker died, on any host.

- ``heartbeat``: the run worker's heartbeat in the instance's storage (written while a run executes);
- ``health``: alive or dead, from the heartbeat's age (pure);
- ``launcher``: ``HeartbeatRunLauncher``, the DefaultRunLauncher with that health check, for dagster.yaml.
"""
