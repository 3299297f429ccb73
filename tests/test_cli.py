"""The command line of DESIGN.md: each command, its errors and exit codes."""
import json

import pytest

from ckbiz.extensions import db
from ckbiz.models import Invoice, InvoiceEvent, Merchant, Service, User
from factories import user_with_phone


def run(runner, *args, input=None):
    return runner.invoke(args=list(args), input=input, catch_exceptions=False)


def count(app, query):
    with app.app_context(), db.connection_context():
        return query.count()


def test_init_db_is_idempotent(runner):
    result = run(runner, "init-db")
    assert result.exit_code == 0 and "up to date" in result.output


def test_create_merchant_reads_the_password_from_stdin(app, runner, auth):
    result = run(runner, "create-merchant", "--phone", "+7 903 111-22-33", "--name", "Цветы",
                 input="stdin password 1\n")
    assert result.exit_code == 0, result.output
    assert "created merchant 9031112233" in result.output
    assert auth.login(phone="9031112233", password="stdin password 1").status_code == 303
    listing = run(runner, "merchants").output
    assert "9031112233\tactive\tЦветы" in listing


def test_create_merchant_refuses_bad_phone_short_password_and_duplicates(runner):
    bad = runner.invoke(args=["create-merchant", "--phone", "12345", "--password", "long enough"])
    assert bad.exit_code != 0 and "12345" in bad.output
    short = runner.invoke(args=["create-merchant", "--phone", "9031112233", "--password", "short"])
    assert short.exit_code != 0 and "8" in short.output
    assert run(runner, "create-merchant", "--phone", "9031112233", "--password", "long enough").exit_code == 0
    again = runner.invoke(args=["create-merchant", "--phone", "89031112233", "--password", "long enough"])
    assert again.exit_code != 0 and "уже есть" in again.output


def test_disable_enable_and_reset_password(runner, auth, merchant):
    assert run(runner, "disable-merchant", "9161234567").exit_code == 0
    assert auth.login().status_code == 422
    assert run(runner, "enable-merchant", "+79161234567").exit_code == 0
    result = run(runner, "reset-password", "9161234567", input="a fresh password\n")
    assert result.exit_code == 0
    assert auth.login(password="a fresh password").status_code == 303
    missing = runner.invoke(args=["disable-merchant", "9990001122"])
    assert missing.exit_code != 0 and "no user" in missing.output


SPEC = {
    "organisation": {"name": "ООО Ромашка", "inn": "7707083893", "kpp": "773601001",
                     "account": "40702810500000001234", "bik": "044525225",
                     "bank_name": "ПАО Сбербанк", "corr_account": "30101810400000000225",
                     "recipient": "ООО Ромашка"},
    "service": {"display_name": "Ромашка", "title": "цветы", "category": "Торговля",
                "commission": {"percent": "1.5", "min": "1.00"},
                "fields": [{"name": "order", "label": "ЗАКАЗ", "kind": "digits", "key": True}]},
}


def test_add_service_from_json_and_yaml(app, runner, merchant, tmp_path):
    path = tmp_path / "service.json"
    path.write_text(json.dumps(SPEC, ensure_ascii=False), encoding="utf-8")
    result = run(runner, "add-service", "--merchant", "9161234567", str(path))
    assert result.exit_code == 0 and "«Ромашка»" in result.output
    yaml_path = tmp_path / "service.yaml"
    yaml_path.write_text(
        "organisation:\n" + "".join(f"  {k}: '{v}'\n" for k, v in SPEC["organisation"].items())
        + "service:\n  display_name: Второй\n  title: t\n  fields:\n"
        "    - {name: n, label: N, kind: text, key: true}\n", encoding="utf-8")
    assert run(runner, "add-service", "--merchant", "9161234567", str(yaml_path)).exit_code == 0
    with app.app_context(), db.connection_context():
        names = [s.display_name for s in Service.of(merchant)]
        service = Service.get(Service.display_name == "Ромашка")
        assert service.commission_bp == 150 and service.commission_min_kop == 100
        assert service.fields[0]["required"] is True
    assert names[-2:] == ["Ромашка", "Второй"]


def test_add_service_names_the_wrong_field(runner, merchant, tmp_path):
    for field, value in (("inn", "7707083894"), ("bik", "12345"), ("account", "40702810500000001235")):
        spec = json.loads(json.dumps(SPEC))
        spec["organisation"][field] = value
        path = tmp_path / f"{field}.json"
        path.write_text(json.dumps(spec), encoding="utf-8")
        result = runner.invoke(args=["add-service", "--merchant", "9161234567", str(path)])
        assert result.exit_code != 0
        assert f"organisation.{field}" in result.output


def test_add_service_needs_exactly_one_key_requisite(runner, merchant, tmp_path):
    spec = json.loads(json.dumps(SPEC))
    spec["service"]["fields"][0]["key"] = False
    path = tmp_path / "nokey.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    result = runner.invoke(args=["add-service", "--merchant", "9161234567", str(path)])
    assert result.exit_code != 0 and "key" in result.output


