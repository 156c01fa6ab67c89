"""Synthetic residents for benchmarks and demos (issue #6): a made-up population, fast.

Never real people. Synthetic HKID numbers have the two-letter prefixes ``ZA`` … ``ZZ``
(:func:`synthetic_hkid`): nine characters, so they can never equal the demo residents'
one-letter numbers (``A…``, ``G…``, ``K…``, ``Y…``, ``P…`` in :mod:`tungban.core.demo`,
eight characters) nor the tests' numbers (one letter, or ``SC``/``FS``/``AB``). Their check
digits are computed with :func:`tungban.identity.hkid.check_digit`, so they pass every
validation a real number passes.

Seeded residents are adults (18-100), so no guardian consent rows are needed; they have
no population-register entries (self-registration is not part of the login benchmark),
no officer (``proofed_by`` is empty) and no audit events. ``plus`` residents are recorded
as proofed at a counter, ``basic`` ones against the population register, as
:mod:`tungban.identity.services` does.

Speed: column values come from pools built once per run (:func:`_pools`), so a row costs
about ten microseconds of Python. On PostgreSQL the rows are streamed with ``COPY … FROM
STDIN`` (psycopg ``cursor.copy``, text format): the server inserts while the next rows are
made. Elsewhere (SQLite) one ``INSERT`` runs with ``executemany`` over values Django's own
field conversion prepared. ``bulk_create`` was measured 4-5 times slower on PostgreSQL and
3 times slower on SQLite (its SQL compilation costs more than the insert). What remains is
mostly the database maintaining the table's five indexes, the random ``public_id`` most.

Personal data is encrypted at rest as every resident's is (issue 13 item 10): each row's
HKID number and e-mail are encrypted (a fresh nonce each) and the HKID's keyed hash is
computed per row; the pooled names, dates of birth, addresses and phone numbers are
encrypted once per pool entry,
so synthetic rows that share an entry share its ciphertext (they are made-up values; real
residents' values are encrypted one by one by the model field). The next free index comes
from :class:`~tungban.identity.models.SyntheticSeed` rows (the numbers cannot be searched).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tungban.core.fields import EncryptedTextField, encrypt, lookup_hash

from . import errors
from . import hkid as hkid_mod
from .models import ProofingMethod, Resident, ResidentStatus, SyntheticSeed, Tier

SYNTHETIC_LIMIT = 26 * 10**6  #: synthetic numbers n are 0 … SYNTHETIC_LIMIT - 1
_SYNTHETIC_REGEX = r"^Z[A-Z][0-9]{6}[0-9A]$"
PLUS_SHARE = 0.6  #: share of tungban+ residents; the rest are basic

_SURNAMES = [
    ("CHAN", "陳"),
    ("WONG", "黃"),
    ("LEE", "李"),
    ("CHEUNG", "張"),
    ("LAU", "劉"),
    ("LAM", "林"),
    ("HO", "何"),
    ("NG", "吳"),
    ("LEUNG", "梁"),
    ("CHOW", "周"),
    ("TSANG", "曾"),
    ("YEUNG", "楊"),
    ("WONG", "王"),
    ("LAI", "黎"),
    ("CHENG", "鄭"),
    ("TANG", "鄧"),
    ("KWOK", "郭"),
    ("LO", "羅"),
    ("FUNG", "馮"),
    ("MAK", "麥"),
    ("YIP", "葉"),
    ("SO", "蘇"),
    ("TAM", "譚"),
    ("CHU", "朱"),
    ("POON", "潘"),
    ("SIU", "蕭"),
    ("LUK", "陸"),
    ("KO", "高"),
    ("TSE", "謝"),
    ("YU", "余"),
]
# Given-name syllables (Cantonese romanisation, character), one list per gender.
_SYLLABLES = {
    "male": [
        ("Tai", "大"),
        ("Man", "文"),
        ("Chi", "志"),
        ("Keung", "強"),
        ("Wing", "永"),
        ("Kin", "健"),
        ("Ho", "浩"),
        ("Ming", "明"),
        ("Wai", "偉"),
        ("Kwok", "國"),
        ("Hung", "雄"),
        ("Chun", "俊"),
        ("Yiu", "耀"),
        ("Sing", "成"),
        ("Fai", "輝"),
        ("Tak", "德"),
        ("Hei", "希"),
        ("Lok", "樂"),
    ],
    "female": [
        ("Siu", "小"),
        ("Ling", "玲"),
        ("Ka", "嘉"),
        ("Yan", "欣"),
        ("Wing", "詠"),
        ("Sze", "詩"),
        ("Mei", "美"),
        ("Lai", "麗"),
        ("Hoi", "凱"),
        ("Yee", "儀"),
        ("Wai", "慧"),
        ("Man", "敏"),
        ("Shuk", "淑"),
        ("Fong", "芳"),
        ("Hiu", "曉"),
        ("Ting", "婷"),
        ("Sum", "心"),
        ("Yuet", "月"),
    ],
}
_ENGLISH_NAMES = {
    "male": ["Peter", "David", "Michael", "Kelvin", "Jason", "Eric", "Alan", "Raymond", "Ken", "Tommy"],
    "female": ["Mary", "Karen", "Grace", "Winnie", "Cherry", "Jenny", "Vivian", "Cathy", "Ivy", "Queenie"],
}
_STREETS = [
    ("Nathan Road", "Tsim Sha Tsui", "Kowloon"),
    ("Argyle Street", "Mong Kok", "Kowloon"),
    ("Cheung Sha Wan Road", "Sham Shui Po", "Kowloon"),
    ("Hoi Yuen Road", "Kwun Tong", "Kowloon"),
    ("Queen's Road Central", "Central", "Hong Kong"),
    ("Hennessy Road", "Wan Chai", "Hong Kong"),
    ("King's Road", "North Point", "Hong Kong"),
    ("Shau Kei Wan Road", "Sai Wan Ho", "Hong Kong"),
    ("Sha Tin Centre Street", "Sha Tin", "New Territories"),
    ("Castle Peak Road", "Tsuen Wan", "New Territories"),
    ("Tuen Mun Heung Sze Wui Road", "Tuen Mun", "New Territories"),
    ("Castle Peak Road", "Yuen Long", "New Territories"),
    ("Kwong Fuk Road", "Tai Po", "New Territories"),
    ("Po Hong Road", "Tseung Kwan O", "New Territories"),
]


def synthetic_hkid(n: int) -> str:
    """The ``n``-th synthetic HKID number in canonical form, e.g. ``0`` → ``"ZA0000001"``, ``10**6`` → ``"ZB0000004"``.

    Prefix ``Z`` + ``chr(ord("A") + n // 10**6)``, the six digits ``n % 10**6``, then the
    check digit. Deterministic, unique, and increasing (as a string) with ``n``.

    :raises ValueError: unless ``0 <= n < SYNTHETIC_LIMIT`` (26 million).
    """
    if not 0 <= n < SYNTHETIC_LIMIT:
        raise ValueError(f"synthetic HKID index {n} outside 0 … {SYNTHETIC_LIMIT - 1}")
    prefix, digits = "Z" + chr(65 + n // 10**6), f"{n % 10**6:06d}"
    return prefix + digits + hkid_mod.check_digit(prefix, digits)


def synthetic_index(canonical: str) -> int | None:
    """The ``n`` of a synthetic HKID number (inverse of :func:`synthetic_hkid`), or ``None``
    when ``canonical`` is not one."""
    if len(canonical) != 9 or canonical[0] != "Z" or not "A" <= canonical[1] <= "Z" or not canonical[2:8].isdigit():
        return None
    return (ord(canonical[1]) - 65) * 10**6 + int(canonical[2:8])


def next_start() -> int:
    """The index after the highest synthetic resident stored (``0`` when there is none)."""
    return SyntheticSeed.objects.aggregate(m=Max(F("start") + F("count")))["m"] or 0


@dataclass(frozen=True)
class SeedResult:
    """What :func:`seed_residents` did: residents ``start`` … ``start + count - 1``,
    ``elapsed`` seconds (wall clock), inserted by ``method`` (``"copy"``/``"insert"``)."""

    start: int
    count: int
    elapsed: float
    method: str

    @property
    def rate(self) -> float:
        """Rows per second."""
        return self.count / self.elapsed if self.elapsed > 0 else float("inf")

    @property
    def hkids(self) -> tuple[str, str]:
        """The first and last HKID number seeded."""
        return synthetic_hkid(self.start), synthetic_hkid(self.start + self.count - 1)


# Columns, in the order of the rows :func:`_rows` makes: two per row, one entry of each
# pool (:func:`_pools`), then three more per row.
_PERSON = ["family_name_en", "given_name_en", "name_zh", "gender"]
_LIFE = ["date_of_birth", "tier", "proofing_method", "proofed_at", "status", "status_reason"]
_CONTACT = ["residential_address", "billing_address", "phone"]
_FIELDS = ["public_id", "hkid", "hkid_hash", *_PERSON, *_LIFE, *_CONTACT, "email", "created_at", "updated_at"]
_POOL_BITS = 12  # each pool holds 4096 entries; a row picks one entry of each at random


def _copy_field(value) -> str:
    """One field in PostgreSQL's COPY text format."""
    if isinstance(value, dt.date):  # dates and datetimes (aware: ISO 8601 with the offset)
        return value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _prepare(fields: list[str], values: tuple, as_text: bool):
    """``values`` of the ``fields`` as COPY text (tab-separated), or as the database driver
    takes them (Django's own conversion, e.g. aware datetimes to UTC text on SQLite)."""
    if as_text:  # encrypted here; below, the field's own conversion encrypts
        return "\t".join(
            _copy_field(Resident._meta.get_field(f).get_prep_value(v) if _encrypted(f) else v)
            for f, v in zip(fields, values, strict=True)
        )
    return tuple(
        Resident._meta.get_field(f).get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)
    )


