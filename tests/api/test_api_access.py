"""Who the API answers: a live key of the merchant, never the session cookie, never another
merchant's invoices; and how often: API_RATE_PER_MINUTE per key, then 429 with Retry-After."""
import pytest

from api_helpers import Api, api, api_key, invoices_of, issue_body, new_key  # noqa: F401
from ckbiz.domain import api_keys
from ckbiz.extensions import db
from ckbiz.models import ApiKey, Merchant, RateCounter
from factories import make_invoice, other_merchant

NUMBERED = ("GET /api/v1/invoices/{n}", "POST /api/v1/invoices/{n}/remind", "POST /api/v1/invoices/{n}/cancel",
            "POST /api/v1/invoices/{n}/mark-paid")


def api_rules(app):
    """(method, path) of every API operation, {n} standing for an invoice number."""
    return sorted((method, rule.rule.replace("<int:number>", "{n}")) for rule in app.url_map.iter_rules()
                  if rule.endpoint.startswith("api.") for method in rule.methods & {"GET", "POST"})


def test_every_operation_refuses_a_missing_unknown_or_malformed_key(app, client):
    rules = api_rules(app)
    assert len(rules) == 7
    for headers in ({}, {"Authorization": "Bearer ckbiz_nosuchkey"}, {"Authorization": "Basic eDp5"},
                    {"Authorization": "Bearer"}, {"Authorization": "Bearer " + "x" * 5000}):
        for method, path in rules:
            response = client.open(path.format(n=1), method=method, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers)
            assert response.content_type == "application/problem+json"
            assert response.headers["WWW-Authenticate"] == "Bearer"


def test_the_session_cookie_is_never_accepted(app, logged_in, merchant):
    make_invoice(app, merchant)
    assert logged_in.get("/invoices/1").status_code == 200  # the cookie works in the cabinet
    for method, path in api_rules(app):
        assert logged_in.open(path.format(n=1), method=method, json={}).status_code == 401, path
    assert invoices_of(app, merchant)[0].status == "issued"


def test_a_revoked_key_stops_at_once(app, api, merchant):
    assert api.get("/api/v1/services").status_code == 200
    with app.app_context(), db.connection_context():
        assert api_keys.revoke(merchant, ApiKey.get().id)
    assert api.get("/api/v1/services").status_code == 401


def test_a_disabled_merchants_key_is_refused(app, api, merchant):
    with app.app_context(), db.connection_context():
        Merchant.update(active=False).where(Merchant.id == merchant.id).execute()
    assert api.get("/api/v1/services").status_code == 401


def test_the_key_is_stored_as_a_digest_and_its_use_noted(app, api, api_key):
    with app.app_context(), db.connection_context():
        row = ApiKey.get()
        assert row.last_used_at is None
        assert api_key not in str(list(ApiKey.select().tuples()))
        assert row.prefix == api_key[:12]
    api.get("/api/v1/services")
    with app.app_context(), db.connection_context():
        assert ApiKey.get().last_used_at is not None


def test_another_merchants_invoices_are_404_and_untouched(app, api, merchant):
    other = other_merchant(app)
    theirs = make_invoice(app, other, key="555000")
    make_invoice(app, merchant, key="111000")
    make_invoice(app, merchant, key="222000")  # the caller's № 2: the other has only № 1
    thief = Api(app.test_client(), new_key(app, other, "Чужой"))
    for rule in NUMBERED:
        method, path = rule.split()
        response = thief.client.open(path.format(n=2), method=method, headers=thief.headers({}))
        assert response.status_code == 404, rule
    assert [i.status for i in invoices_of(app, merchant)] == ["issued", "issued"]
    listed = thief.get("/api/v1/invoices?q=111000").get_json()
    assert listed == {"data": [], "next": None}
    assert [i["number"] for i in thief.get("/api/v1/invoices").get_json()["data"]] == [theirs.number]
    # Another merchant's service cannot be issued on.
    body = issue_body(app, merchant)
    assert thief.post("/api/v1/invoices", json=body).get_json()["errors"]["service_id"]


def test_past_the_rate_a_key_gets_429_with_retry_after_and_another_key_does_not(app, api, merchant):
    app.config["API_RATE_PER_MINUTE"] = 3
    answers = [api.get("/api/v1/services") for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200] * 3
    limited = answers[3]
    assert limited.status_code == 429 and limited.content_type == "application/problem+json"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # A POST past the limit makes nothing.
    assert api.post("/api/v1/invoices", json=issue_body(app, merchant)).status_code == 429
    assert invoices_of(app, merchant) == []
    assert Api(app.test_client(), new_key(app, merchant, "Другой")).get("/api/v1/services").status_code == 200


@pytest.mark.parametrize("storage", ["database", "redis"])
def test_the_rate_is_counted_where_the_other_limits_are(app, api, storage):
    """Counters shared by every process: in the database, or Redis when RATELIMIT_STORAGE_URL names it
    (a numbered database of the shared Redis, as tests/test_recovery.py uses one)."""
    import redis
    if storage == "redis":
        app.config["RATELIMIT_STORAGE_URL"] = "redis://127.0.0.1:6379/12"
        redis.Redis.from_url(app.config["RATELIMIT_STORAGE_URL"]).flushdb()
    app.config["API_RATE_PER_MINUTE"] = 2
    other_process = Api(app.test_client(), api.key)  # a client of its own: nothing shared but the storage
    assert api.get("/api/v1/services").status_code == 200
    assert other_process.get("/api/v1/services").status_code == 200
    assert api.get("/api/v1/services").status_code == 429
    with app.app_context(), db.connection_context():
        assert (RateCounter.select().where(RateCounter.key.startswith("api:")).count() == 0) == (storage == "redis")


def test_a_body_past_the_size_limit_is_a_413_problem_and_makes_nothing(app, api, merchant):
    body = issue_body(app, merchant, comment="я" * app.config["MAX_CONTENT_LENGTH"])
    response = api.post("/api/v1/invoices", json=body)
    assert response.status_code == 413 and response.content_type == "application/problem+json"
    assert response.json["title"] == "Слишком большой запрос." and invoices_of(app, merchant) == []
