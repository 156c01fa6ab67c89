"""The platform's certification authority, built with ``cryptography`` (RFC 5280 profile).

Hierarchy, created at set-up (``tungban setup``) or on first use:

- ``tungban Root CA`` (ECDSA P-384, 20 years): signs the signing CA, the TSA and its CRL;
- ``tungban Signing CA`` (ECDSA P-384, 10 years, path length 0): issues residents'
  certificates (keyUsage digitalSignature + nonRepudiation, both critical) and their CRL;
- ``tungban Time-Stamping Authority`` (ECDSA P-256, extKeyUsage timeStamping, critical;
  RFC 3161 §2.3): the signature time stamps that fix when a document was signed, so a
  signature made before a revocation still validates at its signing time.

CA private keys are PKCS#8 PEM encrypted with the platform secret key; residents' keys are
in the PKCS#11 keystore (:mod:`.keystore`). Certificates name the resident by English and
Chinese name and a random ``serialNumber``; the HKID number is never in a certificate.
"""

from __future__ import annotations

import datetime as dt
import secrets

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tungban.keys.sealing import seal, unseal

from .keystore import asn1_private_key
from .models import (
    Authority,
    AuthorityRole,
    CredentialStatus,
    Crl,
    OrganisationSeal,
    PlatformSeal,
    SigningCredential,
)

ORG = "tungban"
CRL_VALIDITY = dt.timedelta(days=1)
#: A published CRL is rebuilt at least this often even without revocations.
CRL_REFRESH = dt.timedelta(hours=1)
#: RFC 5280 §5.3.1 reason codes we use, by our name.
REASONS = {
    "key_compromise": x509.ReasonFlags.key_compromise,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
    "privilege_withdrawn": x509.ReasonFlags.privilege_withdrawn,
    "superseded": x509.ReasonFlags.superseded,
    "unspecified": x509.ReasonFlags.unspecified,
}


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "HK"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORG),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def url(path: str) -> str:
    return f"{settings.TUNGBAN_ISSUER}/signing/{path}"


CRL_FILES = {AuthorityRole.ROOT: "root-ca.crl", AuthorityRole.SIGNING: "signing-ca.crl"}
CERT_FILES = {AuthorityRole.ROOT: "root-ca.crt", AuthorityRole.SIGNING: "signing-ca.crt", AuthorityRole.TSA: "tsa.crt"}


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key, days: int, serial: int | None = None
) -> x509.CertificateBuilder:
    now = timezone.now()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _issued_by(
    builder: x509.CertificateBuilder, issuer_cert: x509.Certificate, crl_role: str
) -> x509.CertificateBuilder:
    return (
        builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()), critical=False
        )
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(url(f"crl/{CRL_FILES[crl_role]}"))], None, None, None
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(url(f"ca/{CERT_FILES[crl_role]}")),
                    )
                ]
            ),
            critical=False,
        )
    )


def _store(role: str, cert: x509.Certificate, key) -> Authority:
    return Authority.objects.create(
        role=role, certificate_der=cert.public_bytes(serialization.Encoding.DER), private_pem=seal(key)
    )


