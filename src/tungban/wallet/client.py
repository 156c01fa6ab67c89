"""The tungban app's client SDK: the protocol of :mod:`tungban.wallet.services` spoken over
HTTP, without importing the platform. The private key stays in the app's home directory,
sealed under the PIN with a memory-hard KDF (:func:`seal_key`); the HTTP session is injectable (any ``requests.Session``-like object),
so tests run the same client in-process (:mod:`tungban.testing.http`) and integrators can add
retries, proxies or certificates.

:class:`WalletClient` is the app; :func:`device_proof` builds the ``Authorization: Device``
proof of one call; :func:`verifier_audience` and :func:`verify_link` shape presentations for
認證易. :mod:`tungban.wallet.cli` is the ``tungban app`` command line on top of it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import requests
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from joserfc import jws
from joserfc.jwk import ECKey, KeySet

from tungban.ledger import witness

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def check_pin(pin: str) -> None:
    """The app's PIN rule: at least 6 digits (ASCII). :raises AppError: ``weak_pin``."""
    if len(pin) < 6 or not pin.isascii() or not pin.isdigit():
        raise AppError("weak_pin", "The PIN must be at least 6 digits.")


class AppError(Exception):
    """A refused call: ``code`` and ``message`` from the platform's JSON error."""

    def __init__(self, code: str, message: str, status: int = 0):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


#: How the device key is sealed under the PIN (issue 13 item 9): Argon2id (RFC 9106), 256 MiB
#: of memory (``memory_cost`` in KiB), 3 passes, 1 lane. Measured on the development machine
#: (2 cores, cryptography 50, 2026-12-04): 0.66–0.73 s per unlock; at that cost an offline
#: search of all 10^6 six-digit PINs takes about 8 CPU-days per core and 256 MiB per guess,
#: where PBKDF2 with 2,048 iterations (the PKCS#8 PEM written before) fell in about 14 minutes.
#: ``TUNGBAN_APP_KDF_MEMORY_KIB`` and ``TUNGBAN_APP_KDF_ITERATIONS`` override the cost (tests,
#: very small devices); a key sealed with less than the current cost is resealed on unlock.
DEFAULT_KDF = {"alg": "argon2id", "memory_cost": 256 * 1024, "iterations": 3, "lanes": 1}
SEALED_FORMAT = "tungban-device-key/2"


def kdf_params() -> dict:
    """The KDF parameters new seals use: :data:`DEFAULT_KDF`, with ``memory_cost`` (KiB, at
    least 8 per lane) and ``iterations`` from ``TUNGBAN_APP_KDF_MEMORY_KIB`` and
    ``TUNGBAN_APP_KDF_ITERATIONS`` when set. :raises ValueError: a value that is no integer."""
    params = dict(DEFAULT_KDF)
    for name, env in (("memory_cost", "TUNGBAN_APP_KDF_MEMORY_KIB"), ("iterations", "TUNGBAN_APP_KDF_ITERATIONS")):
        if os.environ.get(env):
            params[name] = max(int(os.environ[env]), 8 * params["lanes"] if name == "memory_cost" else 1)
    return params


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(pin: str, kdf: dict) -> bytes:
    if kdf.get("alg") != "argon2id":
        raise AppError("bad_key_file", f"Unknown key protection {kdf.get('alg')!r}.")
    return Argon2id(
        salt=_b64d(kdf["salt"]),
        length=32,
        iterations=int(kdf["iterations"]),
        lanes=int(kdf["lanes"]),
        memory_cost=int(kdf["memory_cost"]),
    ).derive(pin.encode())


def seal_key(private: ec.EllipticCurvePrivateKey, pin: str, kdf: dict | None = None) -> dict:
    """The device key sealed under ``pin``: ``{"format", "kdf": {alg, memory_cost (KiB),
    iterations, lanes, salt}, "nonce", "ciphertext"}`` (base64url). A 256-bit key is derived
    from the PIN with Argon2id (RFC 9106; ``cryptography``'s implementation) and a random
    16-byte salt, and encrypts the PKCS#8 DER key with AES-256-GCM (``format`` as associated
    data): a wrong PIN fails the tag. ``kdf``: parameters without salt (default
    :func:`kdf_params`)."""
    kdf = {**(kdf or kdf_params()), "salt": _b64e(secrets.token_bytes(16))}
    nonce = secrets.token_bytes(12)
    der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    sealed = AESGCM(_derive(pin, kdf)).encrypt(nonce, der, SEALED_FORMAT.encode())
    return {"format": SEALED_FORMAT, "kdf": kdf, "nonce": _b64e(nonce), "ciphertext": _b64e(sealed)}


