"""The OpenAPI document is valid 3.1 and covers every routed path and method."""

import re

import falcon.inspect
from openapi_spec_validator import validate

from homerack.api import ui
from homerack.api.app import create_app


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
    page = {path for path, _, _ in ui.routes()}  # the web UI is not part of the API
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
        "used_u", "free_u", "used_pct", "weight_kg", "max_weight_kg", "weight_pct",
        "power_w", "max_power_w", "power_pct"}
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
    assert set(total["required"]) == {"cable_type", "stock_length_m", "count",
                                      "total_length_m"}
    csv_op = doc["paths"]["/api/racks/{id}/bom.csv"]["get"]
    ok = csv_op["responses"]["200"]
    assert list(ok["content"]) == ["text/csv"]
    assert "Content-Disposition" in ok["headers"]
    assert "apostrophe" in csv_op["description"] and "Viewers" in csv_op["description"]


def test_id_path_parameters_are_integers(config):
    doc = falcon.testing.TestClient(create_app(config)).simulate_get("/api/openapi.json").json
    params = [p for ops in doc["paths"].values() for op in ops.values()
              for p in op.get("parameters", []) if p["in"] == "path"]
    assert params and {p["name"] for p in params} == {"id"}
    assert all(p["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
               for p in params)