def _create_hierarchy() -> None:
    root_key = ec.generate_private_key(ec.SECP384R1())
    root_name = _name("tungban Root CA")
    root = (
        _builder(root_name, root_name, root_key.public_key(), 20 * 365)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .sign(root_key, hashes.SHA384())
    )
    signing_key = ec.generate_private_key(ec.SECP384R1())
    signing = (
        _issued_by(
            _builder(_name("tungban Signing CA"), root_name, signing_key.public_key(), 10 * 365),
            root,
            AuthorityRole.ROOT,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .sign(root_key, hashes.SHA384())
    )
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        _issued_by(
            _builder(_name("tungban Time-Stamping Authority"), root_name, tsa_key.public_key(), 10 * 365),
            root,
            AuthorityRole.ROOT,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(root_key, hashes.SHA384())
    )
    _store(AuthorityRole.ROOT, root, root_key)
    _store(AuthorityRole.SIGNING, signing, signing_key)
    _store(AuthorityRole.TSA, tsa, tsa_key)


def ensure_hierarchy() -> None:
    """Create the root CA, signing CA and TSA if they do not exist (idempotent, race-safe)."""
    if Authority.objects.filter(role=AuthorityRole.TSA).exists():
        return
    try:
        with transaction.atomic():
            if not Authority.objects.exists():
                _create_hierarchy()
    except IntegrityError:
        pass  # another worker created it first


def _authority_row(role: str) -> Authority:
    """One query when the hierarchy exists (the usual case); creates it on first use."""
    try:
        return Authority.objects.get(role=role)
    except Authority.DoesNotExist:
        ensure_hierarchy()
        return Authority.objects.get(role=role)


def authority(role: str) -> tuple[x509.Certificate, object]:
    """``(certificate, private key)`` of a CA or the TSA, creating the hierarchy if needed."""
    a = _authority_row(role)
    return x509.load_der_x509_certificate(bytes(a.certificate_der)), unseal(a.private_pem)


def certificate(role: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(bytes(_authority_row(role).certificate_der))


def asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def new_subject_serial() -> str:
    """A random subject ``serialNumber`` (X.520) for a resident's first certificate, e.g.
    ``TB-3F9A…``: tells apart people with the same name and contains no HKID number."""
    return "TB-" + secrets.token_hex(10).upper()


def common_name(resident) -> str:
    """English name then Chinese name, e.g. ``CHAN, Tai Man 陳大文`` (RFC 5280
    ub-common-name: at most 64 characters, else the English name alone, cut to 64)."""
    both = f"{resident.name_en} {resident.name_zh}".strip()
    return both if len(both) <= 64 else resident.name_en[:64]


def issue_end_entity(resident, public_key, serial: int, subject_serial: str) -> x509.Certificate:
    """A resident's signing certificate from the signing CA: subject C=HK, CN =
    :func:`common_name`, serialNumber = ``subject_serial`` (:func:`new_subject_serial`); keyUsage digitalSignature +
    nonRepudiation (contentCommitment), critical; CRL distribution point and caIssuers."""
    ca_cert, ca_key = authority(AuthorityRole.SIGNING)
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "HK"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name(resident)),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, subject_serial),
    ]
    builder = _builder(x509.Name(attrs), ca_cert.subject, public_key, settings.TUNGBAN_SIGNING_CERT_DAYS, serial)
    return (
        _issued_by(builder, ca_cert, AuthorityRole.SIGNING)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_end_entity_key_usage(), critical=True)
        .sign(ca_key, hashes.SHA384())
    )


def _end_entity_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def issue_seal(name: str, public_key, serial: int) -> x509.Certificate:
    """The certificate of a platform seal (:class:`~.models.PlatformSeal`) from the signing CA:
    subject C=HK, O=tungban, CN=``name`` (a legal person's seal, never a resident); keyUsage
    digitalSignature + nonRepudiation, critical, as residents' certificates; CRL distribution
    point and caIssuers; valid ``TUNGBAN_SIGNING_CERT_DAYS`` days."""
    ca_cert, ca_key = authority(AuthorityRole.SIGNING)
    builder = _builder(_name(name[:64]), ca_cert.subject, public_key, settings.TUNGBAN_SIGNING_CERT_DAYS, serial)
    return (
        _issued_by(builder, ca_cert, AuthorityRole.SIGNING)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_end_entity_key_usage(), critical=True)
        .sign(ca_key, hashes.SHA384())
    )


def issue_organisation_seal(identifier: str, name_en: str, name_zh: str, public_key, serial: int) -> x509.Certificate:
    """An organisation's seal certificate (:class:`~.models.OrganisationSeal`) from the signing
    CA, a legal person's certificate as ETSI EN 319 412-3 §4.2.1 requires its subject:
    ``C=HK``, ``O=`` the English name, ``organizationIdentifier`` (OID 2.5.4.97) =
    ``identifier`` (ETSI EN 319 412-1 §5.1.4 semantics: ``NTR`` + ``HK`` + ``-`` + the
    Business Registration number, e.g. ``NTRHK-21812345``), ``CN`` the English and Chinese
    names when they fit in 64 bytes of UTF-8 (``cryptography`` bounds the encoded value), else
    the English name cut to 64 (RFC 5280 ub-common-name);
    keyUsage digitalSignature + nonRepudiation, critical, as residents' certificates; CRL
    distribution point and caIssuers; valid ``TUNGBAN_SIGNING_CERT_DAYS`` days."""
    ca_cert, ca_key = authority(AuthorityRole.SIGNING)
    both = f"{name_en} {name_zh}".strip()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "HK"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name_en[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, identifier),
            x509.NameAttribute(NameOID.COMMON_NAME, both if len(both.encode()) <= 64 else name_en[:64]),
        ]
    )
    builder = _builder(subject, ca_cert.subject, public_key, settings.TUNGBAN_SIGNING_CERT_DAYS, serial)
    return (
        _issued_by(builder, ca_cert, AuthorityRole.SIGNING)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_end_entity_key_usage(), critical=True)
        .sign(ca_key, hashes.SHA384())
    )


