"""The merchant API under /api/v1 (DESIGN "Merchant API and webhooks"): JSON for the merchant's own
systems, a thin layer over the same domain functions as the pages.

Every request carries `Authorization: Bearer <key>`; the session cookie is never looked at, so
the blueprint is exempt from CSRF. Before a view runs: the key, its rate limit, and a POST's
Idempotency-Key. Refusals are RFC 9457 problems with per-field `errors`.
"""
import json

from flask import Blueprint, Response, current_app, g, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from spectree import Response as Answers
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from werkzeug.exceptions import MethodNotAllowed, NotFound

from .. import tasks
from ..domain import api_keys, catalog, guards, idempotency, invoicing, lifecycle
from ..domain.invoice_json import COLUMNS, as_json
from ..domain.search import Selection
from ..extensions import csrf
from ..models import Invoice
from . import api_schemas as shapes
from .problems import PROBLEM, Problem
from .security import NUL_REFUSAL

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
MINUTE = 60


def refuse_invalid(req, resp, error, instance, adapter):
    """spectree's hook after checking a request against its schema: a mismatch is a 422 problem."""
    if error is not None:
        errors = {}
        for item in error.errors(include_url=False):  # pydantic's, with the limits in ctx
            field = ".".join(str(part) for part in item["loc"]) or "body"
            errors.setdefault(field, []).append(schema_message(item))
        raise Problem(422, _("Запрос не прошел проверку"), errors=errors)


# The schema's refusals in Russian, by pydantic's error type.
MESSAGES = {
    "missing": _l("Обязательное поле"),
    "extra_forbidden": _l("Неизвестное поле"),
    "string_type": _l("Ожидается строка"),
    "int_type": _l("Ожидается целое число"),
    "int_parsing": _l("Ожидается целое число"),
    "int_from_float": _l("Ожидается целое число"),
    "dict_type": _l("Ожидается объект"),
    "model_type": _l("Ожидается объект"),
    "list_type": _l("Ожидается список"),
    "string_too_long": _l("Слишком длинное значение"),
    "too_long": _l("Слишком много элементов"),
}
MONEY_FIELDS = ("amount", "price")


def schema_message(item):
    """One schema refusal in Russian; a sum sent as a JSON number is told how to send it."""
    kind, ctx = item["type"], item.get("ctx") or {}
    if kind == "string_type" and item["loc"] and item["loc"][-1] in MONEY_FIELDS:
        return _("Сумма передается строкой, например \"1500.00\": число JSON не принимается")
    if kind == "less_than_equal":
        return _("Не больше %(n)s", n=ctx.get("le"))
    if kind == "greater_than_equal":
        return _("Не меньше %(n)s", n=ctx.get("ge"))
    if kind == "literal_error":
        return _("Одно из значений: %(v)s", v=ctx.get("expected", ""))
    return str(MESSAGES[kind]) if kind in MESSAGES else item.get("msg", kind)


spec = SpecTree(
    # Never registered on the app (api_docs serves the document; spectree's own pages load from a
    # CDN); `path` is the prefix spectree leaves out of the document: the document's own URL.
    "flask", mode="strict", title="ЦК Бизнес API", version="1", path="api/v1/openapi.json", page_templates={},
    annotations=False, before=refuse_invalid, validation_error_model=shapes.Problem,
    naming_strategy=lambda model: model.__name__, nested_naming_strategy=lambda _parent, child: child,
    security_schemes=[SecurityScheme(name="key", data=SecuritySchemeData(type="http", scheme="bearer"))],
    security={"key": []},
    description="Счета из вашего магазина, 1С или CRM. Ключ создается в «Настройки» → «API» "
                "и передается в заголовке Authorization: Bearer <ключ>.")


def answers(ok_status, ok_model, *refusals):
    """The documented answers of an endpoint: its success and the problems it can give."""
    problems = {f"HTTP_{status}": shapes.Problem for status in (401, 429, *refusals)}
    return Answers(**{f"HTTP_{ok_status}": ok_model}, **problems)


