"""Module loggers that never carry personal data.

Every geoland logger comes from :func:`get_logger`: it masks anything shaped like a CCCD or CMND number
(9 or 12 digits standing alone) in the final message, as a second line of defence behind the rule that
messages name files, jobs, codes and counts, never people. Names cannot be recognised by their shape:
they are simply never passed to a logger (``tests/`` checks a whole pipeline run and the web app).
The CLI prints warnings and above on standard error; ``GEOLAND_LOG_LEVEL=INFO`` shows job starts and ends.
"""

from __future__ import annotations

import logging
import os

from identifiers.cccd import mask_id_numbers_in_text


class MaskIdNumbers(logging.Filter):
    """Replace ID-number-shaped digits in a record's message with their masked form."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it."""
        message = record.getMessage()
        masked = mask_id_numbers_in_text(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def get_logger(name: str) -> logging.Logger:
    """The logger of a geoland module (or the web app), with the ID-number mask attached."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, MaskIdNumbers) for f in logger.filters):
        logger.addFilter(MaskIdNumbers())
    return logger


def configure_cli_logging() -> None:
    """One line per record on standard error, at ``GEOLAND_LOG_LEVEL`` (default WARNING)."""
    level = os.environ.get("GEOLAND_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=level if level in logging.getLevelNamesMapping() else "WARNING",
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
