"""The shapes of the merchant API's requests and answers: pydantic models that spectree checks
every request against and describes in /api/v1/openapi.json (one source for both)."""
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..domain.lifecycle import STATUSES
from ..domain.positions import VAT_RATES

Status = Literal[STATUSES]
Vat = Literal[VAT_RATES]
MONEY = {"description": "рубли строкой с точкой, например \"1500.00\"; число JSON не принимается",
         "examples": ["1500.00"]}


class Closed(BaseModel):
    """An object whose unknown fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Payer(Closed):
    phone: str | None = Field(None, description="российский мобильный, например 9161234567", max_length=40)
    email: str | None = Field(None, max_length=254)


class PayerOrg(Closed):
    name: str = Field("", max_length=200)
    inn: str = Field("", max_length=20)
    kpp: str = Field("", max_length=20)


class Position(Closed):
    name: str = Field(max_length=200)
    quantity: str = Field("1", description="десятичное число строкой, например \"1.5\"", max_length=20)
    unit: str = "шт."
    price: str = Field(max_length=20, **MONEY)
    vat: Vat = "none"


class InvoiceIn(Closed):
    """Выставить счет: сумма (amount) или позиции (positions), не то и другое."""

    service_id: int
    payer: Payer
    requisites: dict[str, str] = Field(default_factory=dict, description="значения реквизитов услуги по их именам")
    amount: str | None = Field(None, max_length=20, **MONEY)
    positions: list[Position] | None = Field(None, max_length=101)
    payer_org: PayerOrg | None = None
    comment: str = Field("", max_length=2000)
    validity_hours: int | None = Field(None, description="по умолчанию — срок из настроек кабинета")


class InvoiceQuery(Closed):
    status: Status | None = None
    q: str | None = Field(None, description="номер, телефон, эл. адрес или начало ключевого реквизита",
                          max_length=100)
    after: int | None = Field(None, ge=1, description="курсор: next предыдущей страницы")
    limit: int = Field(50, ge=1, le=100)


class PayerOut(BaseModel):
    phone: str | None
    email: str | None


class PositionOut(BaseModel):
    name: str
    quantity: str
    unit: str
    price: str
    vat: Vat


class InvoiceOut(BaseModel):
    number: int
    status: Status
    amount: str
    commission: str
    payer: PayerOut
    requisites: dict[str, str]
    positions: list[PositionOut]
    comment: str
    service_id: int
    url: str = Field(description="ссылка на счет для плательщика")
    issued_at: str = Field(description="ISO 8601, UTC")
    expires_at: str
    paid_at: str | None


class InvoiceList(BaseModel):
    data: list[InvoiceOut]
    next: int | None = Field(description="after следующей страницы; null — страниц больше нет")


class FieldOut(BaseModel):
    name: str
    label: str
    kind: str
    required: bool
    key: bool


class ServiceOut(BaseModel):
    id: int
    display_name: str
    organisation: str
    title: str
    category: str
    fields: list[FieldOut]


class ServiceList(BaseModel):
    data: list[ServiceOut]


class Problem(BaseModel):
    """RFC 9457 application/problem+json."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: dict[str, list[str]] | None = Field(None, description="сообщения по полям запроса")
