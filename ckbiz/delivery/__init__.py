"""How a message leaves: the outbox runner, what each message says, mail and SMS."""
