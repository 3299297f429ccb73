"""History search (§5.3, §5.4): what the query string selects, as index-friendly conditions."""
from datetime import UTC, datetime, time

from flask_babel import gettext as _
from peewee import SQL, fn

from ..models import MAX_ID, Invoice
from . import refunds
from .clock import zone
from .contacts import PhoneError, normalise_email, normalise_phone
from .lifecycle import STATUSES

MAX_QUERY = 100
# Above every character a key requisite can hold, so [q, q + TOP) is "starts with q"
# as a range an ordinary index can serve (LIKE cannot use one on SQLite).
TOP = "\U0010ffff"


class Selection:
    """The parsed history filters; .problems holds messages for the search box."""

    def __init__(self, args, tz_name):
        self.problems = []
        self.q = " ".join((args.get("q") or "").split())[:MAX_QUERY]
        self.status = args.get("status") or ""
        if self.status and self.status not in STATUSES:
            self.problems.append(_("Неизвестный статус «%(s)s»: показаны счета во всех статусах",
                                   s=self.status[:40]))
            self.status = ""
        self.period = {}
        self.issued_from = self._date(args, "from", tz_name, time.min)
        self.issued_to = self._date(args, "to", tz_name, time.max)
        self.refund = args.get("refund") == "1"  # only invoices with money to return
        self.after = args.get("after", type=int)
        if self.after is not None and not 0 < self.after <= MAX_ID:  # SQLite cannot bind a larger one
            self.after = None

    def _date(self, args, name, tz_name, at):
        """A date from the period filter as the UTC bound of that day in the merchant's zone."""
        raw = (args.get(name) or "").strip()
        if not raw:
            return None
        try:
            day = datetime.strptime(raw, "%Y-%m-%d").date()
        except ValueError:
            self.problems.append(_("Дата периода в формате ГГГГ-ММ-ДД"))
            return None
        self.period[name] = raw
        local = datetime.combine(day, at, tzinfo=zone(tz_name))
        try:
            return local.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01 east of UTC falls before year 1: no bound, as meant
            return None

    def invoices(self, merchant, page=None):
        """The merchant's invoices this search, status and period select.

        With `page`, only the page after the cursor is wanted: each kind of search match
        is then cut to its newest `page` (a prefix matching thousands of invoices reads
        the index, not the invoices). Without it, all of them (totals, CSV).
        """
        query = self._filtered(Invoice.of(merchant), page)
        if self.q:
            query = query.where(Invoice.number.in_(self._matches(merchant, page)))
        return query

    def totals(self, merchant):
        """(status, count, kopecks) of the selected invoices, in the manual's order of statuses."""
        # COUNT(*): a column to count would have to be in the index for it to answer alone.
        query = (self.invoices(merchant)
                 .select(Invoice.status, fn.COUNT(SQL("*")), fn.SUM(Invoice.amount_kop))
                 .group_by(Invoice.status).tuples())
        found = {status: (n, int(kop or 0)) for status, n, kop in query}
        return [(s, *found[s]) for s in STATUSES if s in found]

    def _filtered(self, query, page):
        """The query narrowed by status, period and, for a page, the cursor."""
        if self.status:
            query = query.where(Invoice.status == self.status)
        if self.refund:
            query = query.where(Invoice.id.in_(refunds.invoices_with_refund_due()))
        if self.issued_from:
            query = query.where(Invoice.issued_at >= self.issued_from)
        if self.issued_to:
            query = query.where(Invoice.issued_at <= self.issued_to)
        if page and self.after:
            query = query.where(Invoice.number < self.after)
        return query

    def _matches(self, merchant, page):
        """Numbers whose key requisite starts with q, or whose number, phone or e-mail is q.

        A UNION of one indexed lookup per kind: an OR in one WHERE makes SQLite
        walk every invoice of the merchant instead. For a page, every other filter
        goes into each lookup too, so cutting it to the newest `page` loses nothing.
        """
        q = self.q
        conditions = [(Invoice.key_value >= q) & (Invoice.key_value < q + TOP)]
        if q.isdigit() and len(q) <= 12:
            conditions.append(Invoice.number == int(q))
        try:
            conditions.append(Invoice.payer_phone == normalise_phone(q))
        except PhoneError:
            pass
        if "@" in q:
            try:
                conditions.append(Invoice.payer_email == normalise_email(q))
            except ValueError:
                pass
        parts = [Invoice.select(Invoice.number).where(Invoice.merchant == merchant, c) for c in conditions]
        if page:
            parts = [self._filtered(part, page).order_by(Invoice.number.desc()).limit(page) for part in parts]
        union = parts[0]
        for part in parts[1:]:
            union = union | part
        return union

    def args(self, **override):
        """The query string of this selection (for links: next page, CSV), without empties."""
        values = {"q": self.q, "status": self.status, "refund": "1" if self.refund else "", **self.period}
        values.update(override)
        return {k: v for k, v in values.items() if v}
