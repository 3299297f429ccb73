"""Deliveries to someone who is not a merchant yet (registration codes): merchant may be empty."""


def up(migrator, db):
    migrator.migrate(migrator.drop_not_null("delivery", "merchant_id"))
