"""«Сводка»: how the money is doing over a period, counted by the database, not row by row.

The period is the history's own (domain.search.Selection), so every count and sum agrees
with the history filtered the same way. Each number is one aggregate query read from the
index `invoice_period` alone (migration 0009), the paid line from (merchant, paid_at).
"""
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import SQL, ValuesList, fn
from werkzeug.datastructures import MultiDict

from ..database import is_sqlite, utcnow
from ..extensions import db
from ..models import Invoice, Service
from .clock import local, zone
from .lifecycle import STATUSES
from .search import Selection

PAID = ("paid", "transferred")
MAX_DAYS = 366  # a chart of more days than a year has no room for its bars
TOP_SERVICES = 5


def _day(text):
    """A date the period filter has already accepted."""
    return datetime.strptime(text, "%Y-%m-%d").date()


def _quarter_start(today):
    """The first day of today's calendar quarter (1 January, 1 April, 1 July, 1 October)."""
    return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)


# (label, the first day of the period that ends today)
PRESETS = (
    (_l("Сегодня"), lambda today: today),
    (_l("7 дней"), lambda today: today - timedelta(days=6)),
    (_l("30 дней"), lambda today: today - timedelta(days=29)),
    (_l("Квартал"), _quarter_start),
)


class Period:
    """The days «Сводка» covers: `from`/`to` of the query string, this month by default.

    A bound that is not a date, lies before the other or makes the period longer than a
    year is replaced by the default with a message, as the history reports its filters.
    """

    def __init__(self, args, tz_name, now=None):
        self.tz_name = tz_name
        self.today = local(now or utcnow(), tz_name).date()
        self.first, self.last = self.today.replace(day=1), self.today
        self.problems = []
        asked = Selection(MultiDict({k: (args.get(k) or "").strip() for k in ("from", "to")}), tz_name)
        self.problems += asked.problems
        first = _day(asked.period["from"]) if asked.issued_from else self.first
        last = _day(asked.period["to"]) if asked.issued_to else self.last
        if first > last:
            self.problems.append(_("Начало периода позже его конца: показан текущий месяц"))
        elif (last - first).days >= MAX_DAYS:
            self.problems.append(_("Период не длиннее года: показан текущий месяц"))
        else:
            self.first, self.last = first, last
        self.selection = Selection(MultiDict(self.args()), tz_name)

    def args(self):
        """The query string of this period."""
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}

    def days(self):
        """Every day of the period, in order."""
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def presets(self):
        """(label, query string, whether it is the period shown) for each preset."""
        shown = []
        for label, start in PRESETS:
            first = start(self.today)
            shown.append((label, {"from": first.isoformat(), "to": self.today.isoformat()},
                          (first, self.today) == (self.first, self.last)))
        return shown


@dataclass
class Summary:
    """What «Сводка» shows for a period."""

    by_status: list  # (status, count, kopecks) in the manual's order, statuses with none left out
    issued: tuple  # (count, kopecks) of every invoice issued in the period
    paid: tuple  # (count, kopecks) of those paid (or already transferred)
    median_to_payment: timedelta | None
    per_day: list  # (day, issued, paid)
    top_services: list  # (display name, kopecks)

    def share_paid(self):
        """(by count, by sum) as Decimal fractions; None when nothing was issued."""
        (n, kop), (paid_n, paid_kop) = self.issued, self.paid
        if not n:
            return None
        return Decimal(paid_n) / n, (Decimal(paid_kop) / kop if kop else Decimal(0))


def summary(merchant, period):
    """Every number of «Сводка» for the merchant's invoices of the period."""
    invoices = period.selection.invoices(merchant)
    groups = _by_status_and_service(invoices)
    counts, sums = Counter(), Counter()
    for status, _service, n, kop in groups:
        counts[status] += n
        sums[status] += kop
    by_status = [(s, counts[s], sums[s]) for s in STATUSES if s in counts]
    issued = (sum(n for _s, n, _k in by_status), sum(kop for _s, _n, kop in by_status))
    paid = (sum(n for s, n, _k in by_status if s in PAID), sum(kop for s, _n, kop in by_status if s in PAID))
    return Summary(by_status=by_status, issued=issued, paid=paid,
                   median_to_payment=_median_to_payment(invoices, paid[0]),
                   per_day=_per_day(merchant, period), top_services=_top_services(merchant, groups))


def _by_status_and_service(invoices):
    """(status, service id, count, kopecks): one pass over the period gives the totals by status
    (as the history's Selection.totals counts them) and the money by service."""
    query = (invoices.select(Invoice.status, Invoice.service, fn.COUNT(SQL("*")), fn.SUM(Invoice.amount_kop))
             .group_by(Invoice.status, Invoice.service).tuples())
    return [(status, service, n, int(kop)) for status, service, n, kop in query]


def _seconds_to_payment():
    """Seconds from issue to payment, in the database's own date arithmetic."""
    if is_sqlite(db):
        return (fn.julianday(Invoice.paid_at) - fn.julianday(Invoice.issued_at)) * 86400
    return fn.date_part("epoch", Invoice.paid_at - Invoice.issued_at)


def _median_to_payment(invoices, paid_count):
    """The median time from issue to payment of the paid invoices (the lower middle of an even count)."""
    if not paid_count:
        return None
    took = _seconds_to_payment()
    seconds = (invoices.select(took).where(Invoice.status.in_(PAID), Invoice.paid_at.is_null(False))
               .order_by(took).limit(1).offset((paid_count - 1) // 2).scalar())
    return None if seconds is None else timedelta(seconds=round(seconds))


def _per_day(merchant, period):
    """(day, issued, paid) for each day of the period: issued by issue date, paid by payment date.

    The merchant's midnights are worked out here, in UTC, and the database counts between
    them: a range count on an index per day, no date arithmetic per invoice, and exact across
    a summer-time change or a zone half an hour off UTC.
    """
    tz = zone(period.tz_name)
    days = period.days()
    midnights = [datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC).replace(tzinfo=None)
                 for day in (*days, period.last + timedelta(days=1))]
    bounds = ValuesList([(n, lo, hi) for n, (lo, hi) in enumerate(zip(midnights, midnights[1:]))]).cte(
        "days", columns=("n", "lo", "hi"))

    def count(column):
        return (Invoice.of(merchant).select(fn.COUNT(SQL("*")))
                .where(column >= bounds.c.lo, column < bounds.c.hi))

    rows = (Invoice.select(bounds.c.n, count(Invoice.issued_at), count(Invoice.paid_at))
            .from_(bounds).with_cte(bounds).order_by(bounds.c.n))
    return [(days[n], issued, paid) for n, issued, paid in rows.tuples()]


def _top_services(merchant, groups):
    """The services that brought the most money: paid and transferred amounts by service, named."""
    money = Counter()
    for status, service, _n, kop in groups:
        if status in PAID:
            money[service] += kop
    if not money:
        return []
    names = dict(Service.of(merchant).where(Service.id.in_(list(money))).select(Service.id, Service.display_name)
                 .tuples())
    ranked = sorted(((names[service], kop) for service, kop in money.items()), key=lambda row: (-row[1], row[0]))
    return ranked[:TOP_SERVICES]