def unseal_key(sealed: dict, pin: str) -> ec.EllipticCurvePrivateKey:
    """The device key of :func:`seal_key`'s output. :raises AppError: ``wrong_pin``,
    ``bad_key_file`` (not a sealed key this app can read)."""
    try:
        if sealed.get("format") != SEALED_FORMAT:
            raise AppError("bad_key_file", "The device key file is in an unknown format.")
        key = _derive(pin, sealed["kdf"])
        der = AESGCM(key).decrypt(_b64d(sealed["nonce"]), _b64d(sealed["ciphertext"]), SEALED_FORMAT.encode())
    except InvalidTag:
        raise AppError("wrong_pin", "The PIN is wrong.") from None
    except (KeyError, TypeError, ValueError, AttributeError):
        raise AppError("bad_key_file", "The device key file is damaged.") from None
    return serialization.load_der_private_key(der, password=None)


def normalize_code(text: str) -> str:
    """A typed number as the platform compares it: Unicode NFKC (full-width digits ``４７``, as a
    Chinese keyboard may give, become ``47``) without spaces. The web app does the same
    (``lib/decision.js``)."""
    return "".join(unicodedata.normalize("NFKC", str(text)).split())


def decision_payload(
    req: dict, decision: str, claims: list[str], code: str | None = None, choice: str | None = None
) -> dict:
    """The decision JWS payload for ``req`` (as ``GET /requests/{id}`` returns it), checked by
    :func:`tungban.wallet.services.decide`: ``{request_id, requester, nonce, decision, claims
    (sorted; none when declining)}``, the values the request binds, and for an approval with a
    ``code`` (when ``code_required``) the number typed (:func:`normalize_code`), and for an approval of a
    request that asks a question (``choice``: :mod:`tungban.wallet.choices`) the chosen option's id
    (``None`` when there is none). The web app builds the same
    (``decisionPayload`` in ``lib/decision.js``; protocol vectors check both)."""
    payload = {
        "request_id": req["id"],
        "requester": req["requester"]["id"],
        "nonce": req["nonce"],
        "decision": decision,
        "claims": sorted(claims) if decision == "approve" else [],
    }
    if req.get("documents"):
        # A signing approval covers exactly these document digests (sole control).
        payload["documents"] = [d["sha256"] for d in req["documents"]]
    if req.get("terms_sha256"):
        # A consent approval covers exactly the terms shown (data user, product, purpose, limits).
        payload["terms"] = req["terms_sha256"]
    for name, value in (req.get("binds") or {}).items():
        payload.setdefault(name, value)  # any other value the request binds, repeated as is
    if decision == "approve" and req.get("code_required") and code is not None:
        payload["code"] = normalize_code(code)
    if decision == "approve" and req.get("choice"):
        payload["choice"] = choice
    return payload


def shown_record(entry: dict) -> dict:
    """The logged fields of an exchange as the app shows it: the server's ``log.record``
    with what the app displays (id, data user, product, consent, outcome) put over it, so
    the leaf's digest checks what the resident sees, not only what the server says."""
    record = dict((entry.get("log") or {}).get("record") or {})
    shown = {
        "id": entry["id"],
        "data_user": entry["data_user"]["id"],
        "product": entry["product"]["id"],
        "consent": entry.get("consent_id"),
    }
    if entry.get("state", "completed") == "completed":  # an attempt's leaf is its start: no outcome yet
        shown["outcome"] = entry["outcome"]
    record.update(shown)
    return record


def device_proof(key: ECKey, device_id: str, method: str, url: str) -> str:
    """The JWS for ``Authorization: Device <JWS>`` on one call (see
    :func:`tungban.wallet.services.authenticate_device`): ES256 by the device key, ``kid`` the
    device id, ``htm``/``htu`` the call's method and absolute URL, a fresh ``iat`` and ``jti``."""
    payload = {"htm": method, "htu": url, "iat": int(time.time()), "jti": secrets.token_urlsafe(18)}
    return jws.serialize_compact(
        {"alg": "ES256", "kid": device_id, "typ": "dpop+jwt"}, json.dumps(payload).encode(), key
    )