def _encrypted(field: str) -> bool:
    return isinstance(Resident._meta.get_field(field), EncryptedTextField)


def _pools(rnd: random.Random, now: dt.datetime, as_text: bool) -> tuple[list, list, list]:
    """Three pools of prepared column values (:func:`_prepare`), 4096 entries each: people
    ``(prepared _PERSON, e-mail stem)``, lives ``(prepared _LIFE,)`` and contacts
    ``(prepared _CONTACT,)``. A row combines one entry of each (4096³ combinations); built
    once per run, they keep each row down to a few microseconds."""
    r = rnd.random
    size = 1 << _POOL_BITS
    people = []
    for _i in range(size):
        gender = "female" if r() < 0.52 else "male"
        family_en, family_zh = rnd.choice(_SURNAMES)
        first = rnd.choice(_SYLLABLES[gender])
        if r() < 0.9:  # most Chinese names have two given-name characters
            second = rnd.choice(_SYLLABLES[gender])
            given_en, given_zh = f"{first[0]} {second[0]}", first[1] + second[1]
        else:
            given_en, given_zh = first
        if r() < 0.3:  # an English name before the Chinese one
            given_en = f"{rnd.choice(_ENGLISH_NAMES[gender])} {given_en}"
        values = (family_en, given_en, family_zh + given_zh, gender)
        people.append((_prepare(_PERSON, values, as_text), f"{given_en.split()[0].lower()}.{family_en.lower()}"))
    today = timezone.localtime(now).date()
    adult = dt.date(today.year - 18, today.month, min(today.day, 28)).toordinal()  # born on or before: 18+
    oldest = dt.date(today.year - 100, today.month, min(today.day, 28)).toordinal()
    lives = []
    for _i in range(size):
        born = rnd.randint(oldest, adult)
        # Proofed as an adult, within the last five years.
        proofed_at = now - dt.timedelta(days=rnd.randint(0, min(adult - born, 5 * 365)), seconds=rnd.randrange(86400))
        tier, proofing = (
            (Tier.PLUS, ProofingMethod.COUNTER_IN_PERSON)
            if r() < PLUS_SHARE
            else (Tier.BASIC, ProofingMethod.POPULATION_REGISTER)
        )
        values = (dt.date.fromordinal(born), tier.value, proofing.value, proofed_at, ResidentStatus.ACTIVE.value, "")
        lives.append((_prepare(_LIFE, values, as_text),))
    contacts = []
    for _i in range(size):
        street, district, region = rnd.choice(_STREETS)
        address = (
            f"Flat {rnd.randint(1, 40)}{rnd.choice('ABCDEFGH')}, {rnd.randint(1, 300)} {street}\n{district}, {region}"
        )
        phone = f"+852 {rnd.choice('569')}{rnd.randrange(1000):03d} {rnd.randrange(10000):04d}"
        contacts.append((_prepare(_CONTACT, (address, address if r() < 0.8 else "", phone), as_text),))
    return people, lives, contacts


