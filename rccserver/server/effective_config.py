"""The configuration a command runs with.

With `--config FILE` it is that file. Without, it is the bundled demo
configuration, except that its log, pid and state files live in the current
directory: the package directory may be read-only, and `rccserver -reload`
run from the same directory must find the pid file.
"""
from __future__ import annotations

import os
from pathlib import Path

import attrs

from rccserver.server.config import DEFAULT_CONFIG_PATH, Config, load_config


def load_effective_config(path: str | os.PathLike[str] | None) -> Config:
    if path is not None:
        return load_config(path)
    config = load_config(DEFAULT_CONFIG_PATH)
    cwd = Path.cwd()
    server = attrs.evolve(
        config.server,
        log_file=str(cwd / Path(config.server.log_file).name),
        pid_file=str(cwd / Path(config.server.pid_file).name),
    )
    state = config.state
    if state.file:
        state = attrs.evolve(state, file=str(cwd / Path(state.file).name))
    return attrs.evolve(config, server=server, state=state)
