"""Line items and the payer organisation on invoices, a VAT rate on services, and the merchant's
«Прикладывать PDF к письму». Existing invoices get no positions: they show one line, as before."""


def up(migrator, db):
    sql = db.execute_sql
    sql("ALTER TABLE invoice ADD COLUMN positions TEXT NOT NULL DEFAULT '[]'")
    sql("ALTER TABLE invoice ADD COLUMN payer_org TEXT")
    sql("ALTER TABLE service ADD COLUMN vat VARCHAR(4) NOT NULL DEFAULT 'none'")
    sql("ALTER TABLE merchant ADD COLUMN attach_pdf BOOLEAN NOT NULL DEFAULT FALSE")