def answer(body, status=200, headers=None):
    """A JSON answer, already serialised: spectree then checks the bytes against the schema in
    pydantic's own parser, where a dict would first be walked in Python (a third of a list
    request's time)."""
    return Response(json.dumps(body, ensure_ascii=False), status, headers, mimetype="application/json")


@bp.errorhandler(Problem)
def problem(exc):
    return exc.response()


@bp.app_errorhandler(NotFound)
@bp.app_errorhandler(MethodNotAllowed)
def outside_the_routes(error):
    """A path or a method the API lacks is a problem too; outside /api/, Flask's own answer."""
    if not request.path.startswith(bp.url_prefix + "/"):
        return error
    allow = getattr(error, "valid_methods", None)
    return Problem(error.code, error.name, headers={"Allow": ", ".join(allow)} if allow else None).response()


@bp.before_request
def admit():
    """The key, its rate limit, and a POST's Idempotency-Key, before any view."""
    scheme, _space, key = request.headers.get("Authorization", "").partition(" ")
    row = api_keys.authenticate(key.strip()) if scheme.lower() == "bearer" else None
    if row is None:
        raise Problem(401, _("Нужен действующий ключ API"),
                      _("Передайте ключ из «Настройки» → «API» в заголовке Authorization: Bearer <ключ>."),
                      headers={"WWW-Authenticate": "Bearer"})
    g.api_key, g.merchant = row, row.merchant
    if guards.hit("api", row.id, MINUTE) > int(current_app.config["API_RATE_PER_MINUTE"]):
        raise Problem(429, _("Слишком много запросов"),
                      _("Не больше %(n)s запросов в минуту с одним ключом.", n=current_app.config["API_RATE_PER_MINUTE"]),
                      headers={"Retry-After": str(guards.window_left(MINUTE))})
    if request.method == "POST":
        body = request.get_json(silent=True)
        if request.get_data() and body is None:
            raise Problem(400, _("Тело запроса — не JSON"),
                          _("Передайте JSON с заголовком Content-Type: application/json."))
        if holds_nul(body):  # what the forms' NUL guard (web.security) refuses, in JSON
            raise Problem(400, str(NUL_REFUSAL))
        return idempotent_replay()
    return None


def holds_nul(value):
    """True when a string anywhere in the JSON holds NUL, which PostgreSQL cannot store."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(holds_nul(k) or holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(holds_nul(v) for v in value)
    return False


def idempotent_replay():
    """The first answer again for a repeated Idempotency-Key; or claim the key for this request."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not key.strip() or len(key) > idempotency.MAX_KEY:
        raise Problem(400, _("Idempotency-Key: от 1 до %(n)d символов", n=idempotency.MAX_KEY))
    print_ = idempotency.fingerprint(request.method, request.path, request.get_data())
    outcome, row = idempotency.claim(g.merchant.id, key, print_)
    if outcome == "mismatch":
        raise Problem(422, _("Этот Idempotency-Key уже использован с другим запросом"),
                      errors={"Idempotency-Key": [_("Для нового запроса нужен новый ключ")]})
    if outcome == "running":
        raise Problem(409, _("Запрос с этим Idempotency-Key еще выполняется"), _("Повторите его чуть позже."),
                      headers={"Retry-After": "1"})
    if outcome == "replay":
        headers = {"Idempotent-Replayed": "true", **({"Location": row.location} if row.location else {})}
        return Response(row.body, row.status, headers,
                        mimetype=PROBLEM if row.status >= 400 else "application/json")
    g.idempotent = row
    return None


@bp.after_request
def remember_answer(response):
    """Keep the answer of a request that claimed an Idempotency-Key; a server error gives it back."""
    row = g.pop("idempotent", None)
    if row is not None:
        if response.status_code >= 500:
            idempotency.release(row)
        else:
            idempotency.finish(row, response.status_code, response.get_data(as_text=True),
                               response.headers.get("Location", ""))
    return response


@bp.teardown_request
def give_back(exc):
    """A request that died before its answer gives its Idempotency-Key back."""
    row = g.pop("idempotent", None)
    if row is not None:
        idempotency.release(row)


