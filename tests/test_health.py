"""GET /healthz: JSON status of the database and the queue."""
import socket

from ckbiz import create_app


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "queue": "ok"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_database_down_gives_503(tmp_path, monkeypatch):
    monkeypatch.setenv("CKBIZ_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/none"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error" and body["database"].startswith("error")
    assert body["queue"] == "ok"
