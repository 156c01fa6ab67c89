"""``tungban app``: the command-line front end of the tungban app (for tests, demos and
integrators): argparse and printing on top of the client SDK, :mod:`tungban.wallet.client`,
which speaks the same protocol as the web app over HTTP and never imports the platform. The
private key stays in the app's home directory, sealed under the PIN with Argon2id (``device-key.json``) (``--home``,
``$TUNGBAN_APP_HOME``, default ``~/.tungban-app``).

Examples::

    tungban app bind --hkid 'A123456(3)' --code K7QP2M9X --pin 123456
    tungban app show http://localhost:8000/app/approve/<id>
    tungban app approve <id> --only name,hkid --pin 123456   # asks for the sign-in page's number
    tungban app approve <id> --code 47 --pin 123456
    tungban app history               # releases to services and exchanges of my data, newest first
    tungban app consents              # my data-sharing consents (授權數據交換)
    tungban app inbox                 # my messages from departments, with their verified sender
    tungban app revoke-consent <consent id>
    tungban app credentials           # my e-licences and e-certificates (電子證照)
    tungban app present <credential id> --disclose age_over_65 --qr
    tungban app pdf <credential id> -o card.pdf
    tungban app personal-code --verifier counter --show name --qr   # 個人碼 for one verifier
    tungban app personal-code keys -o platform-keys.json            # keep the keys to check offline
    tungban app personal-code verify '<code>' --verifier counter --jwks platform-keys.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import sys
from pathlib import Path

import requests

# The client SDK lives in tungban.wallet.client; these names are re-exported because other
# code (tests, benchmarks) imports them from here.
from tungban.wallet.client import (  # noqa: F401
    NAME_CLAIMS,
    UUID_RE,
    AppError,
    WalletClient,
    check_pin,
    decision_payload,
    device_proof,
    verifier_audience,
    verify_link,
    verify_personal_code,
)


def _pin(args, *, new: bool = False) -> str:
    """The PIN: ``--pin``, else ``$TUNGBAN_APP_PIN``, else asked on the terminal (twice for a
    ``new`` PIN, which must follow :func:`check_pin`). Without a terminal to ask on (a pipe,
    cron, CI) it says how to give it instead of failing (issue 16 item 1).

    :raises AppError: ``pin_required``, ``pin_mismatch``, ``weak_pin``."""
    pin = args.pin or os.environ.get("TUNGBAN_APP_PIN")
    if pin:
        return pin
    if not sys.stdin.isatty():
        raise AppError(
            "pin_required",
            "No terminal to ask for the PIN: give it with --pin NNNNNN or in the environment variable TUNGBAN_APP_PIN.",
        )
    try:
        pin = getpass.getpass("Choose a PIN (at least 6 digits): " if new else "PIN: ")
        if new:
            check_pin(pin)
            if getpass.getpass("Type the PIN again: ") != pin:
                raise AppError("pin_mismatch", "The two PINs differ. Nothing was sent: run the command again.")
    except (EOFError, KeyboardInterrupt):
        raise AppError("pin_required", "No PIN was given: give it with --pin or TUNGBAN_APP_PIN.") from None
    return pin


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
            c.add_argument(
                "--code",
                help="the number shown on the sign-in page where you started (asked for when needed and not given)",
            )
            c.add_argument(
                "--choice",
                help="the id of the option to answer a request's question with, e.g. the company to act for "
                "(see 'show'; the only option is chosen when there is one)",
            )
    helps = {
        "history": "who used my data: releases to services and exchanges between organisations",
        "consents": "list my data-sharing consents",
        "exchanges": "list exchanges of my data between organisations",
        "inbox": "list my messages from departments (notifications), each with its verified sender",
        "bindings": "list my cross-boundary bindings with partner platforms (跨境綁定)",
    }
    for name in ("history", "consents", "exchanges", "inbox", "me", "pending", "unbind", "bindings"):
        sub.add_parser(name, help=helps.get(name)).add_argument("--pin")
    c = sub.add_parser("remove-binding", help="remove a cross-boundary binding (its id from 'bindings')")
    c.add_argument("binding")
    c.add_argument("--pin")
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
    c = sub.add_parser(
        "personal-code",
        help="個人碼: make a personal code for a verifier, list verifiers, keep the platform's keys, or verify a code",
    )
    c.add_argument("action", nargs="?", choices=["make", "verifiers", "keys", "verify"], default="make")
    c.add_argument("text", nargs="?", help="verify: the code (its text; '-' reads it from standard input)")
    c.add_argument("--verifier", help="the verifier's id (see 'personal-code verifiers'); verify: the one you are")
    c.add_argument(
        "--show", default="", help="make: comma-separated claims to show: name, name_zh, tier (default none)"
    )
    c.add_argument("--qr", action="store_true", help="make: also print the code as a QR code in the terminal")
    c.add_argument("--jwks", help="verify: the platform's keys saved with 'keys' (offline); default: fetch them")
    c.add_argument("-o", "--output", help="keys: file to write (default: print)")
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
    return f"{line} — {outcome}{log_text(e)}"


def log_text(e: dict) -> str:
    """Whether the app verified the exchange is in the public transparency log (issue 14
    item 10): the leaf, the signed tree head and the inclusion proof; empty when not checked."""
    check = e.get("log_check")
    if check is None:
        return ""
    if check["verified"]:
        return f" — in the public log (entry {e['log']['leaf_index']}, verified)"
    if not e.get("log"):
        return " — not in the public log"
    return f" — NOT VERIFIED in the public log: {check['problem']}"


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


def origin_text(origin: dict | None) -> str:
    """Where a request shown on a sign-in page came from, in words (empty for other requests):
    "opened 2026-12-04T15:04:05+00:00 in Firefox on Mac OS X, from network address 203.0.113.7"."""
    if not origin:
        return ""
    browser = origin.get("browser") or "an unknown browser"
    if origin.get("os"):
        browser += f" on {origin['os']}"
    text = f"opened {origin.get('started_at', '?')} in {browser}"
    return text + (f", from network address {origin['ip']}" if origin.get("ip") else "")


def _ask_code(req: dict) -> str:
    """Prompt for the sign-in page's number, after saying where the request came from."""
    if not sys.stdin.isatty():
        raise AppError("code_required", "Give the number shown on the sign-in page where you started: --code NN.")
    r = req["requester"]
    print(f"{r['name_zh']} / {r['name_en']}: sign-in page {origin_text(req.get('origin'))}.", file=sys.stderr)
    print(
        "Approve only if you opened that page yourself, on a screen in front of you. "
        "If someone sent you the link or the number, decline.",
        file=sys.stderr,
    )
    return input("Number shown on the sign-in page: ")


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
        if data.get("origin"):
            print(f"  sign-in page {origin_text(data['origin'])}")
        if data.get("code_required"):
            print("  approving asks for the number shown on that page; if you did not open it yourself, decline")
        for c in data["claims"]:
            print(f"  [{'required' if c['essential'] else 'optional'}] {c['name']}: {c['value']}")
        for line in data.get("details") or []:
            # what the requester asks the app to show, e.g. a cross-boundary binding's consent (issue 23)
            print(f"  {line['label']}: {line['value']}")
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
    elif args.cmd == "inbox":
        for m in data:
            sender = m["verified_sender"]
            shown = f"verified sender: {sender['name_en']} / {sender['name_zh']}" if sender else "NOT VERIFIED"
            print(f"{m['created_at']}  {'  ' if m['read'] else '* '}{m['subject_en']}  [{shown}]")
            print(f"    {m['body_en']}")
        if not data:
            print("No messages.")
    elif args.cmd == "bindings":
        for b in data:
            p = b["partner"]
            print(f"{b['id']}  {p['name_zh']} / {p['name_en']}, bound {b['created_at']}")
            print(f"    legal basis: {p['legal_basis_en']} (filing reference {p['filing_reference']})")
            print(f"    may cross: sub, acr{''.join(', ' + c for c in b['claims'])}")
        if not data:
            print("No cross-boundary bindings.")
    elif args.cmd == "remove-binding":
        print(f"Binding {data['id']} with {data['partner']['name_en']} removed: its services' sign-ins were ended.")
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
    elif args.cmd == "personal-code":
        _print_personal_code(args, data)
    else:
        print(json.dumps(data, ensure_ascii=False, indent=2))


