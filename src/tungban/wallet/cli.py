"""``tungban app``: the command-line front end of the tungban app (for tests, demos and
integrators). It speaks the same protocol as the web app (see :mod:`tungban.wallet.services`)
over HTTP and never imports the platform: the private key stays in a PIN-encrypted PEM file
in the app's home directory (``--home``, ``$TUNGBAN_APP_HOME``, default ``~/.tungban-app``).

Examples::

    tungban app bind --hkid 'A123456(3)' --code K7QP2M9X --pin 123456
    tungban app show http://localhost:8000/app/approve/<id>
    tungban app approve <id> --only name,hkid --pin 123456
    tungban app history               # releases to services and exchanges of my data, newest first
    tungban app consents              # my data-sharing consents (授權數據交換)
    tungban app revoke-consent <consent id>
    tungban app credentials           # my e-licences and e-certificates (電子證照)
    tungban app present <credential id> --disclose age_over_65 --qr
    tungban app pdf <credential id> -o card.pdf
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import getpass
import json
import os
import re
import secrets
import sys
import time
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.jwk import ECKey

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class AppError(Exception):
    """A refused call: ``code`` and ``message`` from the platform's JSON error."""

    def __init__(self, code: str, message: str, status: int = 0):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


def device_proof(key: ECKey, device_id: str, method: str, url: str) -> str:
    """The JWS for ``Authorization: Device <JWS>`` on one call (see
    :func:`tungban.wallet.services.authenticate_device`): ES256 by the device key, ``kid`` the
    device id, ``htm``/``htu`` the call's method and absolute URL, a fresh ``iat`` and ``jti``."""
    payload = {"htm": method, "htu": url, "iat": int(time.time()), "jti": secrets.token_urlsafe(18)}
    return jws.serialize_compact(
        {"alg": "ES256", "kid": device_id, "typ": "dpop+jwt"}, json.dumps(payload).encode(), key
    )


class WalletClient:
    """The app's state and calls. ``home`` holds ``device.json`` and ``device-key.pem``."""

    def __init__(self, home: Path, server: str | None = None, language: str | None = None):
        self.home = Path(home)
        self.meta_path = self.home / "device.json"
        self.key_path = self.home / "device-key.pem"
        self.meta = json.loads(self.meta_path.read_text()) if self.meta_path.exists() else {}
        self.server = (
            server or self.meta.get("server") or os.environ.get("TUNGBAN_SERVER") or "http://localhost:8000"
        ).rstrip("/")
        self.http = requests.Session()
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

    def load_key(self, pin: str) -> ECKey:
        """Decrypt the device key with the PIN. :raises AppError: ``not_bound``, ``wrong_pin``."""
        if not self.key_path.exists() or "device_id" not in self.meta:
            raise AppError("not_bound", "This app is not bound to an account yet: run 'tungban app bind'.")
        try:
            private = serialization.load_pem_private_key(self.key_path.read_bytes(), password=pin.encode())
        except (ValueError, TypeError):
            raise AppError("wrong_pin", "The PIN is wrong.") from None
        return ECKey.import_key(private, {"kid": self.meta["device_id"]})

    # --- binding ---
    def _finish_binding(self, binding: dict, pin: str, name: str) -> dict:
        if self.key_path.exists():
            raise AppError(
                "already_bound",
                f"This app ({self.home}) is already bound. One device serves one account; use another --home.",
            )
        if len(pin) < 6 or not pin.isdigit():
            raise AppError("weak_pin", "The PIN must be at least 6 digits.")
        private = ec.generate_private_key(ec.SECP256R1())
        key = ECKey.import_key(private)
        proof = jws.serialize_compact(
            {"alg": "ES256"}, json.dumps({"binding_id": binding["binding_id"], "nonce": binding["nonce"]}).encode(), key
        )
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
        self.home.mkdir(parents=True, exist_ok=True)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(pin.encode()),
        )
        self.key_path.write_bytes(pem)
        self.key_path.chmod(0o600)
        self.meta = {"server": self.server, "device_id": result["device_id"], "resident": result["resident"]}
        self.meta_path.write_text(json.dumps(self.meta, ensure_ascii=False, indent=2))
        return result

    def bind(self, hkid: str, code: str, pin: str, name: str = "CLI") -> dict:
        """Bind with an activation code from a counter."""
        binding = self._call("POST", "/api/v1/wallet/bindings", {"hkid": hkid, "activation_code": code})
        return self._finish_binding(binding, pin, name)

    def register(self, details: dict, pin: str, name: str = "CLI") -> dict:
        """Self-register (proofed against the population register) and bind."""
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

    def decide(self, ref: str, pin: str, decision: str, only: list[str] | None = None) -> dict:
        """Approve (all requested fields, or ``only`` these plus essential ones) or decline."""
        key = self.load_key(pin)
        rid = self.request_id(ref)
        req = self._call("GET", f"/api/v1/wallet/requests/{rid}", device_key=key)
        names = [c["name"] for c in req["claims"]]
        if decision == "approve":
            chosen = (
                names if only is None else [c["name"] for c in req["claims"] if c["name"] in only or c["essential"]]
            )
        else:
            chosen = []
        payload = {
            "request_id": rid,
            "requester": req["requester"]["id"],
            "nonce": req["nonce"],
            "decision": decision,
            "claims": sorted(chosen),
        }
        if req.get("documents"):
            # A signing approval covers exactly these document digests (sole control).
            payload["documents"] = [d["sha256"] for d in req["documents"]]
        if req.get("terms_sha256"):
            # A consent approval covers exactly the terms shown (data user, product, purpose, limits).
            payload["terms"] = req["terms_sha256"]
        for name, value in (req.get("binds") or {}).items():
            payload.setdefault(name, value)  # any other value the request binds, repeated as is
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

    def exchanges(self, pin: str) -> list:
        """Who used my data: exchanges between organisations under my consents, newest first."""
        return self._call("GET", "/api/v1/exchange/app/history", device_key=self.load_key(pin))

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

    def pending(self, pin: str) -> list:
        return self._call("GET", "/api/v1/wallet/pending", device_key=self.load_key(pin))

    def unbind(self, pin: str) -> None:
        self._call("POST", "/api/v1/wallet/unbind", device_key=self.load_key(pin))
        self.key_path.unlink(missing_ok=True)
        self.meta_path.unlink(missing_ok=True)


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


