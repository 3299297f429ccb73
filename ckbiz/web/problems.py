"""RFC 9457 problems (application/problem+json): how the API refuses, and how the app's shared
error handlers (the database or the queue down, a body too large) answer a request to the API."""
import json

from flask import Response, request

PROBLEM = "application/problem+json"


class Problem(Exception):
    """A refusal, answered as application/problem+json."""

    def __init__(self, status, title, detail=None, errors=None, headers=None):
        super().__init__(title)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors
        self.headers = headers or {}

    def response(self):
        body = {"type": "about:blank", "title": self.title, "status": self.status}
        body.update({k: v for k, v in (("detail", self.detail), ("errors", self.errors)) if v})
        return Response(json.dumps(body, ensure_ascii=False), self.status, self.headers, mimetype=PROBLEM)


def for_the_api():
    """True while answering a request to the merchant API, whose clients read problems, not pages."""
    return request.blueprint == "api"
