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
from concurrent.futures import ThreadPoolExecutor
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

    def run_many(self, commands: list[list[str]], timeout: float = 600) -> list[str]:
        """Run several management commands in one child process (Django starts once: each
        start costs seconds); returns their outputs. :raises SetupError: one failed (the
        later ones did not run)."""
        result = subprocess.run(
            [sys.executable, "-m", "tungban.setup.federation_demo", json.dumps(commands)],
            cwd=self.var,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise SetupError(
                f"{self.name}: {[c[0] for c in commands]} failed ({result.returncode}):\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
            )
        return json.loads(result.stdout.strip().splitlines()[-1])

    def use_template(self, template: Path) -> None:
        """Start from a copy of ``template``, a migrated empty SQLite database (migrating costs
        half a minute per instance; ``tungban setup`` then only adds the keys), unless the
        instance has a database already."""
        db = self.var / "tungban.sqlite3"
        if template.exists() and not db.exists():
            shutil.copyfile(template, db)


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

    def run_many(self, commands: list[list[str]], timeout: float = 600) -> list[str]:
        return [self.run(*command) for command in commands]


def migrated_template(directory: Path) -> Path:
    """A migrated, empty SQLite database in ``directory`` (made once; copied by
    :meth:`Instance.use_template`)."""
    template = Path(directory) / "migrated.sqlite3"
    if not template.exists():
        scratch = Instance.create("template", "http://127.0.0.1:9", Path(directory) / "template-var")
        scratch.run("migrate", "--verbosity", "0")
        shutil.copyfile(scratch.var / "tungban.sqlite3", template)
    return template


def _read_entity(out_file: Path) -> dict:
    """The entity ``federation_init``/``federation_service`` wrote to ``out_file`` (``--json-out``):
    ``entity_id``, ``jwks``; its federation JWK Set also goes to ``<out_file>.jwks.json``."""
    data = json.loads(out_file.read_text())
    jwks_file = out_file.with_suffix(".jwks.json")
    jwks_file.write_text(json.dumps(data["jwks"]))
    return {"entity_id": data["entity_id"].rstrip("/"), "jwks": data["jwks"], "jwks_file": jwks_file}


def _platform_commands(instance, exchange: Path, names: dict, anchor_id: str, service: dict) -> list[list[str]]:
    """The platform's root (authority hint: the anchor) and its hosted service."""
    return [
        [
            "federation_init",
            "--role",
            "platform",
            "--name-en",
            names["name_en"],
            "--name-zh",
            names["name_zh"],
            "--authority-hint",
            anchor_id,
            "--json-out",
            str(exchange / f"{instance.name}-root.json"),
        ],
        [
            "federation_service",
            "--slug",
            service["slug"],
            "--name-en",
            service["name_en"],
            "--name-zh",
            service["name_zh"],
            "--organization-en",
            service["department_en"],
            "--organization-zh",
            service["department_zh"],
            "--department",
            service["department"],
            "--required-acr",
            service["required_acr"],
            "--redirect-uri",
            f"{instance.url}/federation/services/{service['slug']}/callback",
            "--json-out",
            str(exchange / f"{instance.name}-service.json"),
        ],
    ]


def _in_parallel(*calls):
    """Run ``(instance, commands)`` pairs at once (child processes: the instances are separate)."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        for future in [pool.submit(instance.run_many, commands) for instance, commands in calls]:
            future.result()


def build(anchor: Instance, hk, gd: Instance, *, exchange: Path, setup: bool = True) -> dict:
    """Set up the whole federation, every step a management command; ``exchange`` is the
    directory where the entities' JWK Sets and the trust marks are handed over (files, as
    operators would send them). With ``setup``, the child instances run ``tungban setup`` first
    (migrate, keys; no demo data). Returns what to print: entity identifiers, the GD demo
    resident's number and activation code.

    Steps (docs/integrators.md §18 "How a partner joins the federation"):

    1. the anchor's root entity (``federation_init --role anchor``); each platform's root
       (``--role platform --authority-hint <anchor>``) and its hosted service
       (``federation_service``, a subordinate of its root);
    2. the anchor enrols both platforms (``federation_enrol`` with their JWK Sets and
       :data:`RP_POLICY`) and issues the cross-boundary trust mark to each hosted service
       (``federation_trust_mark issue``);
    3. each platform stores its service's trust mark (``federation_receive_trust_mark``), pins the
       anchor's keys (``federation_anchor``) and adds the other as a partner with the legal
       basis and filing reference (``federation_partner``); the GD platform registers its demo
       resident (``demo_partner_resident``).

    Commands of one instance in one step run in one child process; the instances' steps run side
    by side where they do not depend on each other.

    :raises SetupError: a step failed.
    """
    exchange = Path(exchange)
    exchange.mkdir(parents=True, exist_ok=True)
    anchor_id = anchor.url
    first = [["setup"]] if setup else []
    _in_parallel(
        (
            anchor,
            [
                *first,
                [
                    "federation_init",
                    "--role",
                    "anchor",
                    "--name-en",
                    ANCHOR["name_en"],
                    "--name-zh",
                    ANCHOR["name_zh"],
                    "--json-out",
                    str(exchange / "anchor-root.json"),
                ],
            ],
        ),
        (gd, [*first, *_platform_commands(gd, exchange, GD, anchor_id, GD_SERVICE)]),
    )
    hk.run_many(_platform_commands(hk, exchange, HK, anchor_id, HK_SERVICE))
    anchor_root = _read_entity(exchange / "anchor-root.json")
    if anchor_root["entity_id"] != anchor_id:
        raise SetupError(f"the anchor's entity identifier is {anchor_root['entity_id']}, expected {anchor_id}")
    sides = {
        name: {
            "instance": instance,
            "service": service,
            "root": _read_entity(exchange / f"{name}-root.json"),
            "svc": _read_entity(exchange / f"{name}-service.json"),
        }
        for name, instance, service in (("hk", hk, HK_SERVICE), ("gd", gd, GD_SERVICE))
    }
    policy_file = exchange / "rp-policy.json"
    policy_file.write_text(json.dumps(RP_POLICY))
    enrolments = []
    for name, side in sides.items():
        names = HK if name == "hk" else GD
        enrolments += [
            [
                "federation_enrol",
                "--entity-id",
                side["root"]["entity_id"],
                "--jwks-file",
                str(side["root"]["jwks_file"]),
                "--entity-type",
                "federation_entity",
                "--entity-type",
                "openid_provider",
                "--policy-file",
                str(policy_file),
                "--name-en",
                names["name_en"],
                "--name-zh",
                names["name_zh"],
            ],
            [
                "federation_trust_mark",
                "issue",
                "--subject",
                side["svc"]["entity_id"],
                "--department-en",
                side["service"]["department_en"],
                "--department-zh",
                side["service"]["department_zh"],
                "--out",
                str(exchange / f"{name}-trust-mark.jwt"),
            ],
        ]
    anchor.run_many(enrolments)
    finishing = {}
    for here, there, filing, jurisdiction in (("hk", "gd", HK_FILING, "CN-GD"), ("gd", "hk", GD_FILING, "HK")):
        names = GD if there == "gd" else HK
        finishing[here] = [
            [
                "federation_receive_trust_mark",
                "--path",
                f"federation/services/{sides[here]['service']['slug']}",
                "--file",
                str(exchange / f"{here}-trust-mark.jwt"),
            ],
            [
                "federation_anchor",
                "--entity-id",
                anchor_id,
                "--jwks-file",
                str(anchor_root["jwks_file"]),
                "--name-en",
                ANCHOR["name_en"],
                "--name-zh",
                ANCHOR["name_zh"],
            ],
            [
                "federation_partner",
                "--entity-id",
                sides[there]["root"]["entity_id"],
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
            ],
        ]
    resident_file = exchange / "gd-resident.json"
    finishing["gd"].append(["demo_partner_resident", "--json-out", str(resident_file)])
    hk.run_many(finishing["hk"])
    gd.run_many(finishing["gd"])
    return {
        "anchor": anchor_id,
        "trust_mark_type": f"{anchor_id}/{CROSS_BOUNDARY_TRUST_MARK_PATH}",
        "hk": sides["hk"]["root"]["entity_id"],
        "hk_service": sides["hk"]["svc"]["entity_id"],
        "gd": sides["gd"]["root"]["entity_id"],
        "gd_service": sides["gd"]["svc"]["entity_id"],
        "gd_resident": json.loads(resident_file.read_text()),
    }


def _main(argv: list[str]) -> int:
    """``python -m tungban.setup.federation_demo '[["cmd", "arg", …], …]'``: run the management
    commands in this process, in order; print their outputs as a JSON list (last line)."""
    import django

    django.setup()
    from django.core.management import call_command

    outputs = []
    for command in json.loads(argv[0]):
        out = io.StringIO()
        call_command(*command, stdout=out)
        outputs.append(out.getvalue())
    print(json.dumps(outputs))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