def mark_crl_stale(role: str = AuthorityRole.SIGNING) -> None:
    Crl.objects.update_or_create(role=role, defaults={"stale": True})


def _whole_second_after(when: dt.datetime) -> dt.datetime:
    """CRL times have whole seconds (RFC 5280 §5.1.2.6, §4.1.2.5): round a revocation time up, not
    down, so a signature time-stamped earlier in that same second is not shown as made after
    the revocation. Rounding up is sound here: the key is destroyed when it is revoked."""
    return when if not when.microsecond else when.replace(microsecond=0) + dt.timedelta(seconds=1)


def _build_crl(role: str, number: int) -> x509.CertificateRevocationList:
    cert, key = authority(role)
    now = timezone.now()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(cert.subject)
        .last_update(now)
        .next_update(now + CRL_VALIDITY)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(cert.public_key()), critical=False)
    )
    if role == AuthorityRole.SIGNING:
        revoked = SigningCredential.objects.filter(status=CredentialStatus.REVOKED).values_list(
            "serial", "revoked_at", "revocation_reason"
        )
        seals = PlatformSeal.objects.filter(status=CredentialStatus.REVOKED).values_list(
            "serial", "revoked_at", "revocation_reason"
        )
        organisations = OrganisationSeal.objects.filter(status=CredentialStatus.REVOKED).values_list(
            "serial", "revoked_at", "revocation_reason"
        )
        for serial, revoked_at, reason in [*revoked.iterator(), *seals.iterator(), *organisations.iterator()]:
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(int(serial, 16))
                .revocation_date(_whole_second_after(revoked_at))
            )
            if reason in REASONS:
                entry = entry.add_extension(x509.CRLReason(REASONS[reason]), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(key, hashes.SHA384())


def current_crl(role: str = AuthorityRole.SIGNING) -> bytes:
    """The CA's current CRL (DER), rebuilt with the next CRL number when a revocation made
    it stale or it is older than :data:`CRL_REFRESH` (RFC 5280 §5.2.3: numbers increase)."""
    if role not in CRL_FILES:
        raise ValueError(role)
    crl = Crl.objects.filter(role=role).first()
    now = timezone.now()
    if crl and crl.der and not crl.stale and crl.this_update > now - CRL_REFRESH:
        return bytes(crl.der)
    with transaction.atomic():
        crl, _ = Crl.objects.select_for_update().get_or_create(role=role)
        if crl.der and not crl.stale and crl.this_update > now - CRL_REFRESH:
            return bytes(crl.der)  # another worker rebuilt it meanwhile
        built = _build_crl(role, crl.number + 1)
        crl.number += 1
        crl.der = built.public_bytes(serialization.Encoding.DER)
        crl.this_update = built.last_update_utc
        crl.next_update = built.next_update_utc
        crl.stale = False
        crl.save()
        return bytes(crl.der)


def timestamper():
    """The platform TSA as a pyHanko time stamper (RFC 3161), used in-process.

    The TSTInfo (§2.4.2) carries :data:`.tsa.TSA_POLICY`, a random 127-bit serial number, the UTC
    time and the requester's nonce; pyHanko's CMS signer signs it with the TSA key,
    adding the ESS signing-certificate-v2 attribute §2.4.1 requires.
    """
    from .tsa import PlatformTimeStamper  # pyHanko: about 0.75 s to import, only when signing

    tsa_cert, tsa_key = authority(AuthorityRole.TSA)
    return PlatformTimeStamper(asn1(tsa_cert), asn1_private_key(tsa_key), [asn1(certificate(AuthorityRole.ROOT))])
