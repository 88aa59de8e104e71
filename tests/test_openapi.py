"""The OpenAPI document is valid 3.1 and covers every routed path and method."""

import dataclasses
import re

import falcon.inspect
import falcon.testing
import pytest
from helpers import token
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from pydantic import ValidationError

from homerack.api import ui
from homerack.api.app import create_app
from homerack.domain.schemas import BrandIn, LoginIn, RackIn, UserIn


async def test_document_is_valid_openapi_31(api):
    result = await api.get("/api/openapi.json", role=None)
    assert result.status_code == 200
    doc = result.json
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_every_routed_path_and_method_is_documented(config):
    app = create_app(config)
    doc = (falcon.testing.TestClient(app).simulate_get("/api/openapi.json")).json
    routed = set()
    # The web UI and the logo files are not part of the API.
    page = {path for path, _, _ in ui.routes()} | {"/uploads/logos/{name}"}
    for route in falcon.inspect.inspect_routes(app):
        if route.path in page:
            continue
        path = re.sub(r"{(\w+)(?::\w+)?}", r"{\1}", route.path)
        for method in route.methods:
            if not method.internal and method.method not in ("OPTIONS", "HEAD"):
                routed.add((path, method.method.lower()))
    documented = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert routed, "no routes found"
    assert routed == documented


def test_write_operations_document_their_bodies(config):
    doc = falcon.testing.TestClient(create_app(config)).simulate_get("/api/openapi.json").json
    rack_post = doc["paths"]["/api/racks"]["post"]
    ref = rack_post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"name", "u_height"}
    assert schema["properties"]["u_height"]["maximum"] == 60
    patch = doc["paths"]["/api/racks/{id}"]["patch"]["requestBody"]
    patch_ref = patch["content"]["application/json"]["schema"]["$ref"]
    assert "required" not in doc["components"]["schemas"][patch_ref.rsplit("/", 1)[1]]
    assert doc["paths"]["/api/auth/login"]["post"]["security"] == []
    assert "image/png" in doc["paths"]["/api/brands/{id}/logo"]["put"]["requestBody"]["content"]


def test_device_schema_has_serial_number_and_management_url(config):
    doc = falcon.testing.TestClient(create_app(config)).simulate_get("/api/openapi.json").json
    props = doc["components"]["schemas"]["DeviceIn"]["properties"]
    assert props["serial_number"]["maxLength"] == 100
    assert props["management_url"]["maxLength"] == 500
    assert "admin page" in props["management_url"]["description"]


def _schema(doc: dict, ref_holder: dict) -> dict:
    return doc["components"]["schemas"][ref_holder["$ref"].rsplit("/", 1)[1]]


def _answer(doc: dict, path: str, method: str, code: str = "200") -> dict:
    response = doc["paths"][path][method]["responses"][code]
    return _schema(doc, response["content"]["application/json"]["schema"])


def test_rack_list_items_are_described_with_their_utilization(config):
    doc = falcon.testing.TestClient(create_app(config)).simulate_get("/api/openapi.json").json
    page = _answer(doc, "/api/racks", "get")
    item = _schema(doc, page["allOf"][1]["properties"]["items"]["items"])
    assert {"id", "name", "u_height", "utilization"} <= set(item["required"])
    utilization = _schema(doc, item["properties"]["utilization"])
    assert set(utilization["required"]) == {
        "used_u",
        "free_u",
        "used_pct",
        "weight_kg",
        "max_weight_kg",
        "weight_pct",
        "power_w",
        "max_power_w",
        "power_pct",
    }
    detail = _answer(doc, "/api/racks/{id}", "get")
    assert _schema(doc, detail["properties"]["utilization"]) == utilization
    assert "utilization" not in _answer(doc, "/api/racks", "post", "201")["properties"]


def test_device_rows_are_described_with_brand_id_and_logo_url(config):
    doc = falcon.testing.TestClient(create_app(config)).simulate_get("/api/openapi.json").json
    detail = _answer(doc, "/api/racks/{id}", "get")
    row = _schema(doc, detail["properties"]["devices"]["items"])
    device = _answer(doc, "/api/devices/{id}", "get")
    for schema in (row, device):
        assert {"brand_id", "logo_url"} <= set(schema["required"])
        assert {"type": "null"} in schema["properties"]["logo_url"]["anyOf"]
    assert _answer(doc, "/api/devices/{id}", "patch") == device
    assert _answer(doc, "/api/devices", "post", "201") == device


def test_bom_routes_are_described(config):
    doc = falcon.testing.TestClient(create_app(config)).simulate_get("/api/openapi.json").json
    report = _answer(doc, "/api/racks/{id}/bom", "get")
    total = _schema(doc, report["properties"]["totals"]["items"])
    assert set(total["required"]) == {"cable_type", "stock_length_m", "count", "total_length_m"}
    csv_op = doc["paths"]["/api/racks/{id}/bom.csv"]["get"]
    ok = csv_op["responses"]["200"]
    assert list(ok["content"]) == ["text/csv"]
    assert "Content-Disposition" in ok["headers"]
    assert "apostrophe" in csv_op["description"] and "Viewers" in csv_op["description"]


