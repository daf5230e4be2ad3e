"""The OpenAPI document, generated from the endpoint table and its pydantic models, and the
Swagger UI at /docs (assets from the swagger-ui-bundle package, served offline).

The document is OpenAPI 3.0.3: the bundled Swagger UI (4.x) renders no 3.1 document, and
every client generator reads 3.0. Pydantic writes JSON Schema 2020-12; `to_openapi_30`
rewrites the few constructs 3.0 spells differently (null as `nullable`, `const`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from swagger_ui_bundle import swagger_ui_path

from .auth import Role
from .endpoints import Endpoint, Reply
from .models import ErrorOut

REF = "#/components/schemas/{model}"
SECURITY_SCHEME = "bearerAuth"
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": (
        "An API token from `tonypi token create --name NAME --role viewer|operator|admin` "
        "(or, where configured, a JWT from the site's identity provider). Roles are ordered "
        "viewer < operator < admin; each operation says the least it needs."
    ),
}
DOCS_ASSETS = "/docs/static"


NULL = {"type": "null"}


def to_openapi_30(node: Any) -> Any:
    """A JSON Schema 2020-12 fragment as an OpenAPI 3.0 Schema Object."""
    if isinstance(node, list):
        return [to_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    for union in ("anyOf", "oneOf"):
        options = node.get(union)
        if options and NULL in options:
            rest = [option for option in options if option != NULL]
            node.pop(union)
            if len(rest) == 1 and "$ref" in rest[0]:
                node["allOf"] = rest  # 3.0 ignores the siblings of a $ref
            elif len(rest) == 1:
                node = {**rest[0], **node}
            else:
                node[union] = rest
            node["nullable"] = True
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if node.get("type") == "null":
        del node["type"]
        node["nullable"] = True
    return {key: to_openapi_30(value) for key, value in node.items()}


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def schema_for(self, model: Any, mode: str) -> dict[str, Any]:
        schema = to_openapi_30(TypeAdapter(model).json_schema(mode=mode, ref_template=REF))
        self.schemas.update(schema.pop("$defs", {}))
        if isinstance(model, type) and issubclass(model, BaseModel):
            self.schemas[model.__name__] = schema
            return {"$ref": REF.format(model=model.__name__)}
        return schema


def _parameters(model: type[BaseModel] | None, where: str, components: _Components) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = to_openapi_30(model.model_json_schema(mode="validation", ref_template=REF))
    components.schemas.update(schema.pop("$defs", {}))
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema["properties"].items():
        if prop.get("default", ...) is None:  # absent means no filter; a query string has no null
            del prop["default"]
            prop.pop("nullable", None)
        param = {"name": name, "in": where, "required": where == "path" or name in required, "schema": prop}
        if "description" in prop:
            param["description"] = prop["description"]
        params.append(param)
    return params


def _operation(endpoint: Endpoint, components: _Components, reads_open: bool) -> dict[str, Any]:
    anonymous_ok = reads_open and endpoint.role <= Role.VIEWER
    operation: dict[str, Any] = {
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "description": f"Needs a token with the **{endpoint.role.label}** role or higher"
        + (" (or none: this server has API_READS=open)." if anonymous_ok else "."),
        "x-required-role": endpoint.role.label,
        "security": [{SECURITY_SCHEME: []}, {}] if anonymous_ok else [{SECURITY_SCHEME: []}],
        "tags": [endpoint.tag],
        "parameters": (
            _parameters(endpoint.path_model, "path", components)
            + _parameters(endpoint.query_model, "query", components)
        ),
        "responses": {},
    }
    if endpoint.body_model is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": components.schema_for(endpoint.body_model, "validation")}
            },
        }
    replies = {
        401: Reply(ErrorOut, "no token, or one that is unknown, revoked or expired; `detail` says which"),
        403: Reply(ErrorOut, f"the token's role is below {endpoint.role.label}"),
        429: Reply(
            ErrorOut,
            "this client address failed authentication too often; its credentials are not looked at "
            "until Retry-After has passed",
            headers={"Retry-After": "seconds to wait"},
        ),
        **({415: Reply(ErrorOut, "the body is not application/json")} if endpoint.body_model else {}),
        **endpoint.replies,
    }
    for status, reply in sorted(replies.items()):
        response: dict[str, Any] = {
            "description": reply.description,
            "content": {
                media: {"schema": components.schema_for(reply.model, "serialization")}
                for media in (reply.media_type, *reply.also)
            },
        }
        if reply.headers:
            response["headers"] = {
                name: {"description": text, "schema": {"type": "string"}}
                for name, text in reply.headers.items()
            }
        operation["responses"][str(status)] = response
    return operation


def openapi_document(
    endpoints: list[Endpoint], title: str, version: str, description: str, *, reads_open: bool = False
) -> dict[str, Any]:
    components = _Components()
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(
            endpoint, components, reads_open
        )
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.schemas.items())),
            "securitySchemes": {SECURITY_SCHEME: BEARER},
        },
        "security": [{SECURITY_SCHEME: []}],
    }


SWAGGER_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8"><title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({{url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true}});</script>
</body></html>"""


def add_docs_routes(app: web.Application, document: dict[str, Any]) -> None:
    body = json.dumps(document).encode()
    page = SWAGGER_PAGE.format(title=document["info"]["title"], assets=DOCS_ASSETS)

    async def openapi_json(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def docs(_: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/docs", docs)
    app.router.add_static(DOCS_ASSETS, Path(str(swagger_ui_path)))
