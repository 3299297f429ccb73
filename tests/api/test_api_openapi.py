"""/api/v1/openapi.json is a valid OpenAPI 3.1 document that names every API route, generated from
the schemas that check requests; /api/docs renders it on the server, with no script and nothing
loaded from elsewhere."""
import re

from openapi_spec_validator import validate

PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def test_the_document_is_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.content_type == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_api_route_is_in_the_document_and_nothing_else(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    routes = {(method.lower(), PARAMETER.sub(r"{\1}", rule.rule)) for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("api.") for method in rule.methods - {"HEAD", "OPTIONS"}}
    described = {(method, path) for path, item in document["paths"].items() for method in item}
    assert routes == described
    assert len(routes) == 7


def test_the_document_describes_the_rules_the_requests_are_held_to(client):
    """The same schema checks the body: a closed object, money as a string, limit at most 100."""
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    invoice_in = schemas["InvoiceIn"]
    assert invoice_in["additionalProperties"] is False
    assert [t["type"] for t in invoice_in["properties"]["amount"]["anyOf"]] == ["string", "null"]
    limit = next(p for p in document["paths"]["/api/v1/invoices"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 100 and limit["schema"]["default"] == 50
    assert document["components"]["securitySchemes"]["key"] == {"type": "http", "scheme": "bearer"}


def test_the_reference_page_is_rendered_here_from_the_document(client):
    response = client.get("/api/docs")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    document = client.get("/api/v1/openapi.json").get_json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert f"{method.upper()} {path}" in html and operation["summary"] in html
    assert "InvoiceIn" in html and "validity_hours" in html and "Idempotency-Key" in html
    assert "<script" not in html and " style=" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing from a CDN
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