class WalletClient:
    """The app's state and calls. ``home`` holds ``device.json`` and ``device-key.json``
    (the key sealed under the PIN, :func:`seal_key`; a ``device-key.pem`` of earlier versions,
    PKCS#8 under PBKDF2, is read once and replaced by it).

    :param server: the platform's base URL (default: the bound one, ``$TUNGBAN_SERVER`` or
        ``http://localhost:8000``).
    :param language: ``Accept-Language`` for names and labels (``en`` or ``zh-hant``).
    :param session: the HTTP session, anything with ``requests.Session``'s ``request()``
        and ``headers`` (default: a new ``requests.Session``); e.g.
        :class:`tungban.testing.http.InProcessSession` in tests.
    """

    def __init__(
        self,
        home: Path,
        server: str | None = None,
        language: str | None = None,
        *,
        session: requests.Session | None = None,
    ):
        self.home = Path(home)
        self.meta_path = self.home / "device.json"
        self.key_path = self.home / "device-key.json"
        self.legacy_key_path = self.home / "device-key.pem"  # before issue 13 item 9
        self._unlocked: tuple[str, ECKey] | None = None
        #: Asked for the number a sign-in page shows when :meth:`decide` approves without one.
        self.code_prompt: Callable[[dict], str] | None = None
        self.meta = json.loads(self.meta_path.read_text()) if self.meta_path.exists() else {}
        self.server = (
            server or self.meta.get("server") or os.environ.get("TUNGBAN_SERVER") or "http://localhost:8000"
        ).rstrip("/")
        self.http = session if session is not None else requests.Session()
        if language:
            # Names and labels (e.g. of e-licences) come back in this language.
            self.http.headers["Accept-Language"] = language

    # --- plumbing ---
    def _call(self, method: str, path: str, body: dict | None = None, device_key: ECKey | None = None):
        headers = {"Accept": "application/json"}
        if device_key is not None:
            headers["Authorization"] = "Device " + self._proof(device_key, method, self.server + path)
        resp = self.http.request(method, self.server + path, json=body, headers=headers, timeout=30)
        if resp.status_code == 204:
            return None
        try:
            data = resp.json()
        except ValueError:
            raise AppError("bad_response", f"HTTP {resp.status_code} from {path}", resp.status_code) from None
        if resp.status_code >= 400:
            raise AppError(data.get("error", "error"), data.get("message", ""), resp.status_code)
        return data

    def _download(self, method: str, path: str, device_key: ECKey, body: dict | None = None) -> tuple[bytes, str]:
        """A device call that answers with a file: ``(content, media type)``."""
        headers = {"Authorization": "Device " + self._proof(device_key, method, self.server + path)}
        resp = self.http.request(method, self.server + path, json=body, headers=headers, timeout=60)
        if resp.status_code >= 400:
            try:
                data = resp.json()
            except ValueError:
                raise AppError("bad_response", f"HTTP {resp.status_code} from {path}", resp.status_code) from None
            raise AppError(data.get("error", "error"), data.get("message", ""), resp.status_code)
        return resp.content, resp.headers.get("Content-Type", "").split(";")[0]

    def _proof(self, key: ECKey, method: str, url: str) -> str:
        return device_proof(key, self.meta["device_id"], method, url)

    def _write_sealed(self, private: ec.EllipticCurvePrivateKey, pin: str) -> None:
        """Seal the key under ``pin`` into ``device-key.json`` (owner-only, replaced atomically)."""
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = self.key_path.with_name(self.key_path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(seal_key(private, pin), out)
        os.replace(tmp, self.key_path)

    def load_key(self, pin: str) -> ECKey:
        """Unseal the device key with the PIN (Argon2id, about 0.7 s; kept for this object's
        later calls with the same PIN). A key file of an earlier version (PKCS#8 PEM under
        PBKDF2) or one sealed at a lower cost than :func:`kdf_params` is resealed now.

        :raises AppError: ``not_bound``, ``wrong_pin``, ``bad_key_file``."""
        if self._unlocked and hmac.compare_digest(self._unlocked[0].encode(), pin.encode()):
            return self._unlocked[1]
        if "device_id" not in self.meta or not (self.key_path.exists() or self.legacy_key_path.exists()):
            raise AppError("not_bound", "This app is not bound to an account yet: run 'tungban app bind'.")
        if self.key_path.exists():
            try:
                sealed = json.loads(self.key_path.read_text())
            except ValueError:
                raise AppError("bad_key_file", "The device key file is damaged.") from None
            private = unseal_key(sealed, pin)
            current, stored = kdf_params(), sealed["kdf"]
            if any(int(stored.get(k, 0)) < current[k] for k in ("memory_cost", "iterations")):
                self._write_sealed(private, pin)
        else:
            try:
                private = serialization.load_pem_private_key(self.legacy_key_path.read_bytes(), password=pin.encode())
            except (ValueError, TypeError):
                raise AppError("wrong_pin", "The PIN is wrong.") from None
            self._write_sealed(private, pin)  # migrate: from now on only the Argon2id seal
            self.legacy_key_path.unlink()
        key = ECKey.import_key(private, {"kid": self.meta["device_id"]})
        self._unlocked = (pin, key)
        return key

    # --- binding ---
    def check_bindable(self, pin: str | None = None) -> None:
        """Everything about a binding that can be checked on this device, before an activation
        code is sent (issue 16 item 1): the app is not bound yet, its data directory can be
        written, and ``pin`` (when given) follows the rules (:func:`check_pin`).

        :raises AppError: ``already_bound``, ``app_home_unusable``, ``weak_pin``."""
        if self.key_path.exists() or self.legacy_key_path.exists():
            raise AppError(
                "already_bound",
                f"This app ({self.home}) is already bound. One device serves one account; use another --home.",
            )
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            probe = self.home / f".write-test-{secrets.token_hex(4)}"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise AppError(
                "app_home_unusable",
                f"The app cannot keep its key in {self.home} ({exc.strerror or exc}). "
                "Choose a directory you can write with --home or $TUNGBAN_APP_HOME.",
            ) from None
        if pin is not None:
            check_pin(pin)

    def _finish_binding(self, binding: dict, pin: str, name: str) -> dict:
        private = ec.generate_private_key(ec.SECP256R1())
        key = ECKey.import_key(private)
        proof = jws.serialize_compact(
            {"alg": "ES256"}, json.dumps({"binding_id": binding["binding_id"], "nonce": binding["nonce"]}).encode(), key
        )
        # Sealed before the platform is told, so a bound key is never lost to a full disk.
        pending = self.key_path.with_name(self.key_path.name + ".pending")
        fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(seal_key(private, pin), out)
        try:
            result = self._call(
                "POST",
                f"/api/v1/wallet/bindings/{binding['binding_id']}/complete",
                {
                    "public_jwk": key.as_dict(private=False),
                    "proof": proof,
                    "platform": "cli",
                    "name": name,
                },
            )
        except BaseException:
            pending.unlink(missing_ok=True)
            raise
        os.replace(pending, self.key_path)
        self.meta = {"server": self.server, "device_id": result["device_id"], "resident": result["resident"]}
        self._unlocked = (pin, ECKey.import_key(private, {"kid": result["device_id"]}))
        self.meta_path.write_text(json.dumps(self.meta, ensure_ascii=False, indent=2))
        return result

    def bind(self, hkid: str, code: str, pin: str, name: str = "CLI") -> dict:
        """Bind with an activation code from a counter. Local checks come first
        (:meth:`check_bindable`), so a refusal here never reaches the platform; a binding
        that fails after the platform accepted the code can be retried with the same code
        (the platform uses it up only when a binding completes, issue 16 item 1).

        :raises AppError: those of :meth:`check_bindable`, and the platform's
            (``bad_activation_code``, ``activation_code_locked``, ``rate_limited`` …)."""
        self.check_bindable(pin)
        binding = self._call("POST", "/api/v1/wallet/bindings", {"hkid": hkid, "activation_code": code})
        return self._finish_binding(binding, pin, name)

    def register(self, details: dict, pin: str, name: str = "CLI") -> dict:
        """Self-register (proofed against the population register) and bind."""
        self.check_bindable(pin)
        binding = self._call("POST", "/api/v1/wallet/registrations", details)
        return self._finish_binding(binding, pin, name)

    # --- requests ---
    @staticmethod
    def request_id(ref: str) -> str:
        match = UUID_RE.search(ref)
        if not match:
            raise AppError("bad_reference", "Give a request id or the URL from the QR code.")
        return match.group(0)

    def show(self, ref: str, pin: str) -> dict:
        return self._call("GET", f"/api/v1/wallet/requests/{self.request_id(ref)}", device_key=self.load_key(pin))

    def decide(
        self,
        ref: str,
        pin: str,
        decision: str,
        only: list[str] | None = None,
        *,
        code: str | None = None,
        choice: str | None = None,
    ) -> dict:
        """Approve (all requested fields, or ``only`` these plus essential ones) or decline.

        Approving a request shown on a sign-in page (``code_required``) needs ``code``, the
        number that page shows, typed by the resident; without it :attr:`code_prompt` is asked
        (``code_prompt(request) -> str``; the command line prompts), else :class:`AppError`
        ``code_required``. The platform refuses a wrong number (``wrong_code``) and cancels the
        request at the third (``code_attempts_exceeded``).

        A request that asks a question (``choice`` in its details, e.g. which company to act
        for) is answered with ``choice``: an option's ``id``; without it, the only option if
        there is exactly one, else ``None`` (the platform refuses an answer it did not offer)."""
        key = self.load_key(pin)
        rid = self.request_id(ref)
        req = self._call("GET", f"/api/v1/wallet/requests/{rid}", device_key=key)
        names = [c["name"] for c in req["claims"]]
        if decision == "approve":
            chosen = (
                names if only is None else [c["name"] for c in req["claims"] if c["name"] in only or c["essential"]]
            )
            if req.get("code_required") and code is None:
                if self.code_prompt is None:
                    raise AppError(
                        "code_required",
                        "Type the number shown on the sign-in page where you started (--code). "
                        "If you did not start this yourself, decline.",
                    )
                code = self.code_prompt(req)
        else:
            chosen = []
        if choice is None and req.get("choice") and len(req["choice"]["options"]) == 1:
            choice = req["choice"]["options"][0]["id"]
        payload = decision_payload(req, decision, chosen, code, choice)
        signature = jws.serialize_compact(
            {"alg": "ES256", "kid": self.meta["device_id"]}, json.dumps(payload).encode(), key
        )
        return self._call("POST", f"/api/v1/wallet/requests/{rid}/decision", {"signature": signature}, device_key=key)

    def history(self, pin: str) -> list:
        """Releases of e-ME details to online services (logins, form filling, signing)."""
        return self._call("GET", "/api/v1/wallet/history", device_key=self.load_key(pin))

    # --- data sharing (Consented Data Exchange Gateway) ---
    def consents(self, pin: str) -> list:
        """The resident's data-sharing consents (active, declined, revoked, expired, used up)."""
        return self._call("GET", "/api/v1/exchange/app/consents", device_key=self.load_key(pin))

    def revoke_consent(self, consent_id: str, pin: str) -> dict:
        """Revoke a consent; the data user's next request is refused. :raises AppError:
        ``unknown_consent``, ``bad_reference`` (not a consent id)."""
        match = UUID_RE.search(str(consent_id).lower())
        if not match:
            raise AppError("bad_reference", "Give the consent's id (see 'tungban app consents').")
        return self._call(
            "POST", f"/api/v1/exchange/app/consents/{match.group(0)}/revoke", device_key=self.load_key(pin)
        )

    # --- cross-boundary bindings (跨境綁定, issue 23) ---
    def bindings(self, pin: str) -> list:
        """The account's live bindings with partner platforms (each with the legal basis)."""
        return self._call("GET", "/api/v1/federation/app/bindings", device_key=self.load_key(pin))

    def remove_binding(self, binding_id: str, pin: str) -> dict:
        """Remove a binding: the partner's services' tokens are revoked; their next login asks
        again. :raises AppError: ``binding_unknown``, ``bad_reference`` (not a binding id)."""
        match = UUID_RE.search(str(binding_id).lower())
        if not match:
            raise AppError("bad_reference", "Give the binding's id (see 'tungban app bindings').")
        return self._call("DELETE", f"/api/v1/federation/app/bindings/{match.group(0)}", device_key=self.load_key(pin))

    def exchanges(self, pin: str) -> list:
        """Who used my data: exchanges between organisations under my consents, newest first.
        Each is checked against the public transparency log (issue 14 item 10) and gets
        ``log_check``: ``{"verified": bool, "problem": str | None}``
        (:func:`tungban.ledger.witness.check_record`), then its signed tree head against the
        published heads and the largest head this app accepted before, kept in
        ``log-head.json`` (:func:`tungban.ledger.witness.check_head`; issue 14 review, H1)."""
        entries = self._call("GET", "/api/v1/exchange/app/history", device_key=self.load_key(pin))
        keyset = None
        problems: dict[str, str | None] = {}
        for e in entries:
            if e.get("log") and keyset is None:
                keyset = KeySet.import_key_set(self._call("GET", "/oidc/jwks"))
            kind = "exchange" if e.get("state", "completed") == "completed" else "exchange_attempt"
            problems[e["id"]] = witness.check_record(e.get("log"), e["id"], shown_record(e), keyset, kind)
        heads = {
            e["log"]["tree_head"]["signature"]: e["log"]["tree_head"] for e in entries if problems[e["id"]] is None
        }
        head_problems = {}
        for signature, head in sorted(heads.items(), key=lambda item: item[1]["tree_size"]):
            problem, keep = witness.check_head(head, self.kept_head(), self._get_json)
            head_problems[signature] = problem
            if keep is not None:
                self._keep_head(keep)
        for e in entries:
            problem = problems[e["id"]] or (head_problems[e["log"]["tree_head"]["signature"]] if e.get("log") else None)
            e["log_check"] = {"verified": problem is None, "problem": problem}
        return entries

    def _get_json(self, path: str, params: dict) -> dict:
        return self._call("GET", f"{path}?{urlencode(params)}")

    def kept_head(self) -> dict | None:
        """The largest signed tree head this app accepted (``log-head.json``), None before the first."""
        try:
            return json.loads((self.home / "log-head.json").read_text())
        except (OSError, ValueError):
            return None

    def _keep_head(self, head: dict) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        path = self.home / "log-head.json"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(head))
        os.replace(tmp, path)

    # --- e-licences and e-certificates (電子證照) ---
    def credentials(self, pin: str) -> list:
        """My e-licences and e-certificates, newest first: ``id``, ``type``, ``type_name``,
        ``issuer_name``, ``status``, ``expired``, ``claims`` ``[{name, label, value}]``,
        ``sd_jwt`` (as issued), ``holder_bound``, ``verify_uri``..."""
        return self._call("GET", "/api/v1/credentials/app/credentials", device_key=self.load_key(pin))

    def _credential(self, credential_id: str, key: ECKey) -> dict:
        """One of my credentials by its id (or a unique start of it, at least 8 characters)."""
        ref = str(credential_id).strip().lower()
        items = self._call("GET", "/api/v1/credentials/app/credentials", device_key=key)
        found = [c for c in items if c["id"] == ref] or (
            [c for c in items if c["id"].startswith(ref)] if len(ref) >= 8 else []
        )
        if len(found) != 1:
            raise AppError("credential_unknown", "You hold no such credential (see 'tungban app credentials').", 404)
        return found[0]

    def present(
        self,
        credential_id: str,
        pin: str,
        disclose: list[str] | None = None,
        aud: str | None = None,
        nonce: str | None = None,
    ) -> str:
        """A presentation of one of my credentials (SD-JWT §4): the issuer-signed JWT, the
        disclosures of the claims in ``disclose`` (None: the holder's name, as the web app
        ticks by default; ``[]``: none, which
        still shows that I hold a valid credential of its type) and a key-binding JWT signed
        with this device's key (``aud``: 認證易, ``<platform>/verify``, unless given;
        ``nonce``: random unless a verifier gave one). See :meth:`presentation` for the link.

        :raises AppError: ``credential_unknown``; ``claim_unknown`` (a name in ``disclose``
            that the credential does not have); ``credential_bound_elsewhere`` (issued to the
            key of another device: ask the department to issue it again).
        """
        return self.presentation(credential_id, pin, disclose, aud=aud, nonce=nonce)["presentation"]

    def presentation(
        self,
        credential_id: str,
        pin: str,
        disclose: list[str] | None = None,
        aud: str | None = None,
        nonce: str | None = None,
    ) -> dict:
        """As :meth:`present`; returns ``{"presentation", "link" (認證易 with ``#vc=``),
        "disclosed" (claim names), "holder_proof" (a KB-JWT is attached), "credential"}``."""
        from jwcrypto.jwk import JWK
        from sd_jwt.holder import SDJWTHolder

        key = self.load_key(pin)
        credential = self._credential(credential_id, key)
        names = [c["name"] for c in credential["claims"]]
        wanted = (
            [n for n in names if n in NAME_CLAIMS] if disclose is None else [n.strip() for n in disclose if n.strip()]
        )
        unknown = [n for n in wanted if n not in names]
        if unknown:
            raise AppError(
                "claim_unknown", f"This credential has no claim '{unknown[0]}'. Its claims: {', '.join(names)}."
            )
        holder = SDJWTHolder(credential["sd_jwt"])
        cnf = (holder.sd_jwt_payload.get("cnf") or {}).get("jwk")
        if not cnf:
            # Not bound to an app key (issued before this app was bound): no holder's proof.
            holder.create_presentation({n: True for n in wanted})
        else:
            public = key.as_dict(private=False)
            if (cnf.get("x"), cnf.get("y")) != (public["x"], public["y"]):
                raise AppError(
                    "credential_bound_elsewhere",
                    "This credential was issued to another device's key; ask the issuer to issue it again to this app.",
                )
            private = JWK(**{k: v for k, v in key.as_dict(private=True).items() if k in ("kty", "crv", "x", "y", "d")})
            holder.create_presentation(
                {n: True for n in wanted},
                nonce or secrets.token_urlsafe(16),
                aud or verifier_audience(credential["verify_uri"]),
                private,
                "ES256",
            )
        text = holder.sd_jwt_presentation
        return {
            "presentation": text,
            "link": verify_link(credential["verify_uri"], text),
            "disclosed": _disclosed_names(text),
            "holder_proof": bool(cnf),
            "credential": credential,
        }

    # --- personal code (個人碼, issue 16) ---
    def personal_code_verifiers(self, pin: str) -> list:
        """The verifiers I can show a personal code to: ``[{"id", "name"}]``."""
        return self._call("GET", "/api/v1/credentials/app/personal-code/verifiers", device_key=self.load_key(pin))

    def personal_code(self, verifier: str, pin: str, show: list[str] | None = None) -> dict:
        """A personal code for ``verifier`` showing the claims ``show`` (``name``, ``name_zh``,
        ``tier``; default none): a new key is made here for this verifier, the platform binds
        its per-verifier credential to it (this device's proof authorises the call), and the
        code is that credential's presentation with a KB-JWT (``aud`` = the verifier, a random
        ``nonce``, ``iat`` now) by that key (SD-JWT §4.3; ``sd-jwt`` library). A verifier
        accepts it for ``max_age`` seconds (at most 60).

        :returns: ``{"code", "verifier" {id, name}, "shown", "max_age", "expires_at"}``.
        :raises AppError: ``verifier_unknown``; ``claim_unknown`` (not one of the claims).
        """
        from jwcrypto.jwk import JWK
        from sd_jwt.holder import SDJWTHolder

        wanted = [n.strip() for n in (show or []) if n.strip()]
        unknown = [n for n in wanted if n not in ("name", "name_zh", "tier")]
        if unknown:
            raise AppError(
                "claim_unknown", f"A personal code cannot show '{unknown[0]}'. Choose from name, name_zh, tier."
            )
        device_key = self.load_key(pin)
        private = ec.generate_private_key(ec.SECP256R1())
        public = ECKey.import_key(private.public_key()).as_dict(private=False)
        # proof of possession of the new key (issue 16 review L1): a JWS by it over the verifier and this device
        proof = jws.serialize_compact(
            {"alg": "ES256", "typ": "personal-code-pop+jwt"},
            json.dumps({"aud": verifier, "device": self.meta["device_id"], "iat": int(time.time())}).encode(),
            ECKey.import_key(private),
            algorithms=["ES256"],
        )
        made = self._call(
            "POST",
            "/api/v1/credentials/app/personal-code",
            {
                "verifier": verifier,
                "holder_jwk": {k: public[k] for k in ("kty", "crv", "x", "y")},
                "holder_proof": proof,
            },
            device_key=device_key,
        )
        holder = SDJWTHolder(made["sd_jwt"])
        holder.create_presentation(
            {n: True for n in wanted}, secrets.token_urlsafe(12), made["aud"], JWK.from_pyca(private), "ES256"
        )
        return {
            "code": holder.sd_jwt_presentation,
            "verifier": made["verifier"],
            "shown": wanted,
            "max_age": made["max_age"],
            "expires_at": made["expires_at"],
        }

    def platform_jwks(self) -> dict:
        """The platform's published keys (``/oidc/jwks``): keep them to check codes offline."""
        return self._call("GET", "/oidc/jwks")

    def credential_pdf(self, credential_id: str, pin: str) -> bytes:
        """One of my credentials as a PDF (in the ``language`` given to the client)."""
        key = self.load_key(pin)
        credential = self._credential(credential_id, key)
        data, media_type = self._download("GET", f"/api/v1/credentials/app/credentials/{credential['id']}/pdf", key)
        if media_type != "application/pdf":
            raise AppError("bad_response", f"Expected a PDF, got {media_type or 'nothing'}.")
        return data

    @staticmethod
    def qr_svg(text: str) -> bytes:
        """A QR code (SVG) of ``text``, e.g. a presentation's link, drawn here (segno) as the web
        app draws it in the browser: the platform never sees what is shown. Error correction M,
        or L when only that fits. Raises :class:`AppError` ``qr_too_large`` when no QR code
        holds it (show fewer claims)."""
        import io

        import segno

        for error in ("m", "l"):
            try:
                qr = segno.make(text, error=error, boost_error=False, micro=False)
            except segno.DataOverflowError:
                continue
            out = io.BytesIO()
            qr.save(out, kind="svg", scale=4, border=4, xmldecl=False, omitsize=True, light="#fff", svgclass="qr")
            return out.getvalue()
        raise AppError("qr_too_large", "This is too much for one QR code: show fewer claims with --disclose.")

    def me(self, pin: str) -> dict:
        return self._call("GET", "/api/v1/wallet/me", device_key=self.load_key(pin))

    def inbox(self, pin: str) -> list:
        """The resident's messages (issue 16, notifications), newest first, each with
        ``verified_sender``: the sender's names when the platform's signature verifies
        (:func:`verify_message`), else None (do not trust the message)."""
        messages = self._call("GET", "/api/v1/notify/app/inbox", device_key=self.load_key(pin))
        keyset = KeySet.import_key_set(self._call("GET", "/oidc/jwks")) if messages else None
        for m in messages:
            m["verified_sender"] = verify_message(m, keyset)
        return messages

    def pending(self, pin: str) -> list:
        return self._call("GET", "/api/v1/wallet/pending", device_key=self.load_key(pin))

    def unbind(self, pin: str) -> None:
        self._call("POST", "/api/v1/wallet/unbind", device_key=self.load_key(pin))
        self.key_path.unlink(missing_ok=True)
        self.legacy_key_path.unlink(missing_ok=True)
        self.meta_path.unlink(missing_ok=True)
        self._unlocked = None


