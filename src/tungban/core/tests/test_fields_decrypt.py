"""``core.fields.decrypt`` (issue 15, fourth round: its base64url decoding without the
``base64`` module's Python wrappers) reads what :func:`encrypt` wrote and refuses, as
:class:`UnreadableValue`, exactly what ``base64.urlsafe_b64decode`` could not decode or no key
opens: never a wrong value, never another exception."""

from __future__ import annotations

import base64

import pytest

from tungban.core import fields


@pytest.mark.parametrize("text", ["x", "A1234563", "陳大文", "Flat A, 12/F\n1 Queen's Road Central", "é" * 300])
def test_round_trip(text):
    assert fields.decrypt(fields.encrypt(text)) == text


def test_empty_stays_empty():
    assert fields.decrypt("") == ""


@pytest.mark.parametrize(
    "stored",
    [
        "a1:",  # nothing
        "a1:QUJD",  # too short for a nonce and a tag
        "a1:" + "A" * 40,  # decodes, opens under no key
        "a1:abc",  # bad padding
        "a1:陳大文",  # not ASCII
        "plain text",  # no prefix
    ],
)
def test_unreadable_values_are_refused(stored):
    with pytest.raises(fields.UnreadableValue):
        fields.decrypt(stored)


def test_an_altered_value_is_refused():
    token = fields.encrypt("A1234563")
    raw = bytearray(base64.urlsafe_b64decode(token[3:]))
    raw[-1] ^= 1
    with pytest.raises(fields.UnreadableValue):
        fields.decrypt("a1:" + base64.urlsafe_b64encode(bytes(raw)).decode())


def test_decoding_is_base64url_as_the_library_decodes_it():
    """Characters outside the alphabet are skipped, as ``urlsafe_b64decode`` (non-strict) does."""
    token = fields.encrypt("A1234563")
    body = token[3:]
    noisy = body[:5] + "\n" + body[5:]
    assert base64.urlsafe_b64decode(noisy) == base64.urlsafe_b64decode(body)
    assert fields.decrypt("a1:" + noisy) == "A1234563"
