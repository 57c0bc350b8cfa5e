"""Schemas from the official API descriptions in tests/api_specs, made strict for validation.

`$ref`s are inlined (OpenAPI's ``#/components/...``, Swagger's inline
definitions, Google discovery's bare names), Google's ``any`` becomes "any
value", and every object with ``properties`` gets ``additionalProperties:
false`` so the sandbox cannot invent fields the real API does not have.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

# Kept in the repository (provenance and licences in each folder's SOURCE.md).
SPECS = Path(__file__).resolve().parent / "api_specs"


@cache
def mailchimp_openapi() -> dict[str, Any]:
    return json.loads((SPECS / "mailchimp" / "marketing-3.0.81.openapi.json").read_text())


@cache
def mailchimp_yaml(name: str) -> dict[str, Any]:
    return yaml.safe_load((SPECS / "mailchimp" / name).read_text())


@cache
def sheets_discovery() -> dict[str, Any]:
    return json.loads((SPECS / "sheets" / "sheets.v4.json").read_text())


def _strict(schema: Any, lookup, depth: int = 0) -> Any:
    if depth > 40:
        return {}
    if isinstance(schema, list):
        return [_strict(s, lookup, depth + 1) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return _strict(lookup(schema["$ref"]), lookup, depth + 1)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("description", "title", "example", "readOnly", "id", "format",
                   "x-custom-config", "enumDescriptions", "deprecated", "annotations"):
            continue
        if key == "properties":
            out[key] = {k: _strict(v, lookup, depth + 1) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _strict(value, lookup, depth + 1)
        elif key == "type" and value == "any" or key == "nullable":
            continue
        else:
            out[key] = value
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def mailchimp_response_schema(path: str, method: str = "get") -> dict[str, Any]:
    doc = mailchimp_openapi()
    op = doc["paths"][path][method]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]

    def lookup(pointer: str) -> Any:
        node: Any = doc
        for part in pointer.lstrip("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    return _strict(ref, lookup)


def mailchimp_problem_schema() -> dict[str, Any]:
    doc = mailchimp_openapi()
    return _strict(doc["components"]["schemas"]["Problem_Detail_Document"], lambda p: {})


def mailchimp_yaml_response_schema(file: str, path: str) -> dict[str, Any]:
    doc = mailchimp_yaml(file)
    return _strict(doc["paths"][path]["get"]["responses"]["200"]["schema"], lambda p: {})


def member_schema() -> dict[str, Any]:
    """The member object (the OpenAPI file's own is broken, see api_specs/mailchimp/SOURCE.md)."""
    collection = mailchimp_yaml_response_schema("members-3.0.55.swagger2.yml",
                                                "/lists/{list_id}/members")
    return collection["properties"]["members"]["items"]


def sheets_schema(name: str) -> dict[str, Any]:
    doc = sheets_discovery()
    return _strict({"$ref": name}, lambda ref: doc["schemas"][ref])


def validate(instance: Any, schema: dict[str, Any]) -> None:
    jsonschema.Draft7Validator(schema).validate(instance)


def mailchimp_operation(path: str, method: str) -> dict[str, Any] | None:
    return mailchimp_openapi()["paths"].get(path, {}).get(method.lower())


def sheets_method(flat_path: str, http_method: str) -> dict[str, Any] | None:
    doc = sheets_discovery()

    def walk(resource: dict[str, Any]):
        yield from resource.get("methods", {}).values()
        for sub in resource.get("resources", {}).values():
            yield from walk(sub)

    for method in walk(doc["resources"]["spreadsheets"]):
        if method["flatPath"] == flat_path and method["httpMethod"] == http_method:
            return method
    return None
