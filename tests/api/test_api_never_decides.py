"""A machine asks, a person decides: no route, method or field of API v1 approves or rejects.

Walks the OpenAPI document (every operation, every request body's fields, nested ones too)
and the routes the adapter mounts, so a route added later without the document is caught.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from adapters.api.openapi import OPERATIONS, openapi_document
from adapters.api.routes import api_routes
from adapters.api.schema import OpenRequestBody
from tests.api.backend_stub import NoBackend

DECIDING = re.compile(r"approv|reject|decid|verdict|vote|accept|deny|sign.?off|concern", re.I)
# What a client may do to a request it opened: read it, wait on it, withdraw it.
ALLOWED = {
    ("POST", "/api/v1/requests"),
    ("GET", "/api/v1/requests"),
    ("GET", "/api/v1/requests/{id}"),
    ("POST", "/api/v1/requests/{id}/cancel"),
    ("GET", "/api/v1/requests/{id}/events"),
    ("GET", "/api/v1/systems/{id}"),
    ("GET", "/api/v1/whoami"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/problems/{kind}"),
}


def _properties(schema: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    """Every property name reachable from `schema`, through $refs, unions and arrays."""
    found: set[str] = set()
    stack, seen = [schema], set()
    while stack:
        node = stack.pop()
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                stack.append(schemas[name])
            continue
        for prop, sub in node.get("properties", {}).items():
            found.add(prop)
            stack.append(sub)
        for key in ("anyOf", "oneOf", "allOf"):
            stack.extend(node.get(key, []))
        if isinstance(node.get("items"), dict):
            stack.append(node["items"])
    return found


def test_no_operation_of_the_openapi_document_approves_or_rejects() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]
    operations = [
        (method.upper(), path, spec)
        for path, methods in document["paths"].items()
        for method, spec in methods.items()
    ]
    assert len(operations) == len(OPERATIONS)
    for method, path, spec in operations:
        assert (method, path) in ALLOWED, (method, path)
        assert not DECIDING.search(path + spec["operationId"]), path
        for parameter in spec["parameters"]:
            assert not DECIDING.search(parameter["name"]), (path, parameter["name"])
        body = spec.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None:
            fields = _properties(body["schema"], schemas)
            assert fields, path
            assert not {f for f in fields if DECIDING.search(f)}, (path, fields)
    # The walker sees nested fields: the open body's artifact digest is found.
    schema = OpenRequestBody.model_json_schema()
    assert {"system", "on_behalf_of", "digest", "url"} <= _properties(schema, schema["$defs"])


def test_every_mounted_route_is_one_the_document_lists_and_none_decides() -> None:
    app = web.Application()
    app.router.add_routes(api_routes(NoBackend()))
    mounted = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }
    assert mounted == ALLOWED
    assert not [path for _, path in mounted if DECIDING.search(path)]


def test_a_body_field_that_would_approve_is_refused_not_ignored() -> None:
    for field in ("approved", "status", "verdict", "approvals"):
        payload = {"system": "support-chatbot", "version": "1", field: "approve"}
        try:
            OpenRequestBody.model_validate(payload)
        except ValueError as error:
            assert field in str(error)
        else:
            raise AssertionError(f"{field} was accepted")
