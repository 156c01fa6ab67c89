"""Demo data: staff (counter officer and supervisor, e-licence officer, admin; the first three
also e-services department officers and approvers), a population register, a resident, the sample online service,
and the exchange gateway's participants (three demo providers, the Transport Department as
data user, a demo bank).

Everything secret (staff passwords and TOTP secrets, client secret, activation codes) is generated here,
at set-up, and written to ``var/`` (git-ignored) — never committed.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from joserfc.jwk import ECKey

from tungban.core.errors import DomainError
from tungban.core.fields import lookup_hash
from tungban.corpid import services as corpid
from tungban.counter import roles
from tungban.counter import services as counter
from tungban.credentials import catalogue as credential_types
from tungban.credentials.models import Issuer
from tungban.eservices import services as eservices
from tungban.eservices.models import DepartmentOfficer
from tungban.exchange import catalogue
from tungban.exchange import services as exchange
from tungban.exchange.constants import CDEG_SCOPE
from tungban.identity import hkid
from tungban.identity import services as identity
from tungban.identity.models import PopulationRecord, Resident
from tungban.miniapps import services as miniapps
from tungban.notify import services as notify
from tungban.oidc import services as oidc
from tungban.oidc.constants import EME_SCOPES
from tungban.opendata import seed as opendata_seed
from tungban.opendata.constants import Role as DataRole
from tungban.payments import services as payments
from tungban.signing.constants import SIGNING_SCOPE
from tungban.wallet import services as wallet

POPULATION = [
    # hkid, surname, given names, chinese, dob, gender
    # prefix + six digits; the check digit is computed
    ("A123456", "CHAN", "Tai Man", "陳大文", dt.date(1958, 3, 14), "male"),
    ("G123456", "WONG", "Siu Ling", "黃小玲", dt.date(1990, 7, 2), "female"),
    ("K543210", "LEE", "Ka Yan", "李嘉欣", dt.date(1985, 11, 20), "female"),
    ("Y654321", "CHEUNG", "Chi Keung", "張志強", dt.date(1972, 1, 5), "male"),
    ("P876543", "HO", "Wing Sze", "何詠詩", dt.date(2011, 5, 1), "female"),
]

SAMPLE_SERVICE = {
    "client_id": "vehicle-licence-demo",
    "name_en": "Transport Department — Vehicle Licence Renewal (demo)",
    "name_zh": "運輸署 — 車輛牌照續期（示範）",
}
SAMPLE_SERVICE_URL = "http://127.0.0.1:8100"
#: The sample service fills its form from e-ME and has the declaration signed (tungban+).
SAMPLE_SERVICE_SCOPES = [*EME_SCOPES, SIGNING_SCOPE, CDEG_SCOPE]
#: The demo mini-program (examples/miniapps/library_card), published by ``tungban demo``.
DEMO_MINIAPP = Path(__file__).resolve().parents[3] / "examples" / "miniapps" / "library_card"
#: The Companies Registry stand-in's register (issue 19): the CR provider serves it, CorpID loads it.
DEMO_COMPANY_REGISTER = Path(__file__).resolve().parents[3] / "examples" / "providers" / "cr_register.json"
#: The demo company whose CorpID the demo resident (its director) has set up.
DEMO_COMPANY_BRN = "21812345"
#: Sha Tin Sample University Limited (the register file; the AI Subsidy Scheme's eligibility register).
DEMO_UNIVERSITY_BRN = "74567890"
#: The mandate the demo offers the demo resident (issue 19's sandbox): Keung Kee Sample
#: Engineering Limited lets him apply for and sign its Certificate of Resident Status.
DEMO_MANDATE = {
    "br_number": "65201587",
    "service": "certificate-of-resident-status-company",
    "actions": ("view", "apply", "sign"),
}
#: The demo data providers of the exchange gateway (examples/providers), on loopback.
PROVIDER_PORTS = {"wsd": 8201, "ird": 8202, "cr": 8203}
#: The demo FPS participant bank (examples/bank; issue 18), on loopback: TUNGBAN_PAYMENTS_BANK_URL's port.
BANK_PORT = 8301
#: The sample service's department as a data user of the exchange gateway.
SAMPLE_DATA_USER = {"id": "td", "name_en": "Transport Department", "name_zh": "運輸署"}
#: The demo's staff: username, role (as printed), counter groups, superuser.
DEMO_STAFF = [
    ("officer", "counter officer", [roles.COUNTER_OFFICERS], False),
    ("supervisor", "counter supervisor", [roles.COUNTER_SUPERVISORS], False),
    ("issuer", "e-licence issuing officer (every bundled issuer)", [], False),
    ("admin", "administrator (Django admin)", [], True),
]
#: The demo's staff in the e-services workbench (``/staff/eservices/``, README step 10):
#: username → [(department, role)]. ``officer`` takes applications and asks for more
#: information; ``supervisor`` approves; the temporary hawker licence (FEHD) asks for a second
#: approval by a different approver (its catalogue file: ``second_approval = true``), which
#: ``issuer`` gives.
DEMO_DEPARTMENT_ROLES = {
    "officer": [
        ("SWD", "officer"),
        ("FSD", "officer"),
        ("FEHD", "officer"),
        ("IRD", "officer"),
        ("CYBERPORT", "officer"),
    ],
    "supervisor": [
        ("SWD", "approver"),
        ("FSD", "approver"),
        ("FEHD", "approver"),
        ("IRD", "approver"),
        ("DPO", "officer"),
    ],
    "issuer": [("FEHD", "approver")],
}
#: ``officer`` is also in the AI Subsidy Scheme's secretariat (CYBERPORT, ``/staff/subsidy/``) and
#: ``supervisor`` the funder's (DPO, ``/staff/subsidy/funds/``) (issue 20).
#: Reconcilers besides ``admin`` (a superuser): an uploaded statement and a resolution that
#: moves money need a second reconciler (issue 18, review findings 2 and 9).
DEMO_RECONCILERS = {"supervisor"}
#: The demo bank's online banking as a FAPI 2.0 client (issue 13 item 22): PAR,
#: private_key_jwt, DPoP, signed request objects; its private key goes to var/ only.
DEMO_BANK_FAPI = {
    "client_id": "demo-bank",
    "name_en": "Demo Bank — Online Banking (FAPI 2.0 demo)",
    "name_zh": "示範銀行 — 網上銀行（FAPI 2.0 示範）",
}
DEMO_BANK_FAPI_REDIRECT = "https://bank.example/fapi/callback"
DEMO_BANK_FAPI_SCOPES = ["openid", "profile", "email", "phone", "offline_access"]
DEMO_BANK = {
    "id": "demo-bank",
    "name_en": "Demo Bank (HKMA Commercial Data Interchange)",
    "name_zh": "示範銀行（金管局商業數據通）",
    "kind": "bank",
}


#: The open-data demo's logins (issue 21): a data officer and the Departmental Data Officer
#: (部門數據主任) of the Transport Department and of the Digital Policy Office — username,
#: provider, role, role as printed. The seed leaves a Transport Department dataset waiting for
#: ``td-ddo``'s approval (tungban.opendata.seed.PENDING_DATASET).
DEMO_DATA_OFFICERS = [
    ("td-data-officer", "hk-td", DataRole.DATA_OFFICER, "open data: data officer, Transport Department"),
    ("td-ddo", "hk-td", DataRole.DDO, "open data: Departmental Data Officer, Transport Department"),
    ("dpo-data-officer", "hk-dpo", DataRole.DATA_OFFICER, "open data: data officer, Digital Policy Office"),
    ("dpo-ddo", "hk-dpo", DataRole.DDO, "open data: Departmental Data Officer, Digital Policy Office"),
]


def seed_opendata(out: dict) -> dict:
    """The open-data portal's demo datasets and departmental catalogues
    (:func:`tungban.opendata.seed.seed`, idempotent) and the demo's data officers, each with a
    password and a TOTP second factor added to ``out["staff"]``. Returns what the seed added."""
    added = opendata_seed.seed()
    for username, organization, role, label in DEMO_DATA_OFFICERS:
        password = secrets.token_urlsafe(9)
        user, otp = counter.provision_staff_user(username, password=password)
        opendata_seed.grant(user, organization, role)
        out["staff"].append({"username": username, "role": label, "password": password, **otp})
    return added


#: Members of the demo committee (committees/data/ai_subsidy_scheme.toml) given a password and TOTP.
DEMO_COMMITTEE_LOGINS = ("committee-chair", "committee-academia")


def _valid_population():
    for row in POPULATION:
        prefix, digits = row[0][:-6], row[0][-6:]
        yield (prefix + digits + hkid.check_digit(prefix, digits),) + row[1:]


@transaction.atomic
def register_fapi_bank(var_dir) -> dict:
    """Register the demo bank's FAPI 2.0 client (``demo-bank``) with a new ES256 key; write
    ``demo-bank-fapi.json`` (client_id, redirect URI, scopes, private JWK) and
    ``demo-bank-fapi-key.pem`` (the same key, PKCS#8) under ``var_dir``, mode 0600.
    Returns what was written to the JSON file."""
    key = ECKey.generate_key("P-256", {"alg": "ES256", "use": "sig"}, auto_kid=True)
    client, _none = oidc.register_client(
        **DEMO_BANK_FAPI,
        redirect_uris=[DEMO_BANK_FAPI_REDIRECT],
        allowed_scopes=DEMO_BANK_FAPI_SCOPES,
        jwks={"keys": [key.as_dict(private=False)]},
        fapi=True,
    )
    info = {
        "client_id": client.client_id,
        "redirect_uri": DEMO_BANK_FAPI_REDIRECT,
        "scopes": DEMO_BANK_FAPI_SCOPES,
        "private_jwk": key.as_dict(private=True),
    }
    json_path, pem_path = var_dir / "demo-bank-fapi.json", var_dir / "demo-bank-fapi-key.pem"
    for path, text in ((json_path, json.dumps(info, indent=2)), (pem_path, key.as_pem(private=True).decode())):
        path.write_text(text)
        path.chmod(0o600)
    return info


#: The demo's notification template (issue 16): the Transport Department's licence reminder.
DEMO_TEMPLATE = {
    "subject_en": "Vehicle licence renewal",
    "subject_zh": "車輛牌照續期",
    "body_en": "Your vehicle licence ((plate)) expires on ((date)). Renew it online or at a licensing office.",
    "body_zh": "你的車輛牌照 ((plate)) 將於 ((date)) 到期。請在網上或到牌照事務處續期。",
}


def seed_notifications(client_id: str, var_dir) -> dict:
    """The Transport Department as a notification sender (its pairwise ``sub`` s are the sample
    service's), its licence-reminder template and a live API key, kept in
    ``var/demo-notify.json`` (owner-only; shown nowhere else)."""
    sender = notify.create_sender("td", SAMPLE_DATA_USER["name_en"], SAMPLE_DATA_USER["name_zh"], client_id)
    template = sender.templates.filter(name="licence-expiry").first() or notify.create_template(
        sender, "licence-expiry", **DEMO_TEMPLATE
    )
    path = var_dir / "demo-notify.json"
    if not path.exists():
        _, key = notify.create_api_key(sender, "demo", "live")
        path.write_text(json.dumps({"sender": sender.id, "template_id": str(template.id), "api_key": key}))
        path.chmod(0o600)
    return {"sender": sender.id, "template": template.name, "template_id": str(template.id), "key_file": str(path)}


def hkid_of(body: str) -> str:
    """The canonical HKID number of a demo population entry (``"A123456"`` → ``"A1234563"``)."""
    return next(r[0] for r in _valid_population() if r[0].startswith(body))


def _set_up_company(director: Resident, br_number: str) -> None:
    try:
        corpid.bootstrap(director, br_number)
    except DomainError as exc:
        if exc.code != "organisation_already_set_up":
            raise


def _plan_next_meeting() -> None:
    """The committee's meeting for the AI Subsidy Scheme's batch open today (issue 20), so an
    application made in the demo can go on an agenda."""
    from tungban.committees import services as committees
    from tungban.committees.models import Committee
    from tungban.subsidy.services import intake

    batch = intake.batch_for(timezone.now())
    committee = Committee.objects.order_by("pk").first()
    if batch is not None and committee is not None:
        committees.create_meeting(committee, intake.batch_label(batch), batch.meeting_on)


def seed_corpid(director: Resident, officer=None) -> dict:
    """CorpID's demo (issue 19), the sandbox a person tries corporate login, pre-fill and
    signing in: the register of sample companies and their directors; the demo resident's
    company set up with him as its administrator (a mandate in force); and, with ``officer``
    (who registers him), the second sample company's director CHEUNG Chi Keung as a resident
    and administrator of Keung Kee Sample Engineering Limited, who offers the demo resident a
    user mandate for the company's Certificate of Resident Status (:data:`DEMO_MANDATE`),
    waiting for him to accept it in the app. Idempotent; without a source checkout (no
    register file) only the summary is returned."""
    out = {"br_number": DEMO_COMPANY_BRN, "administrator": director.hkid_display}
    if not DEMO_COMPANY_REGISTER.is_file():
        return out
    corpid.load_register(DEMO_COMPANY_REGISTER)
    _set_up_company(director, DEMO_COMPANY_BRN)
    # He is also a director of the sample university, an eligible applicant of the AI Subsidy
    # Scheme (issue 20; seed 000 §11(a)): he applies for it, or gives a mandate to apply.
    _set_up_company(director, DEMO_UNIVERSITY_BRN)
    out["university"] = DEMO_UNIVERSITY_BRN
    if officer is None:
        return out
    hk, fam, given, zh, dob, gender = next(r for r in _valid_population() if r[0].startswith("Y654321"))
    other = Resident.objects.by_hkid(hk).first() or identity.register_at_counter(
        officer,
        hkid=hk,
        family_name_en=fam,
        given_name_en=given,
        name_zh=zh,
        date_of_birth=dob,
        gender=gender,
        residential_address="Flat 3, 2/F, Fictional Workshop Centre\n9 Sample Road, Tuen Mun, New Territories",
    )
    _set_up_company(other, DEMO_MANDATE["br_number"])
    start = corpid.today()
    try:
        corpid.grant(
            other,
            DEMO_MANDATE["br_number"],
            holder_hkid=director.hkid,
            role="user",
            services=[DEMO_MANDATE["service"]],
            actions=list(DEMO_MANDATE["actions"]),
            valid_from=start,
            valid_until=corpid.years_later(start, 1) - dt.timedelta(days=1),
        )
    except DomainError as exc:
        if exc.code != "mandate_exists":
            raise
    out["mandate_offer"] = {**DEMO_MANDATE, "granted_by": other.hkid_display, "holder": director.hkid_display}
    return out


def seed(var_dir=None, service_url: str = SAMPLE_SERVICE_URL) -> dict:
    """Create the demo data (idempotent) and return what to print: URLs, credentials."""
    var_dir = var_dir or settings.VAR_DIR
    var_dir.mkdir(parents=True, exist_ok=True)
    for hk, fam, given, zh, dob, gender in _valid_population():
        PopulationRecord.objects.update_or_create(
            hkid_hash=lookup_hash(hk),
            defaults={
                "hkid": hk,
                "family_name_en": fam,
                "given_name_en": given,
                "name_zh": zh,
                "date_of_birth": dob,
                "gender": gender,
            },
        )
    credential_types.register_bundled()
    payments.load_fees()  # idempotent: the fee schedule (issue 18)
    eservices.load_catalogue()  # idempotent: the departments the staff below belong to
    # Staff, one role each (issue 13 item 1), every one with a password and a TOTP second
    # factor (item 3): a counter officer, a counter supervisor (approves re-bindings), an
    # issuing-department officer (e-licences, issue #5) and an administrator (the Django
    # admin). Only the administrator is a superuser.
    out = {"staff": [], "residents": []}
    staff = {}
    for username, role, groups, superuser in DEMO_STAFF:
        password = secrets.token_urlsafe(9)
        staff[username], otp = counter.provision_staff_user(
            username, password=password, groups=groups, superuser=superuser
        )
        eservice_roles = DEMO_DEPARTMENT_ROLES.get(username, [])
        for department, dept_role in eservice_roles:
            DepartmentOfficer.objects.update_or_create(
                user=staff[username], department_id=department, defaults={"role": dept_role}
            )
        if eservice_roles:
            role += "; e-services " + ", ".join(f"{r} of {d}" for d, r in eservice_roles)
        if username in DEMO_RECONCILERS:
            staff[username].user_permissions.add(
                Permission.objects.get(codename="reconcile", content_type__app_label="payments")
            )
            role += "; reconciliation (payments.reconcile)"
        out["staff"].append({"username": username, "role": role, "password": password, **otp})
    # The AI Subsidy Scheme's committee (issue 20, part E; seed 000 §12–13) from its bundled
    # file, through its command; its chair and the academic member can log in.
    call_command("load_committee", stdout=io.StringIO())
    _plan_next_meeting()
    for username in DEMO_COMMITTEE_LOGINS:
        password = secrets.token_urlsafe(9)
        _user, otp = counter.provision_staff_user(username, password=password)
        out["staff"].append({"username": username, "role": "AI Subsidy Scheme committee", "password": password, **otp})
    out["officer"] = out["staff"][0]
    officer = staff["officer"]
    for credential_issuer in Issuer.objects.all():
        credential_issuer.officers.add(staff["issuer"])
    demo = [
        (
            "CHAN",
            "Tai Man",
            "陳大文",
            dt.date(1958, 3, 14),
            "male",
            "Flat 12A, 8 Nathan Road\nTsim Sha Tsui, Kowloon",
            "+852 9123 4567",
            "taiman@example.hk",
        ),
    ]
    for fam, given, zh, dob, gender, addr, phone, email in demo:
        hk = next(r[0] for r in _valid_population() if r[1] == fam)
        resident = Resident.objects.by_hkid(hk).first() or identity.register_at_counter(
            officer,
            hkid=hk,
            family_name_en=fam,
            given_name_en=given,
            name_zh=zh,
            date_of_birth=dob,
            gender=gender,
            residential_address=addr,
            billing_address=addr,
            phone=phone,
            email=email,
        )
        out["residents"].append(
            {
                "hkid": resident.hkid_display,
                "name": f"{resident.name_en} {resident.name_zh}",
                "activation_code": wallet.issue_activation_code(resident, officer),
            }
        )
    out["corpid"] = seed_corpid(Resident.objects.by_hkid(hkid_of("A123456")).get(), officer)
    # The sample service logs residents in with its secret and, as the Transport Department,
    # obtains data through the exchange gateway with its own key (private_key_jwt).
    td_key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    client, secret = oidc.register_client(
        **SAMPLE_SERVICE,
        redirect_uris=[f"{service_url}/callback"],
        post_logout_redirect_uris=[f"{service_url}/"],
        allowed_scopes=SAMPLE_SERVICE_SCOPES,
        jwks={"keys": [td_key.as_dict(private=False)]},
    )
    catalogue.register_bundled({dept: f"http://127.0.0.1:{port}" for dept, port in PROVIDER_PORTS.items()})
    # After the exchange's products: the departmental catalogues offer some of them (issue 21).
    out["opendata"] = seed_opendata(out)
    # 1823 (issue 22): floor 8, so its seed command runs by name (setup imports no higher floor).
    hotline = json.loads(
        call_command("seed_hotline", "--reset-logins", "--json", "--resident", hkid_of("A123456"), stdout=io.StringIO())
    )
    out["staff"].extend(hotline.pop("staff"))
    out["hotline"] = hotline
    exchange.register_organisation(**SAMPLE_DATA_USER, client=client)
    bank_key = ECKey.generate_key("P-256", {"alg": "ES256"}, auto_kid=True)
    bank_client, _bank_secret = oidc.register_client(
        client_id="demo-bank-cdi",
        name_en=DEMO_BANK["name_en"],
        name_zh=DEMO_BANK["name_zh"],
        redirect_uris=["https://bank.example/callback"],
        allowed_scopes=["openid", CDEG_SCOPE],
        jwks={"keys": [bank_key.as_dict(private=False)]},
    )
    exchange.register_organisation(**DEMO_BANK, client=bank_client)
    if DEMO_MINIAPP.is_dir():  # a source checkout: the demo mini-program (issue 16)
        miniapps.publish(miniapps.read_bundle(DEMO_MINIAPP))
    out["fapi_client"] = {"client_id": register_fapi_bank(var_dir)["client_id"]}
    out["notify"] = seed_notifications(client.client_id, var_dir)
    out["client"] = {"client_id": client.client_id, "client_secret": secret}
    (var_dir / "demo-clients.json").write_text(
        json.dumps(
            {"client_id": client.client_id, "client_secret": secret, "cdeg_private_jwk": td_key.as_dict(private=True)}
        )
    )
    (var_dir / "demo-bank.json").write_text(
        json.dumps({"client_id": bank_client.client_id, "cdeg_private_jwk": bank_key.as_dict(private=True)})
    )
    (var_dir / "demo-credentials.json").write_text(json.dumps(out, ensure_ascii=False, indent=2))
    for path in (var_dir / "demo-clients.json", var_dir / "demo-credentials.json", var_dir / "demo-bank.json"):
        path.chmod(0o600)
    return out