#: The ``vct`` of a personal code (tungban.credentials.services.personal_code.VCT).
PERSONAL_CODE_VCT = "urn:tungban:personal-code"


def verify_personal_code(text: str, jwks: dict, verifier: str, issuer: str, *, now: float | None = None) -> dict:
    """Check a personal code (個人碼, issue 16) as a verifier, with the platform's keys only
    (``jwks``, e.g. saved from ``/oidc/jwks``): no call is made. The ``sd-jwt`` library checks
    the platform's signature (ES256, the key named by ``kid``), the disclosures and the
    KB-JWT (by ``cnf.jwk``, ``aud`` = ``verifier``, ``sd_hash``; SD-JWT §7.1, §7.3); here:
    ``typ``, ``vct``, ``iss`` = ``issuer``, ``aud`` = ``verifier``, every disclosure signed,
    ``exp``, and a KB-JWT ``iat`` no older than 60 s (5 s leeway). The platform's own
    checker is :func:`tungban.credentials.services.verify_personal_code`; this one needs no
    Django.

    :returns: ``{"valid", "problems" [{code, message}], "verifier", "sub", "claims",
        "presented_at" (ISO)}``.
    """
    import hashlib

    from jwcrypto.jwk import JWK
    from sd_jwt.verifier import SDJWTVerifier

    now = time.time() if now is None else now
    out = {"valid": False, "problems": [], "verifier": verifier, "sub": None, "claims": {}, "presented_at": None}

    def refuse(code: str, message: str) -> dict:
        out["problems"].append({"code": code, "message": message})
        return out

    text = "".join((text or "").split())
    parts = text.split("~")
    try:
        header = json.loads(_b64d(parts[0].split(".")[0]))
        payload = json.loads(_b64d(parts[0].split(".")[1]))
        kb_payload = json.loads(_b64d(parts[-1].split(".")[1])) if len(parts) > 1 and parts[-1] else None
    except (ValueError, IndexError):
        return refuse("malformed", "This is not a personal code.")
    if not isinstance(header, dict) or not isinstance(payload, dict):
        return refuse("malformed", "This is not a personal code.")
    keys = {k.get("kid"): k for k in (jwks or {}).get("keys", []) if isinstance(k, dict)}
    if header.get("alg") != "ES256" or header.get("typ") != "dc+sd-jwt" or header.get("kid") not in keys:
        return refuse("issuer_key_unknown", "The code was not signed with a published key of the platform.")
    if payload.get("vct") != PERSONAL_CODE_VCT or payload.get("iss") != issuer:
        return refuse("not_a_personal_code", "This is not a personal code of this platform.")
    if payload.get("aud") != verifier:
        return refuse("wrong_verifier", "This code was made for another verifier.")
    if not isinstance(kb_payload, dict):
        return refuse("holder_binding_missing", "The holder's app did not sign this code.")
    key = JWK(**keys[header["kid"]])
    try:
        claims = SDJWTVerifier(
            text, lambda iss, hdr: key, expected_aud=verifier, expected_nonce=kb_payload.get("nonce")
        ).get_verified_payload()
    except Exception:  # the library raises plain exceptions
        return refuse("signature_invalid", "A signature on this code does not verify.")
    signed = set(payload.get("_sd") or [])
    for d in parts[1:-1]:
        if _b64e(hashlib.sha256(d.encode("ascii")).digest()) not in signed:
            return refuse("disclosure_invalid", "A detail in the code was altered.")
    if not isinstance(payload.get("exp"), (int, float)) or payload["exp"] < now - 5:
        refuse("credential_expired", "The holder's code has expired.")
    iat = kb_payload.get("iat")
    if not isinstance(iat, (int, float)) or not now - 65 <= iat <= now + 5:
        refuse("presentation_stale", "The code is older than 60 seconds: ask for a fresh one.")
    else:
        out["presented_at"] = dt.datetime.fromtimestamp(iat, dt.UTC).isoformat()
    out["sub"] = payload.get("sub")
    out["claims"] = {k: claims[k] for k in ("name", "name_zh", "tier") if k in claims}
    out["valid"] = not out["problems"]
    return out