def _uuid4_hex(count: int) -> str:
    """``count`` random version-4 UUIDs (RFC 9562) as one string of 32 hex digits each."""
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes(b & 0x0F | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes(b & 0x3F | 0x80 for b in raw[8::16])  # variant 10xx
    return raw.hex()


def _rows(
    start: int, count: int, pools: tuple[list, list, list], rnd: random.Random, now: dt.datetime, as_text: bool
) -> Iterator:
    """Rows for residents ``start`` … ``start + count - 1`` in :data:`_FIELDS` order, with
    a random UUIDv4 ``public_id`` and ``created_at`` = ``updated_at`` = ``now``: lines of
    COPY text (``as_text``, pools built the same way) or tuples of prepared values."""
    people, lives, contacts = pools
    bits, mask = _POOL_BITS, (1 << _POOL_BITS) - 1
    pick = rnd.getrandbits
    ids = _uuid4_hex(count)  # public_id: random, never derived from the seed
    uuid_field = Resident._meta.get_field("public_id")
    stamp = _prepare(["created_at"], (now,), as_text)
    for i in range(count):
        n = start + i
        h = pick(3 * bits)
        person, life, contact = people[h & mask], lives[(h >> bits) & mask], contacts[h >> 2 * bits]
        public_id, hkid, email = ids[32 * i : 32 * i + 32], synthetic_hkid(n), f"{person[1]}{n}@example.org"
        sealed_hkid, hkid_hash, sealed_email = encrypt(hkid), lookup_hash(hkid), encrypt(email)
        if as_text:
            yield (
                f"{public_id}\t{sealed_hkid}\t{hkid_hash}\t{person[0]}\t{life[0]}\t{contact[0]}\t{sealed_email}"
                f"\t{stamp}\t{stamp}\n"
            )
        else:
            public_id = uuid_field.get_db_prep_save(uuid.UUID(public_id), connection)
            yield (public_id, sealed_hkid, hkid_hash, *person[0], *life[0], *contact[0], sealed_email, *stamp, *stamp)


def _insert(rows: Iterator, as_text: bool) -> None:
    """COPY the lines (PostgreSQL) or INSERT the tuples of :func:`_rows`."""
    table = connection.ops.quote_name(Resident._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(Resident._meta.get_field(f).column) for f in _FIELDS)
    # wrap_database_errors: errors of the raw psycopg cursor become Django's (IntegrityError).
    with connection.wrap_database_errors, connection.cursor() as cursor:
        if not as_text:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(_FIELDS))})", rows)
            return
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for line in rows:  # psycopg buffers; the server inserts while the next rows are made
                copy.write(line)