def _pin(args) -> str:
    return args.pin or os.environ.get("TUNGBAN_APP_PIN") or getpass.getpass("PIN: ")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tungban app", description="The tungban app on the command line.")
    p.add_argument(
        "--home",
        default=os.environ.get("TUNGBAN_APP_HOME", str(Path.home() / ".tungban-app")),
        help="app data directory",
    )
    p.add_argument(
        "--server", default=None, help="platform URL (default: the bound one, $TUNGBAN_SERVER or http://localhost:8000)"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--lang",
        default=os.environ.get("TUNGBAN_APP_LANG"),
        help="language of names and labels from the platform: en or zh-hant",
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bind", help="bind with an HKID number and an activation code")
    b.add_argument("--hkid", required=True)
    b.add_argument("--code", required=True)
    b.add_argument("--pin")
    r = sub.add_parser("register", help="self-register and bind")
    for f in ("hkid", "family-name", "given-name", "dob", "gender"):
        r.add_argument(f"--{f}", required=True)
    for f in (
        "chinese-name",
        "email",
        "phone",
        "address",
        "pin",
        "guardian-name",
        "guardian-hkid",
        "guardian-relationship",
    ):
        r.add_argument(f"--{f}", default="")
    for name in ("show", "approve", "decline"):
        c = sub.add_parser(name, help=f"{name} a request (id or QR URL)")
        c.add_argument("request")
        c.add_argument("--pin")
        if name == "approve":
            c.add_argument("--only", help="comma-separated claims to release (essential ones are always included)")
    helps = {
        "history": "who used my data: releases to services and exchanges between organisations",
        "consents": "list my data-sharing consents",
        "exchanges": "list exchanges of my data between organisations",
    }
    for name in ("history", "consents", "exchanges", "me", "pending", "unbind"):
        sub.add_parser(name, help=helps.get(name)).add_argument("--pin")
    c = sub.add_parser("revoke-consent", help="revoke a data-sharing consent (its id from 'consents')")
    c.add_argument("consent")
    c.add_argument("--pin")
    sub.add_parser("credentials", help="list my e-licences and e-certificates (電子證照)").add_argument("--pin")
    c = sub.add_parser(
        "present", help="show an e-licence to be verified with 認證易: prints the presentation and its link"
    )
    c.add_argument("credential", help="the credential's id (from 'credentials'), or its first 8 or more characters")
    c.add_argument(
        "--disclose", help="comma-separated claims to show, e.g. age_over_65 (default: your name only; '' for none)"
    )
    c.add_argument("--aud", help="audience of the holder's proof (default: 認證易, <platform>/verify)")
    c.add_argument("--nonce", help="the nonce a verifier gave you (default: random)")
    c.add_argument("--qr", action="store_true", help="also print the 認證易 link as a QR code in the terminal")
    c.add_argument("--pin")
    c = sub.add_parser("pdf", help="save an e-licence or e-certificate as a PDF")
    c.add_argument("credential", help="the credential's id (from 'credentials')")
    c.add_argument("-o", "--output", help="file to write (default: <type>-<id>.pdf in the current directory)")
    c.add_argument("--pin")
    return p


def duration_text(seconds: int) -> str:
    """``2592000`` → "30 days", ``5400`` → "1 hour 30 minutes" (at most two units)."""
    parts = []
    rest = int(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        n, rest = divmod(rest, size)
        if n:
            parts.append(f"{n} {unit}{'' if n == 1 else 's'}")
    return " ".join(parts[:2]) or "0 seconds"


def uses_text(max_uses: int | None) -> str:
    if max_uses is None:
        return "any number of times while valid"
    return "once" if max_uses == 1 else f"up to {max_uses} times"


OUTCOMES = {
    "consent_revoked": "consent revoked",
    "consent_expired": "consent expired",
    "consent_exhausted": "consent used up",
    "consent_declined": "consent declined",
    "consent_pending": "consent not given yet",
    "product_not_covered": "not covered by the consent",
    "account_suspended": "account suspended",
    "no_record": "the provider holds no record on you",
    "provider_unavailable": "provider not available",
    "provider_timeout": "provider did not answer in time",
    "provider_error": "provider error",
    "provider_bad_data": "provider's data failed the checks",
}


def _party(p: dict | None) -> str:
    if not p:
        return "?"
    return f"{p['name_en']} ({p['name_zh']})" if p.get("name_zh") and p["name_zh"] != p["name_en"] else p["name_en"]


def exchange_line(e: dict) -> str:
    """One exchange of the history, in words."""
    verb = "received" if e["delivered"] else "asked for"
    source = f" from {e['data_provider']['name_en']}" if e.get("data_provider") else ""
    line = f"{e['data_user']['name_en']} {verb} {e['product']['name_en']}{source}"
    if e.get("purpose"):
        line += f" — purpose: {e['purpose']}"
    outcome = (
        "delivered" if e["delivered"] else f"refused ({OUTCOMES.get(e['outcome'], e['outcome'].replace('_', ' '))})"
    )
    return f"{line} — {outcome}"


def _print_consent_terms(c: dict) -> None:
    print(f"  data user (who asks):      {_party(c['data_user'])}")
    print(f"  data provider (from whom): {_party(c['data_provider'])}")
    print(f"  data:                      {_party(c['product'])}  [{c['product']['id']}]")
    for f in c["product"].get("fields", []):
        print(f"    - {f['label_en']} / {f['label_zh']}")
    print(f"  purpose:                   {c['purpose']}")
    print(f"  valid for:                 {duration_text(c['duration_seconds'])} once given")
    print(f"  uses:                      {uses_text(c['max_uses'])}")
    print("  You can revoke this consent at any time: tungban app revoke-consent " + c["consent_id"])


def _instant(iso: str) -> float:
    """Seconds since the epoch of an ISO 8601 time (``Z`` or an offset), to order entries."""
    try:
        return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except (ValueError, AttributeError):
        return 0.0


def _print(args, data) -> None:
    if args.json or not isinstance(data, (dict, list)):
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if args.cmd == "show":
        if data["kind"] == "consent":
            print(
                f"{data['requester']['name_zh']} / {data['requester']['name_en']} asks for your consent to obtain data about you (answer until {data['expires_at']}):"
            )
        else:
            print(
                f"{data['requester']['name_zh']} / {data['requester']['name_en']} asks to {data['kind']} (until {data['expires_at']}):"
            )
        for c in data["claims"]:
            print(f"  [{'required' if c['essential'] else 'optional'}] {c['name']}: {c['value']}")
        if data.get("reason"):
            print(f"  reason: {data['reason']}")
        if data.get("offline_access_days"):
            print(f"  stays signed in for up to {data['offline_access_days']} days (offline access)")
        for d in data.get("documents", []):
            print(f"  sign: {d['name']}  SHA-256 {d['sha256']}")
        if data.get("consent"):
            _print_consent_terms(data["consent"])
            print(f"  terms SHA-256: {data.get('terms_sha256')}")
    elif args.cmd == "history":
        entries = [
            (h["released_at"], f"{h['requester_name_en']} ({h['kind']}): {', '.join(h['claims'])}")
            for h in data["releases"]
        ]
        entries += [(e["at"], exchange_line(e)) for e in data["exchanges"]]
        for at, line in sorted(entries, key=lambda e: _instant(e[0]), reverse=True):
            print(f"{at}  {line}")
        if not entries:
            print("Nothing has been shared yet.")
    elif args.cmd == "exchanges":
        for e in data:
            print(f"{e['at']}  {exchange_line(e)}")
    elif args.cmd == "consents":
        for c in data:
            uses = f"{c['uses']} of {c['max_uses']}" if c["max_uses"] is not None else f"{c['uses']} (no limit)"
            print(
                f"{c['id']}  [{c['status']}]  {c['data_user']['name_en']} ← {c['data_provider']['name_en']}: {c['product']['name_en']}"
            )
            print(f"    purpose: {c['purpose']}")
            if c.get("valid_until"):
                print(f"    valid {c.get('granted_at')} → {c['valid_until']}; used {uses}")
            if c.get("revoked_at"):
                print(f"    revoked {c['revoked_at']}")
        if not data:
            print("No data-sharing consents.")
    elif args.cmd == "revoke-consent":
        print(
            f"Consent {data['id']} is {data['status']}: {data['data_user']['name_en']} can no longer obtain {data['product']['name_en']}."
        )
    elif args.cmd == "credentials":
        for c in data:
            print(f"{c['id']}  [{credential_state(c)}]  {c['type_name']} — {c['issuer_name']}  ({c['type']})")
            for claim in c["claims"]:
                print(f"    {claim['label']}: {claim['value']}  [{claim['name']}]")
            print(
                f"    issued {c['issued_at']}"
                + (f", expires {c['expires_at']}" if c.get("expires_at") else ", does not expire")
                + ("" if c["holder_bound"] else "; not bound to this app's key")
            )
        if not data:
            print("You hold no e-licences or e-certificates.")
    elif args.cmd == "present":
        shown = ", ".join(data["disclosed"]) or "none (only that you hold this credential)"
        print(f"Claims shown: {shown}")
        if data["holder_proof"]:
            print(
                "Signed by this app just now: 認證易 accepts it for a few minutes. Run 'present' again to show it later."
            )
        else:
            print("Not bound to this app's key: anyone holding this text can show it.")
        print()
        print(data["presentation"])
        print()
        print(f"Open in 認證易: {data['link']}")
        if data.get("qr"):
            print()
            print(data["qr"], end="")
    elif args.cmd == "pdf":
        print(f"Saved {data['path']} ({data['bytes']} bytes).")
    else:
        print(json.dumps(data, ensure_ascii=False, indent=2))


def credential_state(c: dict) -> str:
    """``valid``, ``suspended``, ``revoked`` or ``expired`` (a revocation or suspension first)."""
    if c["status"] != "valid":
        return c["status"]
    return "expired" if c.get("expired") else "valid"


def _terminal_qr(text: str) -> str:
    """``text`` as a QR code drawn with characters (segno), for a phone camera to scan."""
    import io

    import segno

    try:
        qr = segno.make(text, error="l", micro=False)
    except segno.DataOverflowError:
        return "(This is too much for one QR code: show fewer claims with --disclose.)\n"
    out = io.StringIO()
    qr.terminal(out=out, compact=True)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    app = WalletClient(Path(args.home), args.server, args.lang)
    try:
        if args.cmd == "bind":
            data = app.bind(args.hkid, args.code, _pin(args))
        elif args.cmd == "register":
            details = {
                "hkid": args.hkid,
                "family_name_en": args.family_name,
                "given_name_en": args.given_name,
                "name_zh": args.chinese_name,
                "date_of_birth": args.dob,
                "gender": args.gender,
                "email": args.email,
                "phone": args.phone,
                "residential_address": args.address,
            }
            if args.guardian_name:
                details["guardian"] = {
                    "name": args.guardian_name,
                    "hkid": args.guardian_hkid,
                    "relationship": args.guardian_relationship,
                }
            data = app.register(details, _pin(args))
        elif args.cmd == "show":
            data = app.show(args.request, _pin(args))
        elif args.cmd in ("approve", "decline"):
            only = [s.strip() for s in args.only.split(",")] if getattr(args, "only", None) else None
            data = app.decide(args.request, _pin(args), args.cmd, only)
        elif args.cmd == "unbind":
            app.unbind(_pin(args))
            data = {"status": "unbound"}
        elif args.cmd == "history":
            pin = _pin(args)
            data = {"releases": app.history(pin), "exchanges": app.exchanges(pin)}
        elif args.cmd == "revoke-consent":
            data = app.revoke_consent(args.consent, _pin(args))
        elif args.cmd == "present":
            pin = _pin(args)
            disclose = None if args.disclose is None else [s for s in args.disclose.split(",") if s.strip()]
            made = app.presentation(args.credential, pin, disclose, aud=args.aud, nonce=args.nonce)
            data = {k: made[k] for k in ("presentation", "link", "disclosed", "holder_proof")}
            if args.qr:
                data["qr"] = _terminal_qr(made["link"])
        elif args.cmd == "pdf":
            content = app.credential_pdf(args.credential, _pin(args))
            path = Path(args.output or f"credential-{args.credential[:8]}.pdf")
            path.write_bytes(content)
            data = {"path": str(path), "bytes": len(content)}
        else:
            data = getattr(app, args.cmd)(_pin(args))
    except AppError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    except requests.RequestException as exc:
        print(f"error: cannot reach {app.server}: {exc}", file=sys.stderr)
        return 3
    _print(args, data)
    return 0
