"""Progress bars for long jobs: counts, rate and time left on stderr, only when a person is watching."""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def progress_bar(total: int | None, unit: str, *, enabled: bool = True, desc: str | None = None):
    """A tqdm bar on standard error, with counts and rate.

    A tqdm bar on stderr; silent when not enabled or stderr is not a terminal (unless
    GEOLAND_PROGRESS=1 forces it, e.g. for a batch log).
    """
    from tqdm import tqdm

    show = shown(enabled)
    with tqdm(total=total, unit=f" {unit}", unit_scale=True, disable=not show, desc=desc, file=sys.stderr,
              dynamic_ncols=True, smoothing=0.1) as bar:
        yield bar


def shown(enabled: bool = True) -> bool:
    """Whether a bar would be drawn: asked for, and stderr a terminal (or GEOLAND_PROGRESS=1).

    Callers skip the count a bar needs when it would not be drawn.
    """
    return enabled and (os.environ.get("GEOLAND_PROGRESS") == "1" or sys.stderr.isatty())