def _print_personal_code(args, data: dict) -> None:
    if args.action == "verifiers":
        for v in data["verifiers"]:
            print(f"{v['id']}: {v['name']}")
    elif args.action == "keys":
        print(f"Saved the platform's keys to {data['path']}." if data.get("path") else json.dumps(data["jwks"]))
    elif args.action == "verify":
        if data["valid"]:
            print(f"VALID personal code for {data['verifier']}, made at {data['presented_at']}.")
            print(f"  identifier at {data['verifier']}: {data['sub']}")
            for name, value in data["claims"].items():
                print(f"  {name}: {value}")
        else:
            print("NOT VALID:")
            for p in data["problems"]:
                print(f"  {p['code']}: {p['message']}")
    else:
        shown = ", ".join(data["shown"]) or "only your identifier for this verifier"
        print(f"Personal code for {data['verifier']['name']} ({shown}); valid for {data['max_age']} s:")
        print()
        print(data["code"])
        if data.get("qr"):
            print()
            print(data["qr"], end="")


def _personal_code(app: WalletClient, args) -> dict:
    if args.action == "verifiers":
        return {"verifiers": app.personal_code_verifiers(_pin(args))}
    if args.action == "keys":
        jwks = app.platform_jwks()
        if args.output:
            Path(args.output).write_text(json.dumps(jwks))
        return {"jwks": jwks, "path": args.output}
    if not args.verifier:
        raise AppError("verifier_required", "Name the verifier with --verifier (see 'personal-code verifiers').")
    if args.action == "verify":
        text = sys.stdin.read() if args.text in (None, "-") else args.text
        jwks = json.loads(Path(args.jwks).read_text()) if args.jwks else app.platform_jwks()
        return verify_personal_code(text, jwks, args.verifier, app.server)
    made = app.personal_code(args.verifier, _pin(args), [s for s in args.show.split(",") if s.strip()])
    if args.qr:
        made["qr"] = _terminal_qr(made["code"])
    return made


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
            app.check_bindable()  # before asking for a PIN or sending the code (issue 16 item 1)
            data = app.bind(args.hkid, args.code, _pin(args, new=True))
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
            app.check_bindable()
            data = app.register(details, _pin(args, new=True))
        elif args.cmd == "show":
            data = app.show(args.request, _pin(args))
        elif args.cmd in ("approve", "decline"):
            only = [s.strip() for s in args.only.split(",")] if getattr(args, "only", None) else None
            app.code_prompt = _ask_code
            data = app.decide(
                args.request,
                _pin(args),
                args.cmd,
                only,
                code=getattr(args, "code", None),
                choice=getattr(args, "choice", None),
            )
        elif args.cmd == "unbind":
            app.unbind(_pin(args))
            data = {"status": "unbound"}
        elif args.cmd == "history":
            pin = _pin(args)
            data = {"releases": app.history(pin), "exchanges": app.exchanges(pin)}
        elif args.cmd == "revoke-consent":
            data = app.revoke_consent(args.consent, _pin(args))
        elif args.cmd == "remove-binding":
            data = app.remove_binding(args.binding, _pin(args))
        elif args.cmd == "present":
            pin = _pin(args)
            disclose = None if args.disclose is None else [s for s in args.disclose.split(",") if s.strip()]
            made = app.presentation(args.credential, pin, disclose, aud=args.aud, nonce=args.nonce)
            data = {k: made[k] for k in ("presentation", "link", "disclosed", "holder_proof")}
            if args.qr:
                data["qr"] = _terminal_qr(made["link"])
        elif args.cmd == "personal-code":
            data = _personal_code(app, args)
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
