"""Statement files in the real 1CClientBankExchange format, as banks export them for 1C."""
from dataclasses import dataclass, field

# The demo payee («Демо-организация») and a payer company.
OUR_ACCOUNT = "40702810200000012345"
OUR_INN = "7701000001"
PAYER_ACCOUNT = "40702810900000000001"
PAYER_INN = "7707083893"
CODEPAGES = {"cp1251": "Windows", "cp866": "DOS", "utf-8": "Windows"}


@dataclass
class Payment:
    """One `СекцияДокумент`: by default an incoming payment order to the demo payee."""

    number: str = "101"
    date: str = "27.11.2026"
    amount: str = "200.00"
    purpose: str = "Оплата по счету № 1, ЛИЦ. СЧЕТ 34234234"
    payer: str = 'ООО "Ромашка"'
    payer_inn: str = PAYER_INN
    payer_account: str = PAYER_ACCOUNT
    payee_account: str = OUR_ACCOUNT
    kind: str = "Платежное поручение"
    extra: dict = field(default_factory=dict)

    def lines(self):
        """The section as the bank writes it."""
        values = {
            "Номер": self.number, "Дата": self.date, "Сумма": self.amount,
            "ПлательщикСчет": self.payer_account, "Плательщик": f"ИНН {self.payer_inn} {self.payer}",
            "ПлательщикИНН": self.payer_inn, "Плательщик1": self.payer, "ПлательщикКПП": "770701001",
            "ПлательщикБанк1": "ПАО СБЕРБАНК", "ПлательщикБанк2": "г. Москва", "ПлательщикБИК": "044525225",
            "ПлательщикКорсчет": "30101810400000000225", "ПолучательСчет": self.payee_account,
            "ДатаПоступило": self.date, "Получатель": f"ИНН {OUR_INN} Демо-организация",
            "ПолучательИНН": OUR_INN, "Получатель1": "Демо-организация", "ПолучательКПП": "770101001",
            "ПолучательБанк1": "ПАО СБЕРБАНК", "ПолучательБИК": "044525225",
            "ПолучательКорсчет": "30101810400000000225", "ВидОплаты": "01", "Очередность": "5",
            "НазначениеПлатежа": self.purpose, **self.extra,
        }
        return [f"СекцияДокумент={self.kind}", *(f"{k}={v}" for k, v in values.items()), "КонецДокумента"]


def statement_text(payments, date_from="27.11.2026", date_to="27.11.2026", encoding="cp1251", balances=False,
                   end=True):
    """The file's text; `balances` adds the `СекцияРасчСчет` a real export carries."""
    lines = ["1CClientBankExchange", "ВерсияФормата=1.03", f"Кодировка={CODEPAGES[encoding]}",
             "Отправитель=Бухгалтерия предприятия", "Получатель=", f"ДатаСоздания={date_to}", "ВремяСоздания=10:15:00",
             f"ДатаНачала={date_from}", f"ДатаКонца={date_to}", f"РасчСчет={OUR_ACCOUNT}",
             "Документ=Платежное поручение"]
    if balances:
        lines += ["СекцияРасчСчет", f"ДатаНачала={date_from}", f"ДатаКонца={date_to}", f"РасчСчет={OUR_ACCOUNT}",
                  "НачальныйОстаток=10000.00", "ВсегоПоступило=1500.00", "ВсегоСписано=0.00",
                  "КонечныйОстаток=11500.00", "КонецРасчСчет"]
    for payment in payments:
        lines += payment.lines()
    if end:
        lines.append("КонецФайла")
    return "\r\n".join(lines) + "\r\n"


def statement_file(payments, encoding="cp1251", **options):
    """The file's bytes in the encoding its header names."""
    return statement_text(payments, encoding=encoding, **options).encode(encoding)


def bank_export(number, amount):
    """Shaped like a real bank's export: balances, a budget payment with its fields, a bank order
    (fee), an outgoing payment, and the payment of invoice `number` written by a person."""
    budget = {"СтатусСоставителя": "01", "ПоказательКБК": "18210102010011000110", "ОКАТО": "45382000",
              "ПоказательОснования": "ТП", "ПоказательПериода": "МС.11.2026", "ПоказательНомера": "0",
              "ПоказательДаты": "0", "ПоказательТипа": "", "Код": "0"}
    payments = [
        Payment(number="501", amount="13000.00", purpose="НДФЛ за ноябрь 2026", payer="Демо-организация",
                payer_inn=OUR_INN, payer_account=OUR_ACCOUNT, payee_account="03100643000000017300",
                extra=budget),
        Payment(number="9", amount="490.00", purpose="Комиссия за ведение счета за 11.2026",
                kind="Банковский ордер", payer="ПАО СБЕРБАНК", payer_inn="7707083893",
                payer_account="70601810400002760201", extra={"ВидОплаты": "17"}),
        Payment(number="77", amount=amount, purpose=f"оплата сч. {number} от 27.11.2026 НДС не облагается"),
    ]
    return statement_file(payments, balances=True, date_from="01.11.2026", date_to="30.11.2026")
