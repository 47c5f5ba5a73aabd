"""The OpenAPI document says where an opened request's id leads, so a client or a stateful
tester can chain the open to the request's other operations without guessing URLs."""

from __future__ import annotations

from typing import Any

import schemathesis

from adapters.api.openapi import OPERATIONS, openapi_document

FOLLOWED = {"getRequest", "cancelRequest", "listRequestEvents"}


def _links(document: dict[str, Any], status: str) -> dict[str, Any]:
    opened = document["paths"]["/api/v1/requests"]["post"]["responses"][status]
    links: dict[str, Any] = opened["links"]
    return links


def test_an_open_links_to_reading_cancelling_and_the_events_of_the_request_by_its_id() -> None:
    document = openapi_document()
    by_id = {o.operation_id: o for o in OPERATIONS}
    view = document["components"]["schemas"]["RequestView"]
    for status in ("201", "200"):
        links = _links(document, status)
        assert {link["operationId"] for link in links.values()} == FOLLOWED
        for link in links.values():
            target = by_id[link["operationId"]]
            path_parameters = {p["name"] for p in target.parameters if p["in"] == "path"}
            # Every path parameter the target needs is filled from a field the open returns.
            assert set(link["parameters"]) == path_parameters == {"id"}
            field = link["parameters"]["id"].removeprefix("$response.body#/")
            assert field in view["required"] and view["properties"][field]["type"] == "string"


def test_schemathesis_reads_the_links_as_steps_from_an_open() -> None:
    machine = schemathesis.openapi.from_dict(openapi_document()).as_state_machine()
    steps = [name for name in dir(machine) if name.startswith("POST_api_v1_requests___201_")]
    for link in _links(openapi_document(), "201"):
        assert any(f"_{link}__" in step for step in steps), (link, steps)


def test_every_429_the_document_lists_declares_its_retry_after_header() -> None:
    limited = [
        (path, method, operation["responses"]["429"])
        for path, methods in openapi_document()["paths"].items()
        for method, operation in methods.items()
        if "429" in operation["responses"]
    ]
    assert limited, "opening is rate limited: the document must say so"
    for path, method, response in limited:
        header = response["headers"]["Retry-After"]
        assert header["required"] and header["schema"]["type"] == "integer", (path, method)
