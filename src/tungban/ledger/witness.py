"""A witness of tungban's transparency log (issue 14 item 10): run it outside the platform,
on a schedule, to catch a log cut back or rewritten after a head was published.

It needs nothing of the platform but its public endpoints and the log's public keys:

* ``GET /api/v1/log/heads?start=SEQ`` — every signed tree head the log made, in order
  (append-only, paged);
* ``GET /api/v1/log/consistency?first=M&second=N`` — RFC 9162 §2.1.4 consistency proofs;
* the platform's JWKS (``/oidc/jwks``), or a JWKS file you keep (``--keys``).

Each run it loads the last head it accepted from its state file, checks that this head is
still published unchanged, then every newer head in order: the JWS signature (ES256,
``typ`` "tree-head+jwt", joserfc) and that its claims are the head's; that sizes and
timestamps never go back; the same root for the same size; and the consistency proof from
the last accepted head to it (RFC 9162 §2.1.4.2, :func:`tungban.ledger.merkle.verify_consistency`).
It saves the newest head only when all of that holds. The first run trusts the latest head
(trust on first use) unless ``--from-start`` checks the whole history. Last, the newest
published head must be at most ``--max-age`` seconds old (default 2 × the platform's head
interval, :func:`default_max_age`, 1200 s with the platform's defaults): the platform
publishes a head at least every interval, so an operator serving a frozen list of heads is
``STALE``, not "OK" forever.

What a witness does not catch alone: a platform that shows one history to this witness and
another (a fork) to someone else. Each party is only safe against the heads it compared; the
resident's apps keep the largest head they accepted and ask for consistency proofs from it,
and require their head to be one published here, but two parties shown different forks find
out only when they compare heads (witness cosignatures / gossip: not done yet).

Exit status: 0 every new head is consistent; 1 an inconsistency (``ROLLBACK``,
``INCONSISTENT``, a bad signature, a published head removed or changed, ``STALE``) — the state
file keeps the last good head, so every later run fails too until someone looks; 2 the witness
could not run (network, the platform answering an error such as 503, bad state file). The exchange gateway's records are leaves of the
same log (kind ``exchange``), so this one witness covers both.

Usage (Django-free: only ``requests`` and ``joserfc``)::

    python -m tungban.ledger.witness --base https://tungban.example --state witness.json
    tungban witness --base https://tungban.example --state witness.json --keys jwks.json
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable

from . import merkle

HEAD_TYP = "tree-head+jwt"
EXIT_OK, EXIT_INCONSISTENT, EXIT_ERROR = 0, 1, 2


class Inconsistent(Exception):
    """The log's published heads contradict the head the witness kept (exit status 1)."""


class Stale(Inconsistent):
    """Every head checked is consistent, but the newest is older than the bound: the log is
    not being published (exit status 1). ``head`` is the newest head, still kept."""

    def __init__(self, message: str, head: dict):
        super().__init__(message)
        self.head = head


def default_max_age() -> int:
    """The default bound on the newest head's age, seconds: 2 × the interval at which the
    platform publishes a head when nothing is written, read from the same environment variables
    as the platform (so set them where the witness runs if the platform changed them): the
    scheduled head is due every ``$TUNGBAN_TREE_HEAD_INTERVAL`` (default 300) but only made by
    the worker's run every ``$TUNGBAN_PURGE_INTERVAL`` (default 600), so the interval is the
    larger of the two and the default bound 1200 s (review of issue 14, H1 a)."""
    try:
        interval = max(
            int(os.environ.get("TUNGBAN_TREE_HEAD_INTERVAL", "300")),
            int(os.environ.get("TUNGBAN_PURGE_INTERVAL", "600")),
        )
    except ValueError:
        interval = 600
    return 2 * interval


class CannotRun(Exception):
    """The witness could not fetch or read what it needs (exit status 2)."""


def _b64(text: str) -> bytes:
    text = str(text).strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


