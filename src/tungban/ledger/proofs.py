"""Checking an RFC 9162 inclusion proof where the platform itself verifies one (認證易
checking a credential's issuance leaf against a signed tree head, online or offline from a
trust bundle). Tests check the log with the independent verifier in ``examples/``."""

from __future__ import annotations

import hashlib


def verify_inclusion(leaf_hash: bytes, leaf_index: int, tree_size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``path`` prove the leaf with ``leaf_hash`` (32 bytes) at
    0-based ``leaf_index`` is in the tree of ``tree_size`` leaves whose root is ``root``?"""
    if leaf_index >= tree_size or leaf_index < 0:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root
