"""The OpenAPI 3.1 document of the CKAN Action API (issue 21, part oapi), served at
``/api/3/openapi.json``: one GET and one POST operation per action, the parameters each
action reads, CKAN's success and error envelopes, and our error codes."""

from __future__ import annotations

from tungban.core.errors import declared_errors

from . import errors

_STR = {"type": "string"}
_INT = {"type": "integer", "minimum": 0}
_BOOL = {"type": "boolean"}

#: The parameters of each action: name → (schema, description).
PARAMETERS: dict[str, dict[str, tuple[dict, str]]] = {
    "package_list": {"limit": (_INT, "how many names"), "offset": (_INT, "skip this many")},
    "package_show": {"id": (_STR, "the dataset's name or UUID (required)")},
    "package_search": {
        "q": (_STR, "free text: English, Traditional or Simplified Chinese; every word must match"),
        "fq": (
            _STR,
            'filter clauses field:value or field:"value" (organization, groups, tags, res_format, '
            "license_id, name), space or AND separated",
        ),
        "rows": ({"type": "integer", "minimum": 0, "maximum": 1000}, "page size (default 10, at most 1000)"),
        "start": (_INT, "offset of the page"),
        "sort": (
            {"type": "string", "enum": ["score desc", "metadata_modified desc", "name asc", "title_string asc"]},
            "order",
        ),
        "facet": (_BOOL, "count facets (default true)"),
        "facet.field": (_STR, 'JSON list of fields, e.g. ["organization","groups"]'),
        "facet.limit": ({"type": "integer", "minimum": -1}, "values per facet (default 50, -1 all)"),
        "facet.mincount": (_INT, "smallest count listed (default 1)"),
    },
    "resource_show": {"id": (_STR, "the resource's UUID (required)")},
    "organization_list": {
        "all_fields": (_BOOL, "dicts with package_count instead of names"),
        "limit": (_INT, "at most 1000 (default 1000)"),
        "offset": (_INT, "skip this many"),
    },
    "organization_show": {
        "id": (_STR, "name or UUID (required)"),
        "include_datasets": (_BOOL, "add up to 1000 of its datasets"),
    },
    "group_list": {
        "all_fields": (_BOOL, "dicts with package_count instead of names"),
        "limit": (_INT, "at most 1000 (default 1000)"),
        "offset": (_INT, "skip this many"),
    },
    "group_show": {
        "id": (_STR, "name or UUID (required)"),
        "include_datasets": (_BOOL, "add up to 1000 of its datasets"),
    },
    "tag_list": {"query": (_STR, "only tags containing this"), "all_fields": (_BOOL, "dicts instead of names")},
    "status_show": {},
    "help_show": {"name": (_STR, "an action's name (required)")},
    "datastore_search": {
        "resource_id": (_STR, "a CSV resource's UUID (required)"),
        "filters": (_STR, "JSON object {field: value or [values]}"),
        "q": (_STR, "text a row contains (any field), or a JSON object {field: text}"),
        "limit": ({"type": "integer", "minimum": 0, "maximum": 32000}, "rows (default 100, at most 32000)"),
        "offset": (_INT, "skip this many rows"),
        "fields": (_STR, "comma-separated field names"),
        "sort": (_STR, '"field [asc|desc], ..."'),
    },
}


def document(base: str, actions: dict) -> dict:
    """The OpenAPI document for the server at ``base`` (``https://host``)."""
    codes = [{"code": e.code, "status": e.status, "message": str(e.default_message)} for e in declared_errors(errors)]
    envelope_ok = {
        "type": "object",
        "required": ["help", "success", "result"],
        "properties": {"help": {"type": "string", "format": "uri"}, "success": {"const": True}, "result": {}},
    }
    envelope_error = {
        "type": "object",
        "required": ["help", "success", "error"],
        "properties": {
            "help": {"type": "string", "format": "uri"},
            "success": {"const": False},
            "error": {
                "type": "object",
                "required": ["message", "code"],
                "properties": {
                    "__type": {"enum": ["Not Found Error", "Validation Error", "Authorization Error"]},
                    "message": {"type": "string"},
                    "code": {"enum": sorted({c["code"] for c in codes})},
                },
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
        },
    }
    responses = {
        "200": {
            "description": "CKAN's success envelope",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Success"}}},
        },
        **{
            str(s): {
                "description": d,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
            for s, d in (
                (400, "unknown action"),
                (403, "Authorization Error"),
                (404, "Not Found Error"),
                (409, "Validation Error"),
            )
        },
    }
    paths = {}
    for name, fn in sorted(actions.items()):
        params = PARAMETERS.get(name, {})
        get = {
            "operationId": f"{name}_get",
            "summary": (fn.__doc__ or "").strip().split("\n")[0],
            "description": (fn.__doc__ or "").strip(),
            "tags": ["CKAN Action API"],
            "parameters": [
                {"name": p, "in": "query", "required": False, "schema": schema, "description": desc}
                for p, (schema, desc) in params.items()
            ],
            "responses": responses,
        }
        if name in ("package_show", "package_search"):
            get["responses"] = {**responses, "304": {"description": "Not Modified (If-None-Match matched the ETag)"}}
        post = {
            "operationId": f"{name}_post",
            "summary": get["summary"],
            "tags": ["CKAN Action API"],
            "requestBody": {
                "required": False,
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "properties": {p: schema for p, (schema, _d) in params.items()}}
                    }
                },
            },
            "responses": responses,
        }
        paths[f"/api/3/action/{name}"] = {"get": get, "post": post}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tungban open data — CKAN Action API v3 (read subset)",
            "version": "3",
            "description": "CKAN's actions over the open-data catalogue. The same paths answer under "
            "/en-data/ (English), /tc-data/ (Traditional Chinese) and /sc-data/ (Simplified Chinese); "
            "/api/action/<name> is an alias.",
        },
        "servers": [{"url": base}],
        "paths": paths,
        "components": {"schemas": {"Success": envelope_ok, "Error": envelope_error}},
        "x-error-codes": codes,
    }