class Witness:
    """One run of the witness against ``base`` with a ``requests``-like ``http`` session.

    :param keys: a JWKS (dict) to verify heads with; fetched from ``{base}/oidc/jwks`` when None.
    """

    def __init__(self, base: str, http, keys: dict | None = None, out: Callable[[str], None] = print):
        from joserfc.jwk import KeySet

        self.base = base.rstrip("/")
        self.http = http
        self.out = out
        if keys is None:
            keys = self._get("/oidc/jwks")
        try:
            self.keyset = KeySet.import_key_set(keys)
        except Exception as exc:  # noqa: BLE001 - any malformed JWKS
            raise CannotRun(f"the log's public keys are not a usable JWKS: {exc}") from None

    def _get(self, path: str, params: dict | None = None) -> dict:
        try:
            r = self.http.get(f"{self.base}{path}", params=params, timeout=30)
            body = r.json()
        except Exception as exc:  # noqa: BLE001 - network or not JSON
            raise CannotRun(f"GET {path} failed: {exc}") from None
        if r.status_code != 200:
            raise _Refused(r.status_code, body)
        return body

    def heads(self, start: int):
        """Published heads from ``seq`` ``start`` on, following the pages."""
        while True:
            page = self._get("/api/v1/log/heads", {"start": start})
            yield from page["heads"]
            if page.get("next") is None:
                return
            start = page["next"]

    def check_signature(self, head: dict) -> None:
        """:raises Inconsistent: the JWS does not verify with the log's keys or its claims
        differ from the head."""
        from joserfc import jwt
        from joserfc.errors import JoseError

        seq = head.get("seq")
        try:
            token = jwt.decode(head["signature"], self.keyset, algorithms=["ES256"])
        except (JoseError, ValueError, KeyError) as exc:
            raise Inconsistent(
                f"BAD SIGNATURE: head #{seq} (tree size {head.get('tree_size')}) does not verify with the log's keys ({type(exc).__name__})"
            ) from None
        if token.header.get("typ") != HEAD_TYP:
            raise Inconsistent(f"BAD SIGNATURE: head #{seq} is signed with typ {token.header.get('typ')!r}")
        for name in ("tree_size", "root_hash", "timestamp"):
            if token.claims.get(name) != head.get(name):
                raise Inconsistent(
                    f"BAD SIGNATURE: head #{seq}: the signed {name} ({token.claims.get(name)!r}) differs from the published one ({head.get(name)!r})"
                )

    def check_extends(self, held: dict, head: dict) -> None:
        """:raises Inconsistent: ``head`` does not extend ``held`` (RFC 9162 §2.1.4)."""
        old, new = held["tree_size"], head["tree_size"]
        old_root, new_root = _b64(held["root_hash"]), _b64(head["root_hash"])
        if new < old:
            raise Inconsistent(
                f"ROLLBACK: head #{head['seq']} has {new} leaves, fewer than the {old} of head #{held['seq']} you kept: the log was cut back"
            )
        if head["timestamp"] < held["timestamp"]:
            raise Inconsistent(f"ROLLBACK: head #{head['seq']} is timestamped before head #{held['seq']} you kept")
        if new == old:
            if new_root != old_root:
                raise Inconsistent(
                    f"INCONSISTENT: head #{head['seq']} has another root for the same {new} leaves as head #{held['seq']}: the log was rewritten"
                )
            return
        path: list[bytes] = []
        if old > 0:
            try:
                proof = self._get("/api/v1/log/consistency", {"first": old, "second": new})
            except _Refused as exc:
                raise Inconsistent(
                    f"INCONSISTENT: no consistency proof from {old} to {new} leaves ({exc.code}): the log no longer has the tree you kept"
                ) from None
            path = [_b64(h) for h in proof.get("consistency_path", [])]
        if not merkle.verify_consistency(old, new, old_root, new_root, path):
            raise Inconsistent(
                f"INCONSISTENT: the log of {new} leaves (head #{head['seq']}) does not extend the {old} leaves of head #{held['seq']} you kept: entries were rewritten or removed"
            )

    def run(
        self, held: dict | None, *, from_start: bool = False, max_age: int | None = None, now_ms: int | None = None
    ) -> dict:
        """Check every head published since ``held`` (the head kept last time, or None) and
        return the newest one, to keep; then that it is at most ``max_age`` seconds old
        (None: no bound) at ``now_ms`` (ms since the epoch, default now).

        :raises Stale: the newest head is too old (review of issue 14, H1 a).
        :raises Inconsistent: as the module says. :raises CannotRun: network or data errors.
        """
        newest, message = self._run(held, from_start=from_start)
        if max_age is not None:
            import time

            now_ms = int(time.time() * 1000) if now_ms is None else now_ms
            age = (now_ms - int(newest["timestamp"])) // 1000
            if age > max_age:
                raise Stale(
                    f"STALE: the newest published head (#{newest['seq']}, {newest['tree_size']} leaves) is {age} s old, "
                    f"more than {max_age} s: the platform is not publishing its log (or serves a frozen list of heads)",
                    newest,
                )
        self.out(message)
        return newest

    def _run(self, held: dict | None, *, from_start: bool = False) -> tuple[dict, str]:
        if held is None:
            if not from_start:
                latest = self.latest()
                if latest is None:
                    raise CannotRun("the log has published no head yet")
                self.check_signature(latest)
                return latest, f"first run: trusting head #{latest['seq']} ({latest['tree_size']} leaves)"
            start = 1
        else:
            start = held["seq"]
        checked = 0
        first = True
        for head in self.heads(start):
            if first and held is not None:
                first = False
                if head.get("seq") != held["seq"] or any(
                    head.get(k) != held.get(k) for k in ("tree_size", "root_hash", "timestamp", "signature")
                ):
                    raise Inconsistent(
                        f"INCONSISTENT: head #{held['seq']} you kept ({held['tree_size']} leaves) is no longer published as it was: the history of heads was cut back or rewritten"
                    )
                continue
            first = False
            self.check_signature(head)
            if held is not None:
                self.check_extends(held, head)
            held = head
            checked += 1
        if first and held is not None:
            raise Inconsistent(
                f"INCONSISTENT: head #{held['seq']} you kept ({held['tree_size']} leaves) is no longer published: the history of heads was cut back"
            )
        if held is None:
            raise CannotRun("the log has published no head yet")
        return (
            held,
            f"OK: {checked} new head(s) checked; the log of {held['tree_size']} leaves (head #{held['seq']}) is consistent with every head seen before",
        )

    def latest(self) -> dict | None:
        """The newest published head (None for none)."""
        latest = self._get("/api/v1/log/heads", {"start": 1}).get("latest")
        if not latest:
            return None
        heads = self._get("/api/v1/log/heads", {"start": latest})["heads"]
        return heads[-1] if heads else None


