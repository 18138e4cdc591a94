"""Cancel the database query of a request whose client has gone away.

A client that closes its connection (a browser tab closed, a script killed, a proxy timing out) no longer
wants the answer, yet its query would run on until the statement timeout. waitress watches the socket while
a request runs (``channel_request_lookahead`` > 0) and puts ``waitress.client_disconnected`` into the WSGI
environ; one watcher thread per app checks the requests in flight a few times a second and sends PostgreSQL a
cancel request for the connection of any whose client is gone. The cancel cannot reach another request's
query: a request is forgotten, under the same lock, before its connection goes back to the pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from geoland.logs import get_logger

log = get_logger(__name__)
ENVIRON_KEY = "waitress.client_disconnected"


class DisconnectWatch:
    """The requests in flight whose client waitress can see, and the watcher thread that cancels their queries.

    Parameters
    ----------
    interval : float
        Seconds between two looks at the requests in flight.
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._watched: dict[int, tuple[Callable[[], bool], object, threading.Event]] = {}
        self._thread: threading.Thread | None = None

    def watch(self, key: int, client_gone: Callable[[], bool], dbapi_connection) -> threading.Event:
        """Watch one request; the event returned is set when its query was cancelled.

        ``client_gone()`` says whether the request's client left; ``dbapi_connection`` (psycopg) is the
        connection to cancel.
        """
        cancelled = threading.Event()
        with self._lock:
            self._watched[key] = (client_gone, dbapi_connection, cancelled)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="geoland-disconnect-watch", daemon=True)
                self._thread.start()
        return cancelled

    def forget(self, key: int) -> None:
        """The request ended: stop watching it (before its connection is returned to the pool)."""
        with self._lock:
            self._watched.pop(key, None)

    def _run(self) -> None:
        stop = threading.Event()
        while not stop.wait(self.interval):
            with self._lock:
                for key, (client_gone, connection, cancelled) in list(self._watched.items()):
                    if client_gone():
                        del self._watched[key]
                        cancelled.set()                 # first: the request may see the cancel at once
                        try:
                            connection.cancel_safe(timeout=5)
                        except Exception as exc:        # the server may be gone too: the timeout still bounds it
                            cancelled.clear()
                            log.warning("could not cancel the query of a closed request: %s", type(exc).__name__)
