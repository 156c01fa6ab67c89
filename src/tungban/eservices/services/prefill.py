"""Where a form's prefilled answers come from (``prefill`` in the layout): e-ME claims the
resident released at the portal's login, and data products fetched through the exchange
gateway with the resident's consent. Values are shaped for their field's kind here; the
lifecycle records each with its source, reference and digest."""

from __future__ import annotations

from dataclasses import dataclass

from tungban.core import fields as crypto

from .forms import Definition, canonical_json

#: OIDC address region names the forms' ``address`` kind knows (the WSD product's regions).
_REGIONS = {"HK": "HK", "HONG KONG": "HK", "KLN": "KLN", "KOWLOON": "KLN", "NT": "NT", "NEW TERRITORIES": "NT"}


@dataclass(frozen=True)
class PrefillValue:
    """A value the resident approved for release: ``source`` ``"claim"`` (an e-ME claim of the
    portal's login; ``ref`` = the release record's id), ``"exchange"`` (a data product
    through the gateway; ``ref`` = the consent's id, named by its signed artefact) or
    ``"company"`` (a data product about a company, through the gateway with the company's
    consent given by the person acting for it; ``ref`` = that consent's id). ``provider``: the
    exchange organisation that answered (``cr``, ``ird``…), for the page to name it."""

    value: object
    source: str
    ref: str
    provider: str = ""


def prefill_digest(value) -> str:
    """The digest kept of a released value to tell later whether the resident changed it:
    HMAC-SHA256 (RFC 2104, 128 bits) of its canonical JSON under the platform's look-up key
    (:func:`tungban.core.fields.lookup_hash`), 32 hex digits. Keyed because the values are
    guessable (a date of birth has ~36 500 candidates, an HKID number or a phone number at
    most ~10⁹): a plain SHA-256 stored beside the application would give them back to
    anyone who reads the table."""
    return crypto.lookup_hash(canonical_json(value).decode())


def claims_of(definition: Definition) -> list[str]:
    """The e-ME claims the form's fields map (``prefill.claim``), in field order."""
    out = []
    for spec in definition.fields.values():
        claim = (spec.get("prefill") or {}).get("claim")
        if claim and claim not in out:
            out.append(claim)
    return out


def products_of(definition: Definition) -> dict[str, list[tuple[str, str]]]:
    """``{product id: [(field, path in the product's answer)]}`` of the form."""
    out: dict[str, list[tuple[str, str]]] = {}
    for name, spec in definition.fields.items():
        prefill = spec.get("prefill") or {}
        if "product" in prefill:
            out.setdefault(prefill["product"], []).append((name, prefill.get("path", "")))
    return out


def _address_from_claim(value) -> dict | None:
    """An OIDC address object (OIDC Core §5.1.1) as the ``address`` kind's object."""
    if not isinstance(value, dict):
        return None
    lines = [line.strip() for line in str(value.get("street_address", "")).split("\n") if line.strip()]
    if not lines and value.get("formatted"):
        lines = [value["formatted"]]
    district = str(value.get("locality", "")).strip()
    region = _REGIONS.get(str(value.get("region", "")).strip().upper())
    if not region:
        district, region = _split_region(district)
    out = {"lines": lines[:3], "district": district}
    if region:
        out["region"] = region
    return {k: v for k, v in out.items() if v}


#: Region names as residents write them at the end of an address's last line (the e-ME
#: profile keeps a counter-typed address as lines: "Sham Shui Po, Kowloon").
_REGION_SUFFIXES = (
    ("new territories", "NT"),
    ("kowloon", "KLN"),
    ("hong kong island", "HK"),
    ("hong kong", "HK"),
    ("新界", "NT"),
    ("九龍", "KLN"),
    ("香港島", "HK"),
    ("香港", "HK"),
)


def _split_region(locality: str) -> tuple[str, str]:
    """``"Sham Shui Po, Kowloon"`` → ``("Sham Shui Po", "KLN")``: the region named at the end of
    an address line, so a resident need not pick the region the profile already says (the
    district alone, a region alone or no region known: ``(locality, "")`` or ``("", code)``)."""
    text = locality.strip()
    for name, code in _REGION_SUFFIXES:
        if text.lower().endswith(name):
            rest = text[: len(text) - len(name)].rstrip(" ,，、")
            if rest or text.lower() == name:
                return rest, code
    return text, ""


def from_claims(definition: Definition, claims: dict, release_id) -> dict[str, PrefillValue]:
    """The form's fields filled from released ``claims`` (a userinfo answer)."""
    out = {}
    for name, spec in definition.fields.items():
        claim = (spec.get("prefill") or {}).get("claim")
        if not claim or claims.get(claim) in (None, "", {}):
            continue
        value = claims[claim]
        if spec.get("kind") == "address":
            value = _address_from_claim(value)
        if value:
            out[name] = PrefillValue(value, "claim", str(release_id or ""))
    return out


def _at(data, path: str):
    """The value at ``path`` in a product's answer: keys joined by dots, a list item by its
    index (``companies.0.name_en``); ``None`` where there is nothing."""
    value = data
    for part in [p for p in path.split(".") if p]:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def from_product(
    definition: Definition, product_id: str, data: dict, consent_id, *, source: str = "exchange", provider: str = ""
) -> dict[str, PrefillValue]:
    """The form's fields filled from a data product's answer ``data`` (``source``
    ``"exchange"``, or ``"company"`` for a company's data under the company's consent)."""
    out = {}
    for name, path in products_of(definition).get(product_id, []):
        value = _at(data, path)
        if definition.fields[name].get("kind") == "address" and isinstance(value, dict):
            value = {
                "lines": list(value.get("lines", []))[:3],
                "district": value.get("district", ""),
                "region": value.get("region", ""),
            }
            value = {k: v for k, v in value.items() if v}
        if value not in (None, "", {}):
            out[name] = PrefillValue(value, source, str(consent_id), provider)
    return out
