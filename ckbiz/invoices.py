"""«Выставить счет» (§4): the form, its live fragments, «Просмотр», «Выставить», the invoice page."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from . import deliveries, invoicing, issue_form, messages, money
from .htmx import wants_fragment
from .views import invoice_details
from .models import MAX_ID, Delivery, Invoice, Service

bp = Blueprint("invoices", __name__, url_prefix="/invoices")


@bp.before_request
@login_required
def require_login():
    """Every page here belongs to a logged-in merchant."""


def get_invoice(number):
    """The current merchant's invoice with this number; 404 for anyone else's."""
    invoice = Invoice.of(current_user).where(Invoice.number == number).first()
    if invoice is None:
        abort(404)
    return invoice


def get_service(service_id):
    """The current merchant's service; 404 for anyone else's."""
    if service_id is None or not 0 < service_id <= MAX_ID:  # SQLite cannot bind a larger one
        abort(404)
    service = Service.of(current_user).where(Service.id == service_id).first()
    if service is None:
        abort(404)
    return service


def render_form(form, status=200):
    """The form as a fragment for htmx (errors: 422, swapped in place) or as the page."""
    if request.method == "POST" and request.headers.get("HX-Request") == "true":
        headers = {"HX-Retarget": "#issue-form", "HX-Reswap": "outerHTML"}
        return render_template("invoices/_form.html", form=form), status, headers
    return render_template("invoices/new.html", form=form), status


@bp.get("/new")
def new():
    """The empty form, or one filled from the query string (a service picked without JS)."""
    return render_form(issue_form.build(current_user, request.args or None))


@bp.get("/new/fields")
def fields():
    """The chosen service's header and requisite fields (swapped in when the service changes)."""
    get_service(request.args.get("service", type=int))
    form = issue_form.build(current_user, request.args)
    return render_template("invoices/_requisites.html", form=form)


@bp.get("/new/commission")
def commission():
    """The estimated commission and the card total for the amount typed so far."""
    service = get_service(request.args.get("service", type=int))
    try:
        amount = money.parse_amount(request.args.get("amount"), current_app.config["MAX_AMOUNT"])
    except money.AmountError:
        amount = None
    fee = invoicing.estimate_commission(service, amount) if amount else None
    return render_template("invoices/_commission.html", amount=amount, fee=fee)


@bp.post("/preview")
def preview():
    """«Просмотр»: the invoice exactly as the payer will get it; nothing is created."""
    form = issue_form.build(current_user, request.form)
    if not form.validate():
        return render_form(form, 422)
    invoice = invoicing.draft_invoice(current_user, form.chosen, **form.issue_values())
    context = messages.invoice_context(invoice)
    if wants_fragment("dialog-slot"):
        return render_template("invoices/_preview.html", form=form, **context)
    return render_template("invoices/preview.html", form=form, **context)


@bp.post("")
def create():
    """«Выставить»: issue the invoice, queue its e-mail and SMS, show it."""
    form = issue_form.build(current_user, request.form)
    if not form.validate():
        return render_form(form, 422)
    invoice, rows = invoicing.issue_invoice(current_user, form.chosen, **form.issue_values())
    deliveries.enqueue(rows)
    flash(_("Счет № %(n)s выставлен", n=invoice.number), "success")
    if invoice.payer_phone and not any(row.channel == "sms" for row in rows):
        flash(_("СМС не отправлено: на сегодня исчерпан лимит СМС кабинета. Счет ушел на почту, если она указана."),
              "error")
    target = url_for("invoices.show", number=invoice.number)
    if request.headers.get("HX-Request") == "true":
        return "", 204, {"HX-Redirect": target}
    return redirect(target, 303)


@bp.get("/<int:number>")
def show(number):
    """The invoice («Инвойс»): a dialog over the history, or a page of its own."""
    details = invoice_details(get_invoice(number))
    if wants_fragment("dialog-slot"):
        return render_template("invoices/_dialog.html", **details)
    return render_template("invoices/show.html", **details)


@bp.get("/<int:number>/deliveries")
def deliveries_table(number):
    """The deliveries table alone: it polls itself while anything is still on its way."""
    invoice = get_invoice(number)
    return render_template("invoices/_deliveries.html", invoice=invoice, tz=current_user.timezone,
                           deliveries=list(invoice.deliveries.order_by(Delivery.id)))