def test_id_path_parameters_are_integers(config):
    doc = falcon.testing.TestClient(create_app(config)).simulate_get("/api/openapi.json").json
    params = [
        p
        for ops in doc["paths"].values()
        for op in ops.values()
        for p in op.get("parameters", [])
        if p["in"] == "path"
    ]
    assert params and {p["name"] for p in params} == {"id"}
    assert all(
        p["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1} for p in params
    )


# -- the document says what the server does (issue 12) ---------------------------


def _doc(config) -> dict:
    return falcon.testing.TestClient(create_app(config)).simulate_get("/api/openapi.json").json


def test_detailed_health_takes_an_optional_token_as_the_server_does(config):
    doc = _doc(config)
    for path in ("/api/health/detailed", "/api/health/cache/stats"):
        op = doc["paths"][path]["get"]
        assert op["security"] == [{}, {"bearerAuth": []}]
        assert "403" in op["responses"] and "TRUSTED_NETWORKS" in op["description"]
    # From a trusted address (the test client's 127.0.0.1) no token is needed.
    client = falcon.testing.TestClient(create_app(config))
    assert client.simulate_get("/api/health/detailed").status_code == 200
    untrusted = falcon.testing.TestClient(
        create_app(dataclasses.replace(config, trusted_networks=()))
    )
    assert untrusted.simulate_get("/api/health/detailed").status_code == 403


def test_query_parameters_carry_the_bounds_the_server_enforces(config):
    doc = _doc(config)
    params = {p["name"]: p["schema"] for p in doc["paths"]["/api/devices"]["get"]["parameters"]}
    assert params["offset"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1, "default": 0}
    assert params["limit"]["minimum"] == 1 and params["limit"]["maximum"] == 500
    assert params["rack_id"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    assert "pattern" in params["q"]
    client = falcon.testing.TestClient(create_app(config))
    headers = {"Authorization": f"Bearer {token()}"}
    for query in ("offset=2147483648", "rack_id=0", "rack_id=2147483648", "q=a%00b"):
        assert client.simulate_get("/api/devices?" + query, headers=headers).status_code == 400, (
            query
        )
    positions = doc["paths"]["/api/racks/{id}/elevation.svg"]["get"]["parameters"][1]
    assert positions["name"] == "positions" and positions["schema"]["pattern"]


def test_every_json_answer_has_a_real_schema_and_statuses_are_complete(config):
    doc = _doc(config)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            codes = set(op["responses"])
            for code, response in op["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema is not None and path != "/api/openapi.json":
                    assert schema != {"type": "object"}, (method, path, code)
            if "requestBody" in op:
                assert "415" in codes, (method, path)
            if "201" in codes or "204" in codes:
                assert "200" not in codes, (method, path)  # it never answers 200
            if op.get("security") != []:
                assert {"401", "403"} <= codes, (method, path)
    assert "503" in doc["paths"]["/api/racks/{id}/optimize"]["post"]["responses"]
    assert "413" in doc["paths"]["/api/brands/{id}/logo"]["put"]["responses"]


def test_created_records_link_to_their_operations(config):
    doc = _doc(config)
    links = doc["paths"]["/api/racks"]["post"]["responses"]["201"]["links"]
    targets = {link["operationId"] for link in links.values()}
    assert {
        "get_item_api_racks_id",
        "patch_item_api_racks_id",
        "delete_item_api_racks_id",
        "get_elevation_api_racks_id_elevation_svg",
    } <= targets
    assert all(link["parameters"] == {"id": "$response.body#/id"} for link in links.values())
    ops = {op["operationId"] for ops in doc["paths"].values() for op in ops.values()}
    for path in (
        "/api/brands",
        "/api/device-types",
        "/api/devices",
        "/api/connections",
        "/api/users",
    ):
        for link in doc["paths"][path]["post"]["responses"]["201"]["links"].values():
            assert link["operationId"] in ops
    brand_links = doc["paths"]["/api/brands"]["post"]["responses"]["201"]["links"]
    assert brand_links["create_device_types"]["requestBody"] == {"brand_id": "$response.body#/id"}


async def test_integral_numbers_are_integers(api):
    # JSON Schema counts 58.0 as an integer; so does the server now.
    rack = await api.post("/api/racks", json={"name": "R", "u_height": 42.0, "width_in": 19.0})
    assert rack.status_code == 201, rack.text
    assert rack.json["u_height"] == 42 and type(rack.json["u_height"]) is int
    half = await api.post("/api/racks", json={"name": "S", "u_height": 42.5})
    assert half.status_code == 422 and half.json["errors"][0]["field"] == "u_height"
    patch = await api.patch(f"/api/racks/{rack.json['id']}", json={"ergonomic_u": 20.0})
    assert patch.status_code == 200 and patch.json["ergonomic_u"] == 20


# Pieces that sit on the edges of the rules: whitespace that is trimmed or not, control
# and bidi characters, the URL schemes, a Kelvin sign (it lowercases to an ASCII "k").
_PIECES = [
    *"aZ0 .:/_-@",
    "http",
    "https://",
    "\t",
    "\n",
    "\r",
    "\x0b",
    "\x1c",
    "\x1f",
    "\x00",
    "\x7f",
    "\x85",
    "\x9f",
    "\xa0",
    "\u1680",
    "\u2000",
    "\u2028",
    "\u202e",
    "\u2066",
    "\u200f",
    "\u3000",
    "\ufeff",
    "é",
    "\u212a",
]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)


@pytest.mark.parametrize(
    ("model", "field", "base"),
    [
        (RackIn, "name", {"u_height": 4}),
        (RackIn, "location", {"name": "R", "u_height": 4}),
        (RackIn, "notes", {"name": "R", "u_height": 4}),
        (BrandIn, "website", {"name": "B"}),
        (UserIn, "username", {"password": "x" * 12}),
        (LoginIn, "username", {"password": "x"}),
    ],
)
@given(text=_TEXT)
@settings(max_examples=300, deadline=None, derandomize=True)
def test_published_patterns_say_exactly_what_the_server_accepts(model, field, base, text):
    schema = model.model_json_schema()["properties"][field]
    published = re.fullmatch(schema["pattern"], text) is not None and (
        len(text) <= schema.get("maxLength", len(text))
    )
    try:
        model.model_validate({**base, field: text})
        accepted = True
    except ValidationError:
        accepted = False
    assert published == accepted, (field, text)
