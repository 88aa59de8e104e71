"""The OpenAPI 3.1 document, built from the routes and the pydantic input models.

Each resource describes its responders in an ``openapi`` mapping (responder name
-> summary, tags, body model, ...). A route without a description is an error
when the document is built, so the document cannot silently miss a route.
"""

from __future__ import annotations

import re
from copy import deepcopy

from .. import __version__
from ..domain.schemas import MAX_ID

_METHODS = ("get", "post", "put", "patch", "delete")
_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")
_ERROR = {"$ref": "#/components/responses/Error"}
_DEFAULT_RESPONSES = {
    "on_get": {"200": "OK"}, "on_post": {"200": "OK"}, "on_put": {"200": "OK"},
    "on_patch": {"200": "the changed record"}, "on_delete": {"200": "OK"},
}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


class _Builder:
    def __init__(self):
        self.schemas: dict = {
            "Error": {"type": "object", "required": ["title"], "properties": {
                "title": {"type": "string"}, "description": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "object", "properties": {
                    "field": {"type": "string"}, "reason": {"type": "string"}}}}}},
            "Page": {"type": "object", "required": ["items", "total"], "properties": {
                "items": {"type": "array", "items": {"type": "object"}},
                "total": {"type": "integer"}, "limit": {"type": "integer"},
                "offset": {"type": "integer"}}},
        }

    def model(self, model, partial: bool = False, mode: str = "validation") -> dict:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}",
                                         mode=mode)
        self.schemas.update(schema.pop("$defs", {}))
        name = model.__name__
        if partial:  # PATCH: any subset of the fields
            schema = deepcopy(schema)
            schema.pop("required", None)
            name += "Patch"
        self.schemas[name] = schema
        return {"$ref": f"#/components/schemas/{name}"}

    def response(self, model) -> dict:
        """The schema of a response document (an output model of domain.schemas)."""
        return self.model(model, mode="serialization")

    def page(self, item) -> dict:
        """A list answer; with ``item`` (an output model) its items are described too."""
        if item is None:
            return {"$ref": "#/components/schemas/Page"}
        name = f"{item.__name__}Page"
        self.schemas[name] = {"allOf": [{"$ref": "#/components/schemas/Page"}, {
            "type": "object", "properties": {
                "items": {"type": "array", "items": self.response(item)}}}]}
        return {"$ref": f"#/components/schemas/{name}"}

    def operation(self, template: str, fname: str, spec: dict) -> dict:
        """The operation of ``fname`` on a Falcon route ``template`` (``{id:int}``: an
        integer path parameter)."""
        path = _PARAM.sub(r"{\1}", template)
        op: dict = {"summary": spec["summary"], "tags": spec.get("tags", []),
                    "operationId": re.sub(r"\W+", "_", f"{fname[3:]}{path}").strip("_")}
        if "description" in spec:
            op["description"] = spec["description"]
        params = [{"name": name, "in": "path", "required": True,
                   "schema": ({"type": "integer", "minimum": 1, "maximum": MAX_ID}
                              if conv == "int" else {"type": "string"})}
                  for name, conv in _PARAM.findall(template)]
        if spec.get("list"):
            params += [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                              "maximum": 500, "default": 50}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0,
                                                               "default": 0}}]
        params += spec.get("parameters", [])
        if params:
            op["parameters"] = params
        if "body" in spec:
            op["requestBody"] = {"required": True, "content": _json(
                self.model(spec["body"], spec.get("partial", False)))}
        elif spec.get("binary_body"):
            op["requestBody"] = {"required": True, "content": {
                t: {"schema": {"type": "string", "format": "binary"}}
                for t in ("image/png", "image/jpeg", "image/webp")}}
        base = fname.split("_")[0] + "_" + fname.split("_")[1]
        responses = {**_DEFAULT_RESPONSES[base], **spec.get("responses", {})}
        op["responses"] = {}
        for code, description in responses.items():
            body = ({"content": _json(self.page(spec.get("item")))}
                    if spec.get("list") and code == "200" else
                    {"content": {spec["content_type"]: {"schema": {"type": "string"}}}}
                    if "content_type" in spec and code == "200" else
                    {} if code == "204" or int(code) >= 400 else
                    {"content": _json(self.response(spec["response"]))}
                    if "response" in spec and code in ("200", "201") else
                    {"content": _json({"type": "object"})})
            if code in ("200", "201") and "headers" in spec:
                body["headers"] = {name: {"description": text, "schema": {"type": "string"}}
                                   for name, text in spec["headers"].items()}
            op["responses"][code] = {"description": description, **body}
        for code in ("400", "401", "403", "404", "409", "422", "429"):
            op["responses"].setdefault(code, _ERROR)
        if "security" in spec:
            op["security"] = spec["security"]
        return op


def build(routes: list[tuple]) -> dict:
    """The document for ``routes``: (Falcon path template, resource, suffix) tuples."""
    builder = _Builder()
    paths: dict = {}
    for template, resource, suffix in routes:
        path = _PARAM.sub(r"{\1}", template)
        described = getattr(resource, "openapi", {})
        for method in _METHODS:
            fname = f"on_{method}" + (f"_{suffix}" if suffix else "")
            if not hasattr(resource, fname):
                continue
            if fname not in described:
                raise LookupError(f"{type(resource).__name__}.{fname} ({path}) has no "
                                  "OpenAPI description")
            paths.setdefault(path, {})[method] = builder.operation(template, fname,
                                                                   described[fname])
    return {
        "openapi": "3.1.0",
        "info": {"title": "HomeRack API", "version": __version__,
                 "description": "Plan homelab racks: catalog, racks, devices and cables."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": builder.schemas,
            "responses": {"Error": {"description": "an error (see title and description)",
                                    "content": _json({"$ref": "#/components/schemas/Error"})}},
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "bearerFormat": "JWT"}},
        },
        "security": [{"bearerAuth": []}],
    }


class OpenApiResource:
    public = True
    openapi = {"on_get": {"summary": "This OpenAPI document", "tags": ["meta"],
                          "security": []}}

    def __init__(self):
        self.document: dict = {}

    async def on_get(self, req, resp) -> None:
        resp.media = self.document
