"""The RFC 9162 arithmetic in ``ledger/merkle.py`` is pure: stdlib only, no database."""

import ast
import hashlib
import subprocess
import sys
from pathlib import Path

from tungban.ledger import merkle

SRC = Path(merkle.__file__)


def test_merkle_imports_only_the_standard_library():
    tree = ast.parse(SRC.read_text())
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)
    # And it loads without Django: a verifier can copy it.
    code = f"import importlib.util, sys; s = importlib.util.spec_from_file_location('m', {str(SRC)!r}); m = importlib.util.module_from_spec(s); s.loader.exec_module(m); assert 'django' not in sys.modules"
    subprocess.run([sys.executable, "-I", "-c", code], check=True)


def test_tree_of_eight_leaves_known_answer_and_its_inclusion_proofs():
    # transparency-dev/merkle testonly: leaves "", 0x00, 0x10, 0x2021, 0x3031, 0x40414243,
    # 0x5051525354555657, 0x606162636465666768696a6b6c6d6e6f; root of all eight.
    leaves = [
        bytes.fromhex(h)
        for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
    ]
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]

    def mth(lo, hi):
        if hi - lo == 1:
            return hashes[lo]
        k = 1 << ((hi - lo - 1).bit_length() - 1)
        return merkle.node_hash(mth(lo, lo + k), mth(lo + k, hi))

    root = mth(0, 8)
    assert root.hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    for m in range(8):
        path = [mth(a, b) for a, b in merkle.inclusion_ranges(m, 8)]
        assert merkle.verify_inclusion(hashes[m], m, 8, path, root)
        assert not merkle.verify_inclusion(hashes[m], (m + 1) % 8, 8, path, root)
    assert merkle.fold([]) == merkle.EMPTY_ROOT == hashlib.sha256(b"").digest()
    stack = [(level, mth(i << level, (i + 1) << level)) for level, i in merkle.perfect_subtrees(0, 7)]
    assert merkle.fold(stack) == mth(0, 7)