def check_record(log: dict | None, reference: str, record: dict, keyset, kind: str = "exchange") -> str | None:
    """The resident's app checks one of its history entries is in the log (issue 14 item 10):
    ``log`` as the platform sends it with the entry (``{"leaf_index", "leaf_body",
    "inclusion_path", "tree_head", "record"}``), ``reference`` the entry's id and ``record``
    the logged fields as the app reads them from what it shows. Returns None when verified,
    else what failed, in words:

    the tree head's JWS (ES256, ``typ`` tree-head+jwt) must verify with ``keyset`` (the
    platform JWKS) and its claims be the head's; the leaf must be of ``kind`` for
    ``reference`` and fix SHA-256 of the canonical JSON of ``record``; and the RFC 9162
    §2.1.3.2 inclusion proof of SHA-256(0x00 ‖ leaf body) must lead to the head's root.
    """
    from joserfc import jwt
    from joserfc.errors import JoseError

    from .canonical import canonical

    if not log:
        return "not in the public log"
    head = log.get("tree_head") or {}
    try:
        token = jwt.decode(head["signature"], keyset, algorithms=["ES256"])
    except (JoseError, ValueError, KeyError):
        return "the log's signed tree head does not verify"
    if token.header.get("typ") != HEAD_TYP or any(
        token.claims.get(k) != head.get(k) for k in ("tree_size", "root_hash", "timestamp")
    ):
        return "the log's signed tree head does not verify"
    try:
        body = json.loads(log["leaf_body"])
        digest = hashlib.sha256(canonical(record).encode("utf-8")).hexdigest()
        if body.get("kind") != kind or body.get("ref") != reference or body.get("record_sha256") != digest:
            return "the logged record differs from what is shown"
        included = merkle.verify_inclusion(
            merkle.leaf_hash(log["leaf_body"]),
            int(log["leaf_index"]),
            int(head["tree_size"]),
            [_b64(h) for h in log["inclusion_path"]],
            _b64(head["root_hash"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return "the log's answer is malformed"
    if not included:
        return "its inclusion proof does not lead to the signed tree head"
    return None


HEAD_FIELDS = ("seq", "tree_size", "root_hash", "timestamp", "signature")


def check_head(head: dict, kept: dict | None, get: Callable[[str, dict], dict]) -> tuple[str | None, dict | None]:
    """The resident's app ties a signed tree head it was shown (its signature already
    verified, :func:`check_record`) to the published log and to the largest head it accepted
    before (issue 14 review, finding H1 b and c): ``head`` must be listed unchanged in
    ``/api/v1/log/heads`` at its ``seq``; and it must be ``kept`` (same size, same root) or
    extend it, by the RFC 9162 §2.1.4.2 consistency proof from ``/api/v1/log/consistency``.

    ``get(path, params)`` fetches a platform JSON endpoint and raises on any failure.
    Returns ``(problem, head to keep)``: ``(None, the larger of kept and head)`` when it
    holds, else ``(what failed in words, None)``. This catches a head signed for a private
    fork and a log cut back or rewritten under the app; it cannot catch a platform showing the
    same fork to everyone who never compares heads with a witness (docs/architecture.md).
    """
    seq = head.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        return "the signed tree head is not one the platform published (it has no seq)", None
    try:
        listed = get("/api/v1/log/heads", {"start": seq}).get("heads") or []
    except Exception:  # noqa: BLE001 - any failure: not verified
        return "the published heads could not be fetched to check the signed tree head", None
    if not listed or any(listed[0].get(k) != head.get(k) for k in HEAD_FIELDS):
        return "the signed tree head is not one the platform published (/api/v1/log/heads)", None
    if kept is None:
        return None, {k: head[k] for k in HEAD_FIELDS}
    old, new = int(kept["tree_size"]), int(head["tree_size"])
    try:
        old_root, new_root = _b64(kept["root_hash"]), _b64(head["root_hash"])
    except ValueError:
        return "the log's answer is malformed", None
    if new < old:
        return (
            f"the log ({new} entries) is smaller than the head this app accepted before ({old} entries): "
            "it was cut back or this is a fork",
            None,
        )
    if new == old:
        if new_root != old_root:
            return f"the log of {new} entries has another root than the head this app accepted before", None
        return None, kept
    path: list[bytes] = []
    if old > 0:
        try:
            proof = get("/api/v1/log/consistency", {"first": old, "second": new})
            path = [_b64(h) for h in proof.get("consistency_path", [])]
        except Exception:  # noqa: BLE001 - refused or malformed: not verified
            path = None
    if path is None or not merkle.verify_consistency(old, new, old_root, new_root, path):
        return (
            f"the log of {new} entries does not extend the head of {old} entries this app accepted before: "
            "entries were rewritten or removed",
            None,
        )
    return None, {k: head[k] for k in HEAD_FIELDS}


class _Refused(Exception):
    def __init__(self, status: int, body):
        self.status = status
        self.code = body.get("error", status) if isinstance(body, dict) else status
        super().__init__(f"{status} {self.code}")


def load_state(path: str) -> dict | None:
    """The head kept in the state file, or None when there is no file yet.

    :raises CannotRun: the file exists but is not a head."""
    try:
        with open(path, encoding="utf-8") as f:
            state = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CannotRun(f"cannot read the state file {path}: {exc}") from None
    if not isinstance(state, dict) or not {"seq", "tree_size", "root_hash", "timestamp", "signature"} <= set(state):
        raise CannotRun(f"the state file {path} does not hold a head (seq, tree_size, root_hash, timestamp, signature)")
    return state


def save_state(path: str, head: dict) -> None:
    """Write ``head`` to ``path`` atomically (a crash leaves the old or the new file)."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".witness-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({k: head[k] for k in ("seq", "tree_size", "root_hash", "timestamp", "signature")}, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main(argv=None, *, http=None, out: Callable[[str], None] = print) -> int:
    """The command line (see the module docstring); returns the exit status."""
    p = argparse.ArgumentParser(
        prog="tungban witness", description="Check that tungban's transparency log only grew since the head you kept."
    )
    p.add_argument("--base", required=True, help="the platform's base URL, e.g. https://tungban.example")
    p.add_argument("--state", required=True, help="file keeping the last head accepted (created on the first run)")
    p.add_argument("--keys", help="a JWKS file with the log's public keys (default: fetch {base}/oidc/jwks)")
    p.add_argument(
        "--from-start",
        action="store_true",
        help="on the first run, check every head since the first, not only the latest",
    )
    p.add_argument(
        "--max-age",
        type=int,
        default=None,
        help="seconds the newest published head may be old before the log is STALE "
        "(default: 2 × max($TUNGBAN_TREE_HEAD_INTERVAL, $TUNGBAN_PURGE_INTERVAL), i.e. 1200)",
    )
    args = p.parse_args(argv)
    max_age = args.max_age if args.max_age is not None else default_max_age()
    if http is None:
        import requests

        http = requests.Session()
    try:
        held = load_state(args.state)
        keys = None
        if args.keys:
            try:
                with open(args.keys, encoding="utf-8") as f:
                    keys = json.load(f)
            except (OSError, ValueError) as exc:
                raise CannotRun(f"cannot read the keys file {args.keys}: {exc}") from None
        newest = Witness(args.base, http, keys, out=out).run(held, from_start=args.from_start, max_age=max_age)
    except Stale as exc:
        save_state(args.state, exc.head)  # every head up to it is consistent
        out(str(exc))
        return EXIT_INCONSISTENT
    except Inconsistent as exc:
        out(str(exc))
        out(
            f"The witness keeps head #{held['seq'] if held else '?'} in {args.state}; investigate before trusting the log."
        )
        return EXIT_INCONSISTENT
    except CannotRun as exc:
        out(f"ERROR: {exc}")
        return EXIT_ERROR
    except _Refused as exc:  # e.g. 503 during an outage: not an inconsistency (review 14, L4)
        out(f"ERROR: the platform answered {exc.status} ({exc.code}); the witness could not run, try again later")
        return EXIT_ERROR
    save_state(args.state, newest)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
