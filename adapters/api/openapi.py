"""The OpenAPI 3.1 document of API v1, generated from the models that validate requests.

Every route the server mounts is listed in `OPERATIONS`; a test walks both to show that no
route lets a client approve or reject. Imports pydantic and our API models only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from adapters.api.problems import ABOUT, MEDIA_TYPE, Kind
from adapters.api.schema import (
    CancelBody,
    EventList,
    OpenRequestBody,
    Problem,
    RequestPage,
    RequestView,
    SystemView,
    WhoAmI,
)

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    response: type[BaseModel]
    success: int = 200
    body: type[BaseModel] | None = None
    refusals: tuple[Kind, ...] = ()
    parameters: tuple[dict[str, Any], ...] = ()
    example: dict[str, Any] | None = None


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}
_WAIT = {
    "name": "wait",
    "in": "query",
    "required": False,
    "description": "hold the answer until the request changes, at most this many seconds",
    "schema": {"type": "integer", "minimum": 0, "maximum": 30},
}
_TAG = {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}}


# The contract's example of an open: documentation, and where testers start their sequences.
OPEN_EXAMPLE: dict[str, Any] = {
    "system": "credit-scoring",
    "activity": "deploy",
    "version": "1.4.2",
    "environment": "production",
    "reason": "retrained on Q3 data",
    "artifact": {
        "digest": "sha256:" + "9f2c" * 16,
        "uri": "oci://registry.acme.example/credit@sha256:" + "9f2c" * 16,
    },
    "context": {
        "ci": {
            "provider": "github",
            "repository": "acme/credit-scoring",
            "run_id": "123",
            "run_url": "https://github.com/acme/credit-scoring/actions/runs/123",
        }
    },
}


def _query(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string", "maxLength": 200},
    }


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/api/v1/requests",
        "openRequest",
        "Ask the policy's people to approve one activity of one system",
        RequestView,
        success=201,
        body=OpenRequestBody,
        refusals=(
            Kind.MALFORMED,
            Kind.IDEMPOTENCY_KEY_REQUIRED,
            Kind.NOT_ALLOWED,
            Kind.UNKNOWN_SYSTEM,
            Kind.UNKNOWN_ACTIVITY,
            Kind.FROZEN,
            Kind.IN_FLIGHT,
            Kind.TOO_LARGE,
            Kind.KEY_REUSED,
            Kind.INVALID_FIELD,
            Kind.REFUSED,
            Kind.RATE_LIMITED,
        ),
        parameters=(_KEY,),
        example=OPEN_EXAMPLE,
    ),
    Operation(
        "get",
        "/api/v1/requests",
        "listRequests",
        "This client's requests, newest first, paged by cursor",
        RequestPage,
        refusals=(Kind.MALFORMED,),
        parameters=(
            _query("status", "pending, approved, rejected, expired or cancelled"),
            _query("system", "only this system"),
            _query("activity", "only this activity"),
            _query("cursor", "next_cursor of the previous page"),
        ),
    ),
    Operation(
        "get",
        "/api/v1/requests/{id}",
        "getRequest",
        "One request; with wait=S, answered when it changes or after S seconds",
        RequestView,
        refusals=(Kind.MALFORMED, Kind.NOT_FOUND),
        parameters=(_ID, _WAIT, _TAG),
    ),
    Operation(
        "post",
        "/api/v1/requests/{id}/cancel",
        "cancelRequest",
        "Withdraw a pending request this client opened",
        RequestView,
        body=CancelBody,
        refusals=(Kind.MALFORMED, Kind.NOT_FOUND, Kind.NOT_PENDING, Kind.INVALID_FIELD),
        parameters=(_ID,),
    ),
    Operation(
        "get",
        "/api/v1/requests/{id}/events",
        "listRequestEvents",
        "The request's ledger entries in order",
        EventList,
        refusals=(Kind.NOT_FOUND,),
        parameters=(_ID,),
    ),
    Operation(
        "get",
        "/api/v1/systems/{id}",
        "getSystem",
        "A system's tier, activities, Accountable roles, freeze and next review",
        SystemView,
        refusals=(Kind.UNKNOWN_SYSTEM,),
        parameters=(_ID,),
    ),
    Operation("get", "/api/v1/whoami", "whoAmI", "This client and what it may ask for", WhoAmI),
)
# Where an opened request's id leads (OpenAPI links): clients and stateful testers follow
# them from the open to the request's other operations.
OPENED_LINKS: dict[str, Any] = {
    name: {
        "operationId": operation_id,
        "parameters": {"id": "$response.body#/id"},
        "description": description,
    }
    for name, operation_id, description in (
        ("GetRequest", "getRequest", "read the request, or wait for its decision"),
        ("CancelRequest", "cancelRequest", "withdraw it while it is pending"),
        ("ListRequestEvents", "listRequestEvents", "its ledger entries"),
    )
}
# Refusals any authenticated route can give.
COMMON_REFUSALS = (Kind.UNAUTHENTICATED, Kind.UNAVAILABLE)


def _problem_response(kinds: tuple[Kind, ...]) -> dict[str, Any]:
    return {
        "description": "; ".join(f"{ABOUT[k].title} ({k.value})" for k in kinds),
        "content": {MEDIA_TYPE: {"schema": {"$ref": REF.format(model="Problem")}}},
    }


def _responses(operation: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(operation.success): {
            "description": operation.summary,
            "content": {
                "application/json": {
                    "schema": {"$ref": REF.format(model=operation.response.__name__)}
                }
            },
        }
    }
    if operation.operation_id == "openRequest":
        responses["201"]["links"] = OPENED_LINKS
        responses["200"] = {
            "description": "the request this Idempotency-Key opened before, whatever its state",
            "content": responses["201"]["content"],
            "links": OPENED_LINKS,
        }
    if operation.operation_id == "getRequest":
        responses["304"] = {"description": "unchanged since the ETag given in If-None-Match"}
    by_status: dict[int, list[Kind]] = {}
    for kind in (*operation.refusals, *COMMON_REFUSALS):
        by_status.setdefault(ABOUT[kind].status, []).append(kind)
    for status, kinds in sorted(by_status.items()):
        responses[str(status)] = _problem_response(tuple(kinds))
    if "429" in responses:
        responses["429"]["headers"] = {
            "Retry-After": {
                "description": "seconds to wait before asking again",
                "schema": {"type": "integer", "minimum": 1},
                "required": True,
            }
        }
    return responses


def openapi_document(server_url: str = "/") -> dict[str, Any]:
    """The whole document; the same object on every call for the same server URL."""
    models = {o.response for o in OPERATIONS} | {o.body for o in OPERATIONS if o.body}
    _, schemas = models_json_schema(
        [(m, "validation") for m in sorted(models | {Problem}, key=lambda m: m.__name__)],
        ref_template=REF,
    )
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        spec: dict[str, Any] = {
            "operationId": operation.operation_id,
            "summary": operation.summary,
            "parameters": list(operation.parameters),
            "responses": _responses(operation),
            "security": [{"bearer": []}],
        }
        if operation.body is not None:
            media: dict[str, Any] = {"schema": {"$ref": REF.format(model=operation.body.__name__)}}
            if operation.example is not None:
                media["examples"] = {"example": {"value": operation.example}}
            spec["requestBody"] = {"required": True, "content": {"application/json": media}}
        paths.setdefault(operation.path, {})[operation.method] = spec
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Signoff API v1",
            "version": "1.0.0",
            "description": "Pipelines and agents ask for approvals and wait; people decide in "
            "chat or the console. No route approves or rejects.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a client token from `signoff clients issue`, or a GitHub "
                    "Actions / GitLab CI ID token for Signoff's public URL",
                }
            },
        },
    }