def seed_residents(
    count: int,
    *,
    start: int | None = None,
    batch_size: int = 10000,
    progress: Callable[[int, int, float], None] | None = None,
    method: str = "auto",
) -> SeedResult:
    """Insert ``count`` synthetic residents numbered ``start`` … ``start + count - 1``.

    :param start: the first synthetic index; default :func:`next_start` (so a second run
        adds more residents instead of failing on duplicates).
    :param batch_size: rows per transaction; batches already inserted stay when a later
        one fails.
    :param progress: called after each batch as ``progress(done, count, elapsed_seconds)``.
    :param method: ``"copy"`` (``COPY … FROM STDIN``, PostgreSQL only), ``"insert"``
        (``executemany`` of one ``INSERT``, any database), or ``"auto"`` (``copy`` on
        PostgreSQL, else ``insert``).
    :returns: a :class:`SeedResult` (start, count, elapsed seconds, method; ``rate`` rows/s).
    :raises ValueError: ``count`` or ``batch_size`` below 1, indices beyond
        :data:`SYNTHETIC_LIMIT`, an unknown ``method`` or ``copy`` off PostgreSQL.
    :raises Conflict: ``hkid_taken`` when an explicit ``start`` overlaps stored residents.
    """
    if count < 1 or batch_size < 1:
        raise ValueError("count and batch_size must be at least 1")
    if method == "auto":
        method = "copy" if connection.vendor == "postgresql" else "insert"
    if method not in ("copy", "insert") or (method == "copy" and connection.vendor != "postgresql"):
        raise ValueError(f"method {method!r} is not available on {connection.vendor}")
    as_text = method == "copy"
    began = time.perf_counter()
    start = next_start() if start is None else start
    if start < 0 or start + count > SYNTHETIC_LIMIT:
        raise ValueError(f"synthetic indices {start} … {start + count - 1} outside 0 … {SYNTHETIC_LIMIT - 1}")
    rnd = random.Random(start)  # the same start gives the same names, dates and addresses
    pools = _pools(rnd, timezone.now(), as_text)
    done = 0
    while done < count:
        size = min(batch_size, count - done)
        try:
            with transaction.atomic():
                rows = _rows(start + done, size, pools, rnd, timezone.now(), as_text)
                # In the order of the keyed hash: the unique index on it takes them in
                # order (random ones thrashed its pages; measured 20-30 % faster on SQLite).
                rows = sorted(rows, key=(lambda line: line.split("\t", 3)[2]) if as_text else itemgetter(2))
                _insert(iter(rows), as_text)
                SyntheticSeed.objects.create(start=start + done, count=size)
        except IntegrityError:
            raise errors.HkidTaken(
                _("Synthetic residents in the batch from %(hkid)s already exist: choose another start.")
                % {"hkid": synthetic_hkid(start + done)}
            ) from None
        done += size
        if progress:
            progress(done, count, time.perf_counter() - began)
    return SeedResult(start=start, count=count, elapsed=time.perf_counter() - began, method=method)


def seeded_residents(start: int, count: int, chunk: int = 5000) -> list[Resident]:
    """The stored synthetic residents ``start`` … ``start + count - 1`` in index order
    (missing ones are skipped); fetched ``chunk`` numbers at a time."""
    found: list[Resident] = []
    for first in range(start, start + count, chunk):
        hkids = [synthetic_hkid(n) for n in range(first, min(first + chunk, start + count))]
        found.extend(sorted(Resident.objects.by_hkids(hkids), key=lambda r: synthetic_index(r.hkid)))
    return found
