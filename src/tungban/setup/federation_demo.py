"""The cross-boundary demo's federation (issue 23): a trust anchor and a Guangdong partner
platform as separate instances of the platform beside the Hong Kong one, enrolled with each
other only through the operators' management commands (``federation_init``,
``federation_service``, ``federation_enrol``, ``federation_trust_mark``,
``federation_receive_trust_mark``, ``federation_anchor``, ``federation_partner``: part fcore),
the entity JWK Sets exchanged as files through the instances' var dirs. No server is needed
while it is set up; ``tungban demo`` then starts them, and the end-to-end tests do the same
with free ports (:mod:`tungban.testing.federation`).

Each instance is the same code with its own ``TUNGBAN_VAR_DIR``, SQLite database, keys and
``TUNGBAN_ISSUER``. The small instances are only migrated and given their keys (``tungban
setup`` without ``--demo``): none of the Hong Kong demo data. The Hong Kong instance is the
process that calls :func:`build` (:class:`LocalInstance`: ``call_command``).

Topology and names: /work/briefs/issue23.md "Topology" (OpenID Federation 1.0 draft 45 §1.2:
trust anchor, intermediates, leaves; §7 trust marks).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tungban.federation.constants import CROSS_BOUNDARY_TRUST_MARK_PATH

#: The source tree of this code: child instances import the same ``tungban`` package.
SRC = Path(__file__).resolve().parents[2]
ROOT = SRC.parent

#: Demo ports (docs/operations.md): the trust anchor and the Guangdong platform.
ANCHOR_PORT = 8300
GD_PORT = 8200

ANCHOR = {"name_en": "GBA cross-boundary trust anchor", "name_zh": "粵港跨境通辦信任錨"}
HK = {"name_en": "tungban Hong Kong platform", "name_zh": "通辦（香港）平台"}
GD = {
    "name_en": "Guangdong unified identity authentication platform (demo)",
    "name_zh": "廣東省統一身份認證平台（示範）",
}
HK_SERVICE = {
    "slug": "hk-cross-boundary",
    "name_en": "HK cross-boundary services: health care voucher balance",
    "name_zh": "香港跨境服務：醫療券餘額",
    "department": "DH",
    "department_en": "Department of Health",
    "department_zh": "衞生署",
    "required_acr": "urn:tungban:acr:basic",
}
GD_SERVICE = {
    "slug": "gd-government-services",
    "name_en": "Guangdong government services (demo)",
    "name_zh": "廣東政務服務網（示範）",
    "department": "GDGSA",
    "department_en": "Guangdong Government Service Data Administration",
    "department_zh": "廣東省政務服務和數據管理局",
    "required_acr": "urn:tungban:acr:basic",
}
#: The GBA standard contract's filing references on each side (seeds 001 ¶7, 004).
HK_FILING = "GBA-SC-HK-2026-0001"
GD_FILING = "GBA-SC-GD-2026-0001"
LEGAL_BASIS_EN = (
    "Standard Contract for the Cross-boundary Flow of Personal Information within the Guangdong-Hong Kong-Macao "
    "Greater Bay Area (Mainland, Hong Kong), with the data subject's consent"
)
LEGAL_BASIS_ZH = "《粵港澳大灣區(內地、香港)個人信息跨境流動標準合同》，經資料當事人同意"
#: The trust anchor's metadata policy for the platforms' relying parties (issue 23; §6.1).
RP_POLICY = {
    "openid_relying_party": {
        "token_endpoint_auth_method": {"one_of": ["private_key_jwt"]},
        "grant_types": {"subset_of": ["authorization_code"]},
        "response_types": {"subset_of": ["code"]},
        "scope": {"subset_of": ["openid", "profile"]},
        "client_registration_types": {"subset_of": ["automatic"]},
    }
}


class SetupError(RuntimeError):
    """A step of the federation's set-up failed (the command's output is in the message)."""


@dataclass
class Instance:
    """A platform instance run as child processes: its URL (``TUNGBAN_ISSUER``), var dir and
    environment. :meth:`run` runs a management command in it (``python -m tungban.cli``)."""

    name: str
    url: str
    var: Path
    env: dict = field(default_factory=dict)

    @classmethod
    def create(cls, name: str, url: str, var: Path, *, extra_env: dict | None = None) -> Instance:
        var = Path(var)
        var.mkdir(parents=True, exist_ok=True, mode=0o700)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TUNGBAN_", "SOFTHSM2_", "PYTEST_", "DJANGO_")) and k != "DATABASE_URL"
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "tungban.settings",
                "DATABASE_URL": f"sqlite:///{var / 'tungban.sqlite3'}",
                "TUNGBAN_VAR_DIR": str(var),
                "TUNGBAN_ISSUER": url,
                "TUNGBAN_FEDERATION_ALLOW_PRIVATE": "1",  # loopback partners (demo and tests only)
                "PYTHONPATH": os.pathsep.join([str(SRC), str(ROOT)]),
                "PYTHONUNBUFFERED": "1",
                **(extra_env or {}),
            }
        )
        return cls(name=name, url=url.rstrip("/"), var=var, env=env)

    def run(self, *args: str, timeout: float = 600) -> str:
        """Run ``tungban ARGS`` in this instance; returns its standard output.

        :raises SetupError: the command failed."""
        result = subprocess.run(
            [sys.executable, "-m", "tungban.cli", *args],
            cwd=self.var,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise SetupError(
                f"{self.name}: tungban {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
            )
        return result.stdout

    def prepare(self, template: Path | None = None) -> None:
        """Migrate (from a copy of ``template``, a migrated empty SQLite database, when given:
        migrating costs half a minute per instance) and create the keys: ``tungban setup``."""
        db = self.var / "tungban.sqlite3"
        if template is not None and template.exists() and not db.exists():
            shutil.copyfile(template, db)
        self.run("setup")


class LocalInstance:
    """The instance this process is (the Hong Kong platform in ``tungban demo`` and in the tests,
    where it is the live server): commands through ``call_command``."""

    def __init__(self, name: str, url: str, var: Path):
        self.name, self.url, self.var = name, url.rstrip("/"), Path(var)
        self.var.mkdir(parents=True, exist_ok=True)

    def run(self, *args: str, timeout: float = 600) -> str:
        from django.core.management import call_command
        from django.core.management.base import CommandError

        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(*args, stdout=out, stderr=err)
        except (CommandError, SystemExit) as exc:
            raise SetupError(f"{self.name}: tungban {' '.join(args)} failed: {exc}\n{err.getvalue()}") from exc
        return out.getvalue()


def migrated_template(directory: Path) -> Path:
    """A migrated, empty SQLite database in ``directory`` (made once; copied by
    :meth:`Instance.prepare`)."""
    template = Path(directory) / "migrated.sqlite3"
    if not template.exists():
        scratch = Instance.create("template", "http://127.0.0.1:9", Path(directory) / "template-var")
        scratch.run("migrate", "--verbosity", "0")
        shutil.copyfile(scratch.var / "tungban.sqlite3", template)
    return template


def _entity(instance, out_file: Path, *args: str) -> dict:
    """Run ``federation_init``/``federation_service`` with ``--json-out``; returns the entity
    (``entity_id``, ``jwks``) and writes its federation JWK Set to ``<out_file>.jwks.json``."""
    instance.run(*args, "--json-out", str(out_file))
    data = json.loads(out_file.read_text())
    jwks = data.get("jwks") or data.get("federation_jwks") or data
    jwks_file = out_file.with_suffix(".jwks.json")
    jwks_file.write_text(json.dumps(jwks))
    return {"entity_id": data["entity_id"].rstrip("/"), "jwks": jwks, "jwks_file": jwks_file}


def _platform(instance, exchange: Path, names: dict, anchor_id: str, service: dict, *, filing: str) -> dict:
    root = _entity(
        instance,
        exchange / f"{instance.name}-root.json",
        "federation_init",
        "--role",
        "platform",
        "--name-en",
        names["name_en"],
        "--name-zh",
        names["name_zh"],
        "--authority-hint",
        anchor_id,
    )
    svc = _entity(
        instance,
        exchange / f"{instance.name}-service.json",
        "federation_service",
        "--slug",
        service["slug"],
        "--name-en",
        service["name_en"],
        "--name-zh",
        service["name_zh"],
        "--department",
        service["department"],
        "--required-acr",
        service["required_acr"],
        "--redirect-uri",
        f"{instance.url}/federation/services/{service['slug']}/callback",
    )
    return {"root": root, "service": svc, "filing": filing}


def build(anchor: Instance, hk, gd: Instance, *, exchange: Path) -> dict:
    """Set up the whole federation, every step a management command; ``exchange`` is the
    directory (under the anchor's var dir in the demo) where the entities' JWK Sets and the
    trust marks are handed over. The instances must have been prepared (:meth:`Instance.prepare`
    for the children). Returns what to print: entity identifiers, the GD demo resident.

    Steps (docs/integrators.md §18 "How a partner joins the federation"):

    1. the anchor's root entity; each platform's root (authority hint: the anchor) and its
       hosted service (a subordinate of its root);
    2. the anchor enrols both platforms (their JWK Sets, :data:`RP_POLICY`) and issues the
       cross-boundary trust mark to each hosted service, which receives it;
    3. each platform pins the anchor's keys and adds the other as a partner (legal basis,
       filing reference);
    4. the GD platform registers its demo resident.

    :raises SetupError: a step failed.
    """
    exchange = Path(exchange)
    exchange.mkdir(parents=True, exist_ok=True)
    anchor_root = _entity(
        anchor,
        exchange / "anchor-root.json",
        "federation_init",
        "--role",
        "anchor",
        "--name-en",
        ANCHOR["name_en"],
        "--name-zh",
        ANCHOR["name_zh"],
    )
    anchor_id = anchor_root["entity_id"]
    sides = {
        "hk": (hk, _platform(hk, exchange, HK, anchor_id, HK_SERVICE, filing=HK_FILING), HK_SERVICE),
        "gd": (gd, _platform(gd, exchange, GD, anchor_id, GD_SERVICE, filing=GD_FILING), GD_SERVICE),
    }
    policy_file = exchange / "rp-policy.json"
    policy_file.write_text(json.dumps(RP_POLICY))
    for instance, entities, service in sides.values():
        anchor.run(
            "federation_enrol",
            "--entity-id",
            entities["root"]["entity_id"],
            "--jwks-file",
            str(entities["root"]["jwks_file"]),
            "--entity-type",
            "federation_entity",
            "--entity-type",
            "openid_provider",
            "--policy-file",
            str(policy_file),
        )
        mark_file = exchange / f"{instance.name}-trust-mark.jwt"
        anchor.run(
            "federation_trust_mark",
            "issue",
            "--subject",
            entities["service"]["entity_id"],
            "--department-en",
            service["department_en"],
            "--department-zh",
            service["department_zh"],
            "--out",
            str(mark_file),
        )
        instance.run(
            "federation_receive_trust_mark",
            "--path",
            f"federation/services/{service['slug']}",
            "--file",
            str(mark_file),
        )
        instance.run(
            "federation_anchor",
            "--entity-id",
            anchor_id,
            "--jwks-file",
            str(anchor_root["jwks_file"]),
            "--name-en",
            ANCHOR["name_en"],
            "--name-zh",
            ANCHOR["name_zh"],
        )
    for here, there, names, filing, jurisdiction in (
        ("hk", "gd", GD, HK_FILING, "CN-GD"),
        ("gd", "hk", HK, GD_FILING, "HK"),
    ):
        sides[here][0].run(
            "federation_partner",
            "--entity-id",
            sides[there][1]["root"]["entity_id"],
            "--name-en",
            names["name_en"],
            "--name-zh",
            names["name_zh"],
            "--jurisdiction",
            jurisdiction,
            "--legal-basis-en",
            LEGAL_BASIS_EN,
            "--legal-basis-zh",
            LEGAL_BASIS_ZH,
            "--filing-reference",
            filing,
        )
    resident_file = exchange / "gd-resident.json"
    gd.run("demo_partner_resident", "--json-out", str(resident_file))
    return {
        "anchor": anchor_id,
        "trust_mark_type": f"{anchor_id}/{CROSS_BOUNDARY_TRUST_MARK_PATH}",
        "hk": sides["hk"][1]["root"]["entity_id"],
        "hk_service": sides["hk"][1]["service"]["entity_id"],
        "gd": sides["gd"][1]["root"]["entity_id"],
        "gd_service": sides["gd"][1]["service"]["entity_id"],
        "gd_resident": json.loads(resident_file.read_text()),
    }
