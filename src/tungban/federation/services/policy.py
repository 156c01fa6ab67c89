"""Metadata policy (OpenID Federation 1.0 draft 45 §6.1): operators, combination down a trust
chain, application to a leaf's metadata. Part fpolicy.

Shapes (JSON values as Python ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``):

* a ``metadata_policy`` (§6.1.2) is ``{entity_type: {parameter: {operator: operand}}}``, e.g.
  ``{"openid_relying_party": {"scope": {"subset_of": ["openid", "profile"]}}}``;
* ``metadata`` (§3.1.1, §5) is ``{entity_type: {parameter: value}}``.

Rules and where they come from:

* the seven standard operators :data:`OPERATORS` (§6.1.3.1.1–§6.1.3.1.7), their operand types,
  which of them may stand together in one parameter policy and on what condition
  (:data:`COMBINATIONS`, the "Combination with other operators" item of each operator), how two
  operands of one operator merge (the "Operator value merge" item) and the order in which they
  apply (the "Order of application" item: ``value``, ``add``, ``default``, ``one_of``,
  ``subset_of``, ``superset_of``, ``essential``);
* §6.1.3.1.8: the OAuth ``scope`` parameter (RFC 7591: one string of space-separated values) is
  processed as an array of strings by the operators and comes out as a space-separated string;
* §6.1.3.2: an operator that is not standard is ignored unless its name is in
  ``metadata_policy_crit``; then it must be understood, and this platform understands no
  additional operator, so it is a policy error;
* §6.1.4.1: policies combine superior first (the trust anchor's, then each intermediate's, down
  to the leaf's immediate superior); every policy is validated before it is merged and every
  merged parameter policy is validated again;
* §6.1.4.2 and §3.1.1 (the ``metadata`` claim of a subordinate statement): the immediate superior's
  ``metadata`` overrides the leaf's same-named parameters (for the entity types the leaf
  declares) before the policy applies.

Every policy error (§6.1.3: "MUST produce a policy error"; §6.1.4: the chain is then invalid) is
:class:`~tungban.federation.errors.InvalidMetadata` (code ``invalid_metadata``, §8.9), whose
message names the parameter (``entity_type.parameter``) and the operator, in the request's
language; ``details`` carries ``{"entity_type", "parameter", "operator"}`` for machines.
Nothing here reads or writes the database.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable

from django.utils.translation import gettext_lazy as _

from tungban.federation import errors

#: §6.1.3.1: the standard operators, in their order of application (§6.1.3.1.1–§6.1.3.1.7).
OPERATORS = ("value", "add", "default", "one_of", "subset_of", "superset_of", "essential")

#: §6.1.3.1.8: parameters whose value is a space-separated string that operators treat as an array.
SPACE_SEPARATED = frozenset({"scope"})

#: §6.1.3.1.x "Combination with other operators": the pairs that may stand together in one
#: parameter policy (symmetric; a pair not listed is a policy error). The conditions some pairs
#: carry are checked by :func:`_check_combinations`.
COMBINATIONS = frozenset(
    frozenset(pair)
    for pair in (
        ("value", "add"),  # add ⊆ value
        ("value", "default"),  # value is not null
        ("value", "one_of"),  # value ∈ one_of
        ("value", "subset_of"),  # value ⊆ subset_of
        ("value", "superset_of"),  # value ⊇ superset_of
        ("value", "essential"),  # not (value null and essential true)
        ("add", "default"),
        ("add", "subset_of"),  # add ⊆ subset_of
        ("add", "superset_of"),
        ("add", "essential"),
        ("default", "one_of"),
        ("default", "subset_of"),
        ("default", "superset_of"),
        ("default", "essential"),
        ("one_of", "essential"),
        ("subset_of", "superset_of"),  # subset_of ⊇ superset_of
        ("subset_of", "essential"),
        ("superset_of", "essential"),
    )
)

_MALFORMED = _("The metadata policy is malformed at %(parameter)s.")
_OPERAND = _("The metadata policy's operator %(operator)s for %(parameter)s has a value of the wrong type.")
_COMBINATION = _("The metadata policy may not combine the operators %(operator)s for %(parameter)s.")
_MERGE = _("The metadata policies of the trust chain conflict for %(parameter)s (operator %(operator)s).")
_CRIT = _(
    "The metadata policy for %(parameter)s uses the critical operator %(operator)s, which this platform does not "
    "understand."
)
_VIOLATION = _("The metadata parameter %(parameter)s breaks the federation's metadata policy (operator %(operator)s).")
_ESSENTIAL = _(
    "The metadata parameter %(parameter)s is missing, but the federation's metadata policy requires it "
    "(operator %(operator)s)."
)
_TYPE = _(
    "The metadata parameter %(parameter)s has a value of a type the metadata policy's operator %(operator)s cannot "
    "process."
)


def _error(message, entity_type: str, parameter: str | None, operator: str):
    where = entity_type if parameter is None else f"{entity_type}.{parameter}"
    return errors.InvalidMetadata(
        message,
        field=where,
        details={"entity_type": entity_type, "parameter": parameter, "operator": operator},
        parameter=where,
        operator=operator,
    )


# --- JSON value helpers ------------------------------------------------------------------------------


def _key(value) -> str:
    """A hashable, canonical form of a JSON value (objects compare by content, §6.1.3.1.8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _is_scalar(value) -> bool:
    return isinstance(value, (str, int, float, bool))


def _is_array(value) -> bool:
    return isinstance(value, list)


def _as_set(values: list) -> set[str]:
    return {_key(v) for v in values}


def _subset(a: list, b: list) -> bool:
    return _as_set(a) <= _as_set(b)


def _union(a: list, b: list) -> list:
    seen = _as_set(a)
    out = list(a)
    for v in b:
        if _key(v) not in seen:
            seen.add(_key(v))
            out.append(v)
    return out


def _intersection(a: list, b: list) -> list:
    keep = _as_set(b)
    out, seen = [], set()
    for v in a:
        k = _key(v)
        if k in keep and k not in seen:
            seen.add(k)
            out.append(v)
    return out


def _equal(a, b) -> bool:
    """§6.1.3.1.1/.3 "equal": JSON equality; arrays as sets (the order of a merge's result is
    not defined, §6.1.3)."""
    if _is_array(a) and _is_array(b):
        return _as_set(a) == _as_set(b)
    return _key(a) == _key(b)


def _as_array(parameter: str, value):
    """An operand or a metadata value seen as an array: ``scope``'s space-separated string is split
    (§6.1.3.1.8); anything else is returned unchanged."""
    if parameter in SPACE_SEPARATED and isinstance(value, str):
        return value.split()
    return value


# --- validation (§6.1.2, §6.1.3, §6.1.4.1) ------------------------------------------------------------


def _check_operand(entity_type: str, parameter: str, operator: str, operand) -> None:
    """§6.1.3.1.x "Operator JSON values"."""
    if operator == "value":
        ok = operand is None or _is_scalar(operand) or _is_array(operand) or isinstance(operand, dict)
    elif operator == "default":
        ok = _is_scalar(operand) or _is_array(operand) or isinstance(operand, dict)
    elif operator in ("add", "one_of", "subset_of", "superset_of"):
        ok = _is_array(operand) and all(v is not None and not _is_array(v) for v in operand)
    else:  # essential
        ok = isinstance(operand, bool)
    if not ok:
        raise _error(_OPERAND, entity_type, parameter, operator)


def _check_combinations(entity_type: str, parameter: str, ops: dict) -> None:
    """§6.1.3.1.x "Combination with other operators": only allowed pairs, on their conditions."""
    present = [op for op in OPERATORS if op in ops]
    for i, a in enumerate(present):
        for b in present[i + 1 :]:
            if frozenset((a, b)) not in COMBINATIONS:
                raise _error(_COMBINATION, entity_type, parameter, f"{a} + {b}")

    def fail(a, b):
        raise _error(_COMBINATION, entity_type, parameter, f"{a} + {b}")

    value = _as_array(parameter, ops.get("value"))
    if "value" in ops:
        # null has no values: the empty set for the subset conditions, and it is among no one_of.
        as_list = value if _is_array(value) else [] if value is None else [value]
        if "add" in ops and not _subset(ops["add"], as_list):
            fail("value", "add")
        if "default" in ops and value is None:
            fail("value", "default")
        if "one_of" in ops and (value is None or _key(value) not in _as_set(ops["one_of"])):
            fail("value", "one_of")
        if "subset_of" in ops and not _subset(as_list, ops["subset_of"]):
            fail("value", "subset_of")
        if "superset_of" in ops and not _subset(ops["superset_of"], as_list):
            fail("value", "superset_of")
        if ops.get("essential") is True and value is None:
            fail("value", "essential")
    if "add" in ops and "subset_of" in ops and not _subset(ops["add"], ops["subset_of"]):
        fail("add", "subset_of")
    if "subset_of" in ops and "superset_of" in ops and not _subset(ops["superset_of"], ops["subset_of"]):
        fail("subset_of", "superset_of")


def _validated(policy, crit: frozenset[str]) -> dict:
    """A deep copy of ``policy`` with its structure checked (§6.1.2), non-standard operators not
    in ``crit`` dropped (§6.1.3.2), those in ``crit`` refused, operands and combinations checked."""
    if policy is None:
        return {}
    if not isinstance(policy, dict):
        raise _error(_MALFORMED, "metadata_policy", None, "")
    out = {}
    for entity_type, parameters in policy.items():
        if not isinstance(entity_type, str) or not isinstance(parameters, dict):
            raise _error(_MALFORMED, str(entity_type), None, "")
        out[entity_type] = {}
        for parameter, ops in parameters.items():
            if not isinstance(ops, dict):
                raise _error(_MALFORMED, entity_type, parameter, "")
            kept = {}
            for operator, operand in ops.items():
                if operator not in OPERATORS:
                    if operator in crit:
                        raise _error(_CRIT, entity_type, parameter, operator)
                    continue  # §6.1.3.2: ignored
                _check_operand(entity_type, parameter, operator, operand)
                kept[operator] = copy.deepcopy(operand)
            _check_combinations(entity_type, parameter, kept)
            out[entity_type][parameter] = kept
    return out


# --- combination (§6.1.4.1) ------------------------------------------------------------------------------


def _merge_operator(entity_type: str, parameter: str, operator: str, superior, subordinate):
    """§6.1.3.1.x "Operator value merge"."""
    if operator in ("value", "default"):
        if not _equal(_as_array(parameter, superior), _as_array(parameter, subordinate)):
            raise _error(_MERGE, entity_type, parameter, operator)
        return superior
    if operator in ("add", "superset_of"):
        return _union(superior, subordinate)
    if operator == "one_of":
        merged = _intersection(superior, subordinate)
        if not merged:
            raise _error(_MERGE, entity_type, parameter, operator)
        return merged
    if operator == "subset_of":
        return _intersection(superior, subordinate)  # may be [] (§6.1.3.1.5)
    return superior or subordinate  # essential: logical OR (§6.1.3.1.7)


def combine(superior: dict, subordinate: dict) -> dict:
    """Merge a subordinate statement's ``metadata_policy`` into its superior's (§6.1.4.1).

    :param superior: the current (already combined) policy, from nearer the trust anchor;
        ``{entity_type: {parameter: {operator: operand}}}`` (``None`` or ``{}``: none).
    :param subordinate: the next policy down the chain, same shape.
    :returns: a new combined policy (neither argument is modified). Entity types and parameters
        present on one side only are copied; an operator on both sides merges by its rule
        (``value``/``default`` must be equal; ``add``/``superset_of`` union; ``one_of``
        intersection, not empty; ``subset_of`` intersection, possibly ``[]``; ``essential`` OR);
        the merged parameter policy's combinations are checked again. Operators that are not
        standard are dropped (§6.1.3.2; :func:`resolve_metadata` refuses the critical ones).
    :raises errors.InvalidMetadata: a malformed policy, an operand of the wrong type, a forbidden
        combination (§6.1.3.1.x) or a merge conflict; the message names ``entity_type.parameter``
        and the operator.
    """
    return _combine(_validated(superior, frozenset()), _validated(subordinate, frozenset()))


def _combine(current: dict, nxt: dict) -> dict:
    out = copy.deepcopy(current)
    for entity_type, parameters in nxt.items():
        target = out.setdefault(entity_type, {})
        for parameter, ops in parameters.items():
            if parameter not in target:
                target[parameter] = copy.deepcopy(ops)
                continue
            merged = target[parameter]
            for operator, operand in ops.items():
                if operator in merged:
                    merged[operator] = _merge_operator(entity_type, parameter, operator, merged[operator], operand)
                else:
                    merged[operator] = copy.deepcopy(operand)
            _check_combinations(entity_type, parameter, merged)
    return out


# --- application (§6.1.4.2) -----------------------------------------------------------------------------


def _apply_parameter(entity_type: str, parameter: str, ops: dict, metadata: dict) -> None:
    """Apply one parameter policy to ``metadata`` (one entity type's, modified in place), the
    operators in the order of §6.1.3.1.1–§6.1.3.1.7."""
    spaced = parameter in SPACE_SEPARATED
    present = metadata.get(parameter) is not None  # §6.1.3: null is never output; it counts as absent
    current = _as_array(parameter, metadata.get(parameter))

    for operator in OPERATORS:
        if operator not in ops:
            continue
        operand = _as_array(parameter, ops[operator])
        if operator == "value":
            if operand is None:
                present, current = False, None
            else:
                present, current = True, copy.deepcopy(operand)
        elif operator == "add":
            if not present:
                present, current = True, copy.deepcopy(operand)
            elif not _is_array(current):
                raise _error(_TYPE, entity_type, parameter, operator)
            else:
                current = _union(current, operand)
        elif operator == "default":
            if not present:
                present, current = True, copy.deepcopy(operand)
        elif operator == "one_of":
            if present:
                if _is_array(current) or current is None:
                    raise _error(_TYPE, entity_type, parameter, operator)
                if _key(current) not in _as_set(operand):
                    raise _error(_VIOLATION, entity_type, parameter, operator)
        elif operator == "subset_of":
            if present:
                if not _is_array(current):
                    raise _error(_TYPE, entity_type, parameter, operator)
                current = _intersection(current, operand)
        elif operator == "superset_of":
            if present:
                if not _is_array(current):
                    raise _error(_TYPE, entity_type, parameter, operator)
                if not _subset(operand, current):
                    raise _error(_VIOLATION, entity_type, parameter, operator)
        elif operator == "essential" and operand and not present:
            raise _error(_ESSENTIAL, entity_type, parameter, operator)

    if not present:
        metadata.pop(parameter, None)
    elif spaced and _is_array(current):
        metadata[parameter] = " ".join(str(v) for v in current)  # §6.1.3.1.8
    else:
        metadata[parameter] = current


def apply(policy: dict, metadata: dict) -> dict:
    """Apply a (combined) metadata policy to metadata (§6.1.4.2).

    :param policy: ``{entity_type: {parameter: {operator: operand}}}``, e.g. :func:`combine`'s
        result.
    :param metadata: ``{entity_type: {parameter: value}}``.
    :returns: new metadata (the argument is not modified). Only the entity types present in
        ``metadata`` are touched (a policy for another type has nothing to apply to); for each
        parameter with a policy the operators apply in the order ``value`` (``null`` removes the
        parameter), ``add``, ``default``, ``one_of``, ``subset_of`` (keeps the intersection,
        possibly ``[]``), ``superset_of``, ``essential``. ``scope`` is handled as an array and
        returned as a space-separated string (§6.1.3.1.8).
    :raises errors.InvalidMetadata: the policy is malformed, or a parameter breaks it (not among
        ``one_of``, not a superset of ``superset_of``, ``essential`` and missing, a value of a type
        the operator cannot process); the message names ``entity_type.parameter`` and the
        operator.
    """
    policy = _validated(policy, frozenset())
    if not isinstance(metadata, dict) or not all(isinstance(v, dict) for v in metadata.values()):
        raise _error(_MALFORMED, "metadata", None, "")
    out = copy.deepcopy(metadata)
    for entity_type, parameters in policy.items():
        if entity_type not in out:
            continue
        for parameter, ops in parameters.items():
            _apply_parameter(entity_type, parameter, ops, out[entity_type])
    return out


def resolve_metadata(
    policies: list[dict],
    leaf_metadata: dict,
    *,
    superior_metadata: dict | None = None,
    crit: Iterable[str] = (),
) -> dict:
    """The leaf's resolved metadata for a trust chain (§6.1.4).

    :param policies: the ``metadata_policy`` claims of the chain's subordinate statements, the
        trust anchor's first and the leaf's immediate superior's last (absent ones as ``None`` or
        ``{}``).
    :param leaf_metadata: the ``metadata`` of the leaf's entity configuration,
        ``{entity_type: {parameter: value}}``.
    :param superior_metadata: the ``metadata`` claim of the immediate superior's subordinate
        statement about the leaf (§3.1.1, §6.1.4.2): for the entity types the leaf declares, its
        parameters override the leaf's before the policy applies (§6.1.4.2); other entity types
        in it are ignored.
    :param crit: the operator names of every ``metadata_policy_crit`` claim in the chain
        (§3.1.3, §6.1.3.2, §6.1.4.1). A non-standard operator named there is a policy error
        (this platform understands none); one not named is ignored.
    :returns: the resolved metadata, same shape as ``leaf_metadata`` (new objects).
    :raises errors.InvalidMetadata: as :func:`combine` and :func:`apply`, or a critical operator
        that is not understood.
    """
    crit = frozenset(crit)
    combined: dict = {}
    for policy in policies:
        combined = _combine(combined, _validated(policy, crit))
    if not isinstance(leaf_metadata, dict) or not all(isinstance(v, dict) for v in leaf_metadata.values()):
        raise _error(_MALFORMED, "metadata", None, "")
    metadata = copy.deepcopy(leaf_metadata)
    for entity_type, parameters in (superior_metadata or {}).items():
        if entity_type in metadata:
            if not isinstance(parameters, dict):
                raise _error(_MALFORMED, entity_type, None, "")
            metadata[entity_type].update(copy.deepcopy(parameters))
    return apply(combined, metadata)
