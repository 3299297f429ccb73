"""The rules of the product: no request, no templates, never enqueues.

Functions here read and write rows; whatever they put in the outbox they return,
and the caller hands it to the queue once the transaction has committed.
"""