def get_invoice(number):
    """The key's merchant's invoice with this number; 404 for anyone else's."""
    invoice = Invoice.of(g.merchant).where(Invoice.number == number).first()
    if invoice is None:
        raise Problem(404, _("Счет не найден"), _("У кабинета нет счета № %(n)s.", n=number))
    return invoice


def service_json(service):
    return {"id": service.id, "display_name": service.display_name, "organisation": service.organisation.name,
            "title": service.title, "category": service.category,
            "fields": [{k: f[k] for k in ("name", "label", "kind", "required", "key")} for f in service.fields]}


@bp.get("/services")
@spec.validate(resp=answers(200, shapes.ServiceList), tags=["services"])
def services():
    """Услуги кабинета, по которым выставляются счета"""
    return answer({"data": [service_json(s) for s in catalog.services_of(g.merchant)]})


@bp.post("/invoices")
@spec.validate(json=shapes.InvoiceIn, resp=answers(201, shapes.InvoiceOut, 400, 409, 422), tags=["invoices"])
def create_invoice():
    """Выставить счет

    Те же проверки, события и отправка плательщику (СМС, эл. почта), что у «Выставить счет».
    С заголовком Idempotency-Key повтор того же запроса в течение суток вернет первый ответ
    и нового счета не создаст."""
    limits = {k: current_app.config[k] for k in ("MAX_AMOUNT", "MAX_VALIDITY_HOURS", "DEFAULT_VALIDITY_HOURS")}
    try:
        service, values = invoicing.clean_request(g.merchant, request.context.json.model_dump(), limits)
    except invoicing.InvoiceErrors as exc:
        raise Problem(422, _("Счет не выставлен"), str(exc), exc.errors) from exc
    invoice, rows = invoicing.issue_invoice(g.merchant, service, actor=api_keys.actor(g.api_key), **values)
    tasks.send(rows)
    location = url_for("api.read_invoice", number=invoice.number)
    return answer(as_json(invoice), 201, {"Location": location})


@bp.get("/invoices")
@spec.validate(query=shapes.InvoiceQuery, resp=answers(200, shapes.InvoiceList, 422), tags=["invoices"])
def list_invoices():
    """Счета, новые первыми: фильтры истории счетов и страницы по курсору"""
    query = request.context.query
    # The schema has checked the arguments and refuses any other: the history's own reading serves.
    selection = Selection(request.args, g.merchant.timezone)
    page = list(selection.invoices(g.merchant, page=query.limit + 1).select(*COLUMNS)
                .order_by(Invoice.number.desc()).limit(query.limit + 1))
    more = len(page) > query.limit
    return answer({"data": [as_json(i) for i in page[:query.limit]],
                   "next": page[query.limit - 1].number if more else None})


@bp.get("/invoices/<int:number>")
@spec.validate(resp=answers(200, shapes.InvoiceOut, 404), tags=["invoices"])
def read_invoice(number):
    """Счет по номеру"""
    return answer(as_json(get_invoice(number)))


def act(number, action):
    """Run a transition of the invoice as the pages do; a refusal by its status is a 409."""
    invoice = get_invoice(number)
    try:
        tasks.send(action(invoice, api_keys.actor(g.api_key)) or [])
    except lifecycle.TransitionRefused as exc:
        raise Problem(409, _("Действие недоступно"), str(exc)) from exc
    return answer(as_json(get_invoice(number)))


@bp.post("/invoices/<int:number>/remind")
@spec.validate(resp=answers(200, shapes.InvoiceOut, 404, 409), tags=["invoices"])
def remind(number):
    """Напомнить плательщику о счете (выставленном, еще не истекшем)"""
    return act(number, lifecycle.remind)


@bp.post("/invoices/<int:number>/cancel")
@spec.validate(resp=answers(200, shapes.InvoiceOut, 404, 409), tags=["invoices"])
def cancel(number):
    """Отменить выставленный счет"""
    return act(number, lifecycle.cancel)


@bp.post("/invoices/<int:number>/mark-paid")
@spec.validate(resp=answers(200, shapes.InvoiceOut, 404, 409), tags=["invoices"])
def mark_paid(number):
    """Отметить счет оплаченным другим способом (выставленный или истекший)"""
    return act(number, lifecycle.mark_paid_other_way)