def test_demo_is_idempotent_and_builds_the_manuals_service(app, runner, auth):
    first = run(runner, "demo", "--phone", "9000000000")
    assert first.exit_code == 0 and "password " in first.output
    password = first.output.split("password ")[1].split()[0]
    second = run(runner, "demo", "--phone", "9000000000")
    assert "password unchanged" in second.output
    assert "outbox (no MAIL_SERVER)" in second.output and "sms.log" in second.output
    with app.app_context(), db.connection_context():
        assert Merchant.select().count() == 1
        services = list(Service.of(user_with_phone("9000000000").merchant))
        assert len(services) == 2
        demo = services[0]
        assert (demo.display_name, demo.organisation.name, demo.title, demo.category) == (
            "Демо ПА", "Демо-организация", "демо-услуга", "Прочие")
        assert [f["label"] for f in demo.fields] == ["ЛИЦ. СЧЕТ", "ФИО", "АДРЕС", "МЕСЯЦ ММ.ГГГГ"]
        assert [f["key"] for f in demo.fields] == [True, False, False, False]
        assert demo.commission_bp == 150
    assert auth.login(phone="9000000000", password=password).status_code == 303


def test_demo_again_with_the_same_password_changes_nothing_a_new_one_ends_the_sessions(app, runner, client, auth):
    """A deploy script that runs `demo --password X` on every start must not log the merchant out."""
    def merchant_row():
        with app.app_context(), db.connection_context():
            return User.select().where(User.phone == "9000000000").dicts().get()

    assert run(runner, "demo", "--phone", "9000000000", "--password", "demo password 1").exit_code == 0
    assert auth.login(phone="9000000000", password="demo password 1").status_code == 303
    assert client.get("/invoices").status_code == 200
    before = merchant_row()
    again = run(runner, "demo", "--phone", "9000000000", "--password", "demo password 1")
    assert again.exit_code == 0, again.output
    assert client.get("/invoices").status_code == 200
    assert merchant_row() == before
    assert run(runner, "demo", "--phone", "9000000000", "--password", "demo password 2").exit_code == 0
    response = client.get("/invoices")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("bulk", [False, True], ids=["small", "bulk"])
def test_demo_bulk_invoices_spread_over_merchants_in_every_status(app, runner, monkeypatch, bulk):
    """In bulk (lowered here from 50,000) the indexes are rebuilt after the load and the rows
    are made by two more processes, chunk by chunk: the result must not tell the two apart."""
    if bulk:
        monkeypatch.setattr("ckbiz.demo.BULK", 100)
        monkeypatch.setattr("ckbiz.demo.CHUNK", 70)
    result = run(runner, "demo", "--password", "demo password", "--merchants", "3", "--invoices", "300")
    assert result.exit_code == 0, result.output
    again = run(runner, "demo", "--password", "demo password", "--merchants", "3", "--invoices", "300")
    assert "0 added" in again.output
    with app.app_context(), db.connection_context():
        assert Invoice.select().count() == 300
        statuses = {i.status for i in Invoice.select(Invoice.status)}
        assert statuses == {"issued", "paid", "transferred", "expired", "cancelled"}
        per_merchant = [m.invoices.count() for m in Merchant.select()]
        assert per_merchant == [100, 100, 100]
        for merchant in Merchant.select():
            numbers = sorted(i.number for i in merchant.invoices)
            assert numbers == list(range(1, 101)) and merchant.last_invoice_number == 100
        assert len({i.token for i in Invoice.select(Invoice.token)}) == 300
        assert InvoiceEvent.select().where(InvoiceEvent.kind == "issued").count() == 300
        invoice = Invoice.select().where(Invoice.status == "transferred").first()
        assert [e.kind for e in invoice.events.order_by(InvoiceEvent.at)] == ["issued", "paid", "transferred"]
        assert invoice.requisites[0]["value"] == invoice.key_value


def test_bad_arguments_exit_non_zero_with_one_line(runner):
    result = runner.invoke(args=["demo", "--invoices", "-5"])
    assert result.exit_code == 2


def test_worker_runs_the_periodic_jobs_unless_told_not_to(runner, monkeypatch):
    """With several consumers only one schedules expiry, settlement and the sweeper (--no-periodic)."""
    from ckbiz import worker

    calls = []
    monkeypatch.setattr(worker, "run", lambda huey, urgent_huey, **options: calls.append(options))
    assert run(runner, "worker").exit_code == 0
    assert run(runner, "worker", "--no-periodic", "--workers", "4").exit_code == 0
    assert [c["periodic"] for c in calls] == [True, False]
    assert calls[1]["workers"] == 4


@pytest.mark.parametrize("vat, stored", [(20, "20"), ("22", "22"), ("none", "none"), (None, "none")])
def test_add_service_takes_a_vat_rate(app, runner, merchant, tmp_path, vat, stored):
    spec = json.loads(json.dumps(SPEC))
    if vat is not None:
        spec["service"]["vat"] = vat
    path = tmp_path / "vat.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    assert run(runner, "add-service", "--merchant", "9161234567", str(path)).exit_code == 0
    with app.app_context(), db.connection_context():
        assert Service.get(Service.display_name == "Ромашка").vat == stored


def test_add_service_refuses_an_unknown_vat_rate(app, runner, merchant, tmp_path):
    spec = json.loads(json.dumps(SPEC))
    spec["service"]["vat"] = 18
    path = tmp_path / "vat.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    result = runner.invoke(args=["add-service", "--merchant", "9161234567", str(path)])
    assert result.exit_code != 0 and "service.vat" in result.output
    with app.app_context(), db.connection_context():
        assert not Service.select().where(Service.display_name == "Ромашка").exists()
