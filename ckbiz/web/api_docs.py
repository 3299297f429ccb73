"""The API's description: /api/v1/openapi.json as spectree generates it from the schemas that check
the requests, and /api/docs, a reference page rendered here from that same document."""
from flask import Blueprint, current_app, render_template

from .api import spec

bp = Blueprint("api_docs", __name__)
METHODS = ("get", "post")


@bp.get("/api/v1/openapi.json")
def openapi():
    """The OpenAPI 3.1 document; public, like any API reference."""
    return current_app.json.response(spec.spec)


@bp.get("/api/docs")
def reference():
    """The readable reference: every operation, its parameters and answers, and the schemas."""
    document = spec.spec
    operations = [(method.upper(), path, item[method])
                  for path, item in document["paths"].items() for method in METHODS if method in item]
    schemas = {name: fields_of(schema) for name, schema in sorted(document["components"]["schemas"].items())}
    return render_template("api_docs/reference.html", document=document, operations=operations, schemas=schemas,
                           type_of=type_of)


def fields_of(schema):
    """(name, type, required, description) of each property of an object schema."""
    required = set(schema.get("required", ()))
    return [(name, type_of(prop), name in required, prop.get("description", ""))
            for name, prop in schema.get("properties", {}).items()]


def type_of(prop):
    """A property's type as a reader wants it: «string», «InvoiceOut», «array of Position», «a | b»."""
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " | ".join(type_of(p) for p in prop["anyOf"])
    if "enum" in prop:
        return " | ".join(f'"{v}"' for v in prop["enum"])
    if prop.get("type") == "array":
        return f"array of {type_of(prop.get('items', {}))}"
    if prop.get("type") == "object" and "additionalProperties" in prop:
        return f"object of {type_of(prop['additionalProperties'])}"
    return prop.get("type", "any")
