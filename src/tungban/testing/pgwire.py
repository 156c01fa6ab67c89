"""Count the round trips a PostgreSQL client makes, on the wire (issue 15): a TCP relay between
the platform and PostgreSQL that reads the frontend's messages (PostgreSQL 15 §55.7, "Message
Formats") and records one entry per round trip, i.e. per simple ``Query`` (``Q``) and per
extended-protocol ``Sync`` (``S``). Everything is counted: Django's statements, the
``CONN_HEALTH_CHECKS`` ``SELECT 1`` (sent on psycopg's cursor, bypassing Django's execute
wrappers), psycopg's implicit ``BEGIN`` and its ``COMMIT``/``ROLLBACK``, prepared executions
(a ``Bind`` to a statement prepared earlier on the connection is recorded with that
statement's SQL).

Use::

    with WireCounter("127.0.0.1", 5432) as wire:
        # point the client at wire.host / wire.port (ssl and GSS encryption off)
        ...
        wire.clear(); do_one_request(); wire.statements  # -> ["SELECT 1", "SELECT ...", ...]

:meth:`WireCounter.kill` closes every relayed connection at once (both sockets), as a
PostgreSQL restart does to its clients. Test and bench use only; no TLS (the relay cannot read
an encrypted stream: connect with ``sslmode=disable``, ``gssencmode=disable``).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

_PROTOCOL_3 = 196608  # StartupMessage's protocol version 3.0; other untyped codes are SSL/GSS/cancel requests


class WireCounter:
    """A relay on ``127.0.0.1:<ephemeral port>`` to ``upstream_host:upstream_port``; its
    :attr:`statements` lists the SQL text of each round trip, in order, for every connection."""

    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, int(upstream_port))
        self.statements: list[str] = []
        #: Parse messages seen: a statement parsed (and planned) by the server; an execution of a
        #: statement psycopg prepared earlier on the connection sends none.
        self.parses = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self._listener.getsockname()[:2]
        self._sockets: list[socket.socket] = []
        self._closed = False

    def __enter__(self) -> WireCounter:
        threading.Thread(target=self._accept, daemon=True, name="pgwire-accept").start()
        return self

    def __exit__(self, *exc) -> None:
        self._closed = True
        self._listener.close()
        self.kill()

    def clear(self) -> None:
        with self._lock:
            self.statements.clear()
            self.parses = 0

    def kill(self) -> None:
        """Close every relayed connection (client and server side), as a server restart does."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    # --- relay ---------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._frontend, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def _frontend(self, client: socket.socket, server: socket.socket) -> None:
        """Relay the client's bytes, parsing its messages as they pass."""
        buffer = b""
        started = False
        names: dict[bytes, str] = {}  # prepared statement name -> SQL, per connection
        current = ""
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                # Counted before they are passed on: the answer cannot reach the client (and
                # its test read the counts) before this relay has recorded what asked for it.
                buffer += data
                while True:
                    if not started:  # untyped: int32 length, int32 code
                        if len(buffer) < 8:
                            break
                        length, code = struct.unpack("!ii", buffer[:8])
                        if len(buffer) < length:
                            break
                        buffer = buffer[length:]
                        started = code == _PROTOCOL_3
                        continue
                    if len(buffer) < 5:
                        break
                    kind = buffer[:1]
                    (length,) = struct.unpack("!i", buffer[1:5])
                    if len(buffer) < 1 + length:
                        break
                    body, buffer = buffer[5 : 1 + length], buffer[1 + length :]
                    if kind == b"Q":
                        self._record(body.split(b"\0", 1)[0].decode())
                    elif kind == b"P":
                        name, query = body.split(b"\0", 2)[:2]
                        current = query.decode()
                        with self._lock:
                            self.parses += 1
                        if name:
                            names[name] = current
                    elif kind == b"B":
                        statement = body.split(b"\0", 2)[1]
                        if statement:
                            current = names.get(statement, current)
                    elif kind == b"S":
                        self._record(current)
                server.sendall(data)
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_WR)

    def _record(self, sql: str) -> None:
        with self._lock:
            self.statements.append(sql)


@contextlib.contextmanager
def relayed(connection) -> Iterator[WireCounter]:
    """Route the Django PostgreSQL ``connection`` (this thread's) through a :class:`WireCounter`
    for the duration: closed before and after, its ``HOST``/``PORT`` pointed at the relay
    (TLS and GSS encryption off), restored on exit."""
    settings = connection.settings_dict
    saved = {key: settings.get(key) for key in ("HOST", "PORT")}
    saved_options = dict(settings.get("OPTIONS") or {})
    connection.close()
    with WireCounter(settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432) as wire:
        settings.update(HOST=wire.host, PORT=str(wire.port))
        settings["OPTIONS"] = {**saved_options, "sslmode": "disable", "gssencmode": "disable"}
        try:
            yield wire
        finally:
            connection.close()
            settings.update(saved)
            settings["OPTIONS"] = saved_options
