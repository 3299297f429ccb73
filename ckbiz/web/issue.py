"""«Выставить счет» (§4): the form, its live fragments, «Просмотр» and «Выставить»."""
from flask import Blueprint, current_app, flash, render_template, request, url_for
from flask_babel import gettext as _

from .. import htmx, tasks
from ..delivery.messages import invoice_context
from ..domain import invoicing, money
from . import issue_form
from .access import actor, current_merchant, get_service, requires

bp = Blueprint("issue", __name__, url_prefix="/invoices")


def render_form(form, status=200):
    """The form as a fragment for htmx (errors: 422, swapped in place) or as the page."""
    if request.method == "POST" and htmx.is_htmx():
        return render_template("issue/_form.html", form=form), status, htmx.retarget("#issue-form")
    return render_template("issue/new.html", form=form), status


@bp.get("/new")
@requires("issue")
def new():
    """The empty form, or one filled from the query string (a service picked without JS)."""
    return render_form(issue_form.build(current_merchant, request.args or None))


@bp.get("/new/fields")
@requires("issue")
def fields():
    """The chosen service's header and requisite fields (swapped in when the service changes)."""
    get_service(request.args.get("service", type=int))
    form = issue_form.build(current_merchant, request.args)
    return render_template("issue/_requisites.html", form=form)


@bp.get("/new/commission")
@requires("issue")
def commission():
    """The estimated commission and the card total for the amount typed so far."""
    service = get_service(request.args.get("service", type=int))
    try:
        amount = money.parse_amount(request.args.get("amount"), current_app.config["MAX_AMOUNT"])
    except money.AmountError:
        amount = None
    fee = invoicing.estimate_commission(service, amount) if amount else None
    return render_template("issue/_commission.html", amount=amount, fee=fee)


@bp.post("/new/positions")
@requires("issue")
def positions():
    """The positions rows: «Добавить позицию», «Удалить» on a row, and the live sum while typing.

    Nothing is saved. htmx swaps the rows (or, while typing, just the sums); without JavaScript
    the buttons submit the whole form here and get it back with the rows changed.
    """
    form = issue_form.build(current_merchant, request.form)
    if "add_position" in request.form:
        form.add_row()
    elif (index := request.form.get("remove_position", type=int)) is not None:
        form.remove_row(index)
    if htmx.wants_fragment("positions-sum"):
        return render_template("issue/_positions_live.html", form=form)
    if htmx.is_htmx():
        return render_template("issue/_positions.html", form=form, rows_changed=True)
    return render_template("issue/new.html", form=form)


@bp.post("/preview")
@requires("issue")
def preview():
    """«Просмотр»: the invoice exactly as the payer will get it; nothing is created."""
    form = issue_form.build(current_merchant, request.form)
    if not form.validate():
        return render_form(form, 422)
    invoice = invoicing.draft_invoice(current_merchant, form.chosen, **form.issue_values())
    return htmx.page_or_fragment("issue/preview.html", "issue/_preview.html", "dialog-slot",
                                 form=form, **invoice_context(invoice))


@bp.post("")
@requires("issue")
def create():
    """«Выставить»: issue the invoice, queue its e-mail and SMS, show it."""
    form = issue_form.build(current_merchant, request.form)
    if not form.validate():
        return render_form(form, 422)
    invoice, rows = invoicing.issue_invoice(current_merchant, form.chosen, actor=actor(), **form.issue_values())
    tasks.send(rows)
    flash(_("Счет № %(n)s выставлен", n=invoice.number), "success")
    if invoice.payer_phone and not any(row.channel == "sms" for row in rows):
        flash(_("СМС не отправлено: на сегодня исчерпан лимит СМС кабинета. Счет ушел на почту, если она указана."),
              "error")
    return htmx.redirect(url_for("invoice.show", number=invoice.number))
