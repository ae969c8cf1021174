"""What the tests need beside the module: the Go side's control server,
a proxy that loses the publisher's first answer, a server that never
answers. Started by test/python (go test), which sets the environment."""

import json
import os
import socket
import threading
import urllib.request

CONTROL = os.environ.get("PYCLIENT_TEST_CONTROL_URL", "")
URL = os.environ.get("SPOOLS_SSEGATE_URL", "")
TOKEN = os.environ.get("SPOOLS_SSEGATE_TOKEN", "")


def require_env(case):
    """Fail (never skip) when not started by go test ./test/python."""
    if not (CONTROL and URL and TOKEN):
        case.fail("run through `go test ./test/python`: it starts Redis and the publisher "
                  "and sets PYCLIENT_TEST_CONTROL_URL, SPOOLS_SSEGATE_URL, SPOOLS_SSEGATE_TOKEN")


def control(method, path):
    """One request to the Go side; its JSON answer."""
    req = urllib.request.Request(CONTROL + path, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def events_for(tag):
    """The stored spool events (dicts) whose tag_spool is tag."""
    return [e for e in control("GET", "/history")["events"] if e.get("tag_spool") == tag]


def idempotency_keys():
    return control("GET", "/history")["idempotency_keys"]


def _read_message(sock):
    """One HTTP/1.1 message with a Content-Length body, as bytes."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class LosingProxy:
    """Forwards requests to the publisher; for the first connection it
    reads the publisher's answer and closes the client's connection instead
    of passing it on: the event is published, the caller does not know."""

    def __init__(self, upstream):
        host, _, port = upstream.split("://", 1)[1].partition(":")
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.listener.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            self.connections += 1
            with client, socket.create_connection(self.upstream, timeout=10) as up:
                up.sendall(_read_message(client))
                answer = _read_message(up)
                if self.connections > 1:
                    client.sendall(answer)

    def close(self):
        self.listener.close()
        self.thread.join(10)


class SilentServer:
    """Accepts connections (the kernel does) and never answers."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=8)
        self.url = "http://127.0.0.1:%d" % self.listener.getsockname()[1]

    def close(self):
        self.listener.close()