def message_content(message: dict) -> dict:
    """What the signature of a message covers (``tungban.notify.services.content_of``)."""
    return {
        "id": message["id"],
        "sender": message["sender"]["id"],
        **{f: message[f] for f in ("subject_en", "subject_zh", "body_en", "body_zh")},
    }


def verify_message(message: dict, keyset: KeySet) -> dict | None:
    """The sender ``{id, name_en, name_zh}`` a message's signature names, when the signature is
    the platform's (JWS ES256, ``typ`` ``notification+jwt``, a key of ``/oidc/jwks``) over this
    message (``jti`` its id, ``content`` SHA-256 of the canonical JSON of what is shown); None
    otherwise (issue 16: a resident can tell a real message from phishing)."""
    import hashlib

    try:
        token = jws.deserialize_compact(message["signature"], keyset, algorithms=["ES256"])
        if token.headers().get("typ") != "notification+jwt":
            return None
        claims = json.loads(token.payload)
    except Exception:
        return None
    content = json.dumps(message_content(message), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if claims.get("jti") != message["id"] or claims.get("content") != hashlib.sha256(content.encode()).hexdigest():
        return None
    sender = claims.get("sender") or {}
    return sender if sender.get("id") == message["sender"]["id"] else None


def verifier_audience(verify_uri: str) -> str:
    """The ``aud`` of a key-binding JWT for 認證易: its page ``<platform>/verify/`` without the
    final slash (what ``tungban.credentials.services.verifier_audience`` expects)."""
    return verify_uri.rstrip("/")


def verify_link(verify_uri: str, presentation: str) -> str:
    """The 認證易 link that opens and checks ``presentation``."""
    return f"{verify_uri}#vc={presentation}"


#: What a presentation shows when the resident does not choose (the web app's default too).
NAME_CLAIMS = ("family_name", "given_name", "name_zh")


def _disclosed_names(presentation: str) -> list[str]:
    """The claim names a presentation discloses (unverified; for printing)."""
    names = []
    for part in presentation.split("~")[1:-1]:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        except ValueError:
            continue
        if isinstance(decoded, list) and len(decoded) == 3:
            names.append(decoded[1])
    return names
