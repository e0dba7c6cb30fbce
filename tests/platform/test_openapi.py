"""The OpenAPI document is a usable contract: valid OpenAPI 3.1, every body and query
described, and what the handlers really answer matches what it says."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from tests.conftest import BACKENDS
from tests.support.api import Api, near

WRITE = ("POST", "PUT", "PATCH")


async def _doc(api: Api) -> dict[str, Any]:
    return dict(await api.call("GET", "/api/openapi.json", expect=200))


def _api_routes(api: Api) -> list[tuple[str, str, Any]]:
    out = []
    for route in api.client.app.router.routes():
        info = route.get_info()
        path = info.get("path") or info.get("formatter")
        if path and path.startswith("/api/v1/") and route.method in WRITE:
            out.append((route.method, path, route.handler))
    return out


def _resolve(doc: dict[str, Any], pointer: str) -> Any:
    assert pointer.startswith("#/"), pointer
    node: Any = doc
    for part in pointer[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_document_validates_as_openapi_31(api: Api) -> None:
    doc = await _doc(api)
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    ops = [op for item in doc["paths"].values() for op in item.values()]
    assert len(ops) > 100
    assert all(
        op["responses"].get("default", {}).get("$ref") == "#/components/responses/Problem"
        for op in ops
    )


async def test_every_ref_resolves(api: Api) -> None:
    doc = await _doc(api)
    refs = set(_refs(doc))
    assert len(refs) > 50
    for r in refs:
        assert _resolve(doc, r) is not None, r


async def test_every_body_the_code_parses_is_in_the_document(api: Api) -> None:
    """Read off the source: every write handler that parses a body has a requestBody."""
    doc = await _doc(api)
    parses = re.compile(
        r"\bparse(?:_optional)?\(\s*request|\.model_validate\(\s*(?:_json\(|await request)"
        r"|await request\.(?:read|json)\(\)"
    )
    missing = []
    for method, path, handler in _api_routes(api):
        src = inspect.getsource(inspect.unwrap(handler))
        if parses.search(src) and "requestBody" not in doc["paths"][path][method.lower()]:
            missing.append(f"{method} {path}")
    assert missing == []


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_every_body_the_server_checks_is_in_the_document(api: Api) -> None:
    """Probe the running app: a body with an unknown field is refused (422, the field named)
    by every handler that validates a body; each of those documents its body model."""
    doc = await _doc(api)
    probed, undocumented = 0, []
    for method, path, _ in _api_routes(api):
        url = re.sub(
            r"\{(\w+)(?::[^}]*)?\}", lambda m: "1" if m.group(1).endswith("_id") else "x", path
        )
        status, body = await api.call(
            method,
            url,
            "admin",
            json={"__probe__": 1},
            headers={"Idempotency-Key": "probe-key-0001"},
        )
        if path.startswith("/api/v1/auth/logout"):
            await api.login("admin")  # signing out takes no body: it ended the probe's session
        rejected = (
            status == 422
            and isinstance(body, dict)
            and any(e.get("loc", [None])[-1] == "__probe__" for e in body.get("errors", []))
        )
        if not rejected:
            continue
        probed += 1
        op = doc["paths"][path][method.lower()]
        schema = (
            op.get("requestBody", {})
            .get("content", {})
            .get("application/json", {})
            .get("schema", {})
        )
        if "$ref" not in schema:
            undocumented.append(f"{method} {path}")
    assert undocumented == []
    assert probed > 40


async def test_queries_headers_and_responses_are_described(api: Api) -> None:
    doc = await _doc(api)
    press = doc["paths"]["/api/v1/help-calls"]["post"]
    assert {"name": "Idempotency-Key", "in": "header"}.items() <= press["parameters"][0].items()
    assert press["parameters"][0]["required"] is True
    assert press["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/HelpCallIn"
    )
    assert press["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/IncidentOut"
    )
    listing = doc["paths"]["/api/v1/incidents"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"status", "elder_id", "page", "page_size"} <= names
    elders = {p["name"]: p for p in doc["paths"]["/api/v1/elders"]["get"]["parameters"]}
    assert (
        elders["page_size"]["schema"]["maximum"] == 100
        and elders["q"]["schema"]["type"] == "string"
    )
    reveal = doc["paths"]["/api/v1/elders/{elder_id}"]["get"]["parameters"]
    assert {"elder_id", "reveal"} <= {p["name"] for p in reveal}
    login = doc["paths"]["/api/v1/auth/login"]["post"]
    assert login["security"] == [] and login["responses"]["200"]["content"]["application/json"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if path.startswith("/api/v1/") and method != "get" and "{" in path:
                assert "404" in op["responses"], (method, path)
    # Another domain's routes are derived from its handlers (no edits to their files).
    other = [
        op
        for path, item in doc["paths"].items()
        if path.startswith("/api/v1/hotline/")
        for op in item.values()
        if "requestBody" in op
    ]
    assert len(other) >= 10


def _check(doc: dict[str, Any], path: str, method: str, status: int, answer: Any) -> None:
    schema = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"][
        "schema"
    ]
    OAS31Validator({**schema, "components": doc["components"]}).validate(answer)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
async def test_real_answers_match_the_documented_schemas(api: Api) -> None:
    doc = await _doc(api)
    inc = await api.press(expect=201)
    _check(doc, "/api/v1/help-calls", "post", 201, inc)
    _check(doc, "/api/v1/help-calls", "post", 200, await api.press(expect=200))
    await api.pump()
    _check(
        doc,
        "/api/v1/incidents",
        "get",
        200,
        await api.call("GET", "/api/v1/incidents", "operator", expect=200),
    )
    [offer] = await api.call("GET", "/api/v1/offers", "cg_a", expect=200)
    _check(doc, "/api/v1/offers", "get", 200, [offer])
    _check(
        doc,
        "/api/v1/offers/{offer_id}/accept",
        "post",
        200,
        await api.call("POST", f"/api/v1/offers/{offer['id']}/accept", "cg_a", expect=200),
    )
    _check(
        doc,
        "/api/v1/incidents/{incident_id}",
        "get",
        200,
        await api.call("GET", f"/api/v1/incidents/{inc['id']}", "cg_a", expect=200),
    )
    lat, lng = near(100, 100)
    _check(
        doc,
        "/api/v1/incidents/{incident_id}/arrive",
        "post",
        200,
        await api.call(
            "POST",
            f"/api/v1/incidents/{inc['id']}/arrive",
            "cg_a",
            expect=200,
            json={"location": {"lat": lat, "lng": lng, "coord_system": "gcj02"}},
        ),
    )
    _check(
        doc,
        "/api/v1/incidents/{incident_id}/resolve",
        "post",
        200,
        await api.call(
            "POST",
            f"/api/v1/incidents/{inc['id']}/resolve",
            "cg_a",
            json={"notes": "好"},
            expect=200,
        ),
    )
    _check(
        doc,
        "/api/v1/alarms",
        "get",
        200,
        await api.call("GET", "/api/v1/alarms?open=0", "operator", expect=200),
    )
    _check(
        doc,
        "/api/v1/elders",
        "get",
        200,
        await api.call("GET", "/api/v1/elders", "operator", expect=200),
    )
    _check(
        doc,
        "/api/v1/elders/{elder_id}",
        "get",
        200,
        await api.call(
            "GET", f"/api/v1/elders/{api.ids['elder']}?reveal=1", "operator", expect=200
        ),
    )
    _check(
        doc,
        "/api/v1/caregivers",
        "get",
        200,
        await api.call("GET", "/api/v1/caregivers", "operator", expect=200),
    )
    _check(
        doc,
        "/api/v1/caregivers/{caregiver_id}/deactivate",
        "post",
        200,
        await api.call(
            "POST", f"/api/v1/caregivers/{api.ids['cg_b']}/deactivate", "operator", expect=200
        ),
    )
    _check(
        doc,
        "/api/v1/caregivers/me/duty",
        "post",
        200,
        await api.call(
            "POST", "/api/v1/caregivers/me/duty", "cg_a", json={"on_duty": True}, expect=200
        ),
    )
    _check(
        doc,
        "/api/v1/auth/me",
        "get",
        200,
        await api.call("GET", "/api/v1/auth/me", "operator", expect=200),
    )
    _check(
        doc,
        "/api/v1/stations",
        "get",
        200,
        await api.call("GET", "/api/v1/stations", "operator", expect=200),
    )
    _check(
        doc,
        "/api/v1/bindings",
        "get",
        200,
        await api.call("GET", "/api/v1/bindings", "family", expect=200),
    )
    # Errors are the documented problem shape.
    status, problem = await api.call("GET", "/api/v1/incidents/999999", "operator")
    OAS31Validator(
        {
            **_resolve(doc, "#/components/responses/Problem")["content"][
                "application/problem+json"
            ]["schema"],
            "components": doc["components"],
        }
    ).validate(problem)
    assert status == 404
