"""History search (§5.3, §5.4): what the query string selects, as index-friendly conditions."""
from datetime import UTC, datetime, time

from flask_babel import gettext as _

from . import formatting, phones
from .forms import normalise_email
from .models import Invoice

STATUSES = ("issued", "paid", "transferred", "expired", "cancelled")
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
        self.after = args.get("after", type=int)

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
        local = datetime.combine(day, at, tzinfo=formatting.zone(tz_name))
        return local.astimezone(UTC).replace(tzinfo=None)

    def where(self, query):
        """Apply the search, status and period (not the page cursor) to a query of invoices."""
        if self.q:
            query = query.where(self._matches(self.q))
        if self.status:
            query = query.where(Invoice.status == self.status)
        if self.issued_from:
            query = query.where(Invoice.issued_at >= self.issued_from)
        if self.issued_to:
            query = query.where(Invoice.issued_at <= self.issued_to)
        return query

    @staticmethod
    def _matches(q):
        """Key requisite by prefix, or the number, the payer's phone or e-mail exactly."""
        condition = (Invoice.key_value >= q) & (Invoice.key_value < q + TOP)
        if q.isdigit() and len(q) <= 12:
            condition |= Invoice.number == int(q)
        try:
            condition |= Invoice.payer_phone == phones.normalise(q)
        except phones.PhoneError:
            pass
        if "@" in q:
            try:
                condition |= Invoice.payer_email == normalise_email(q)
            except ValueError:
                pass
        return condition

    def args(self, **override):
        """The query string of this selection (for links: next page, CSV), without empties."""
        values = {"q": self.q, "status": self.status, **self.period}
        values.update(override)
        return {k: v for k, v in values.items() if v}
