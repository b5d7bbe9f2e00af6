"""A plain-HTTP server on 127.0.0.1 that records every TCP connection and every request it gets (method, path,
headers, body) and answers each request 404 with a Vault-style empty error list: the host an attacker who can write
a state store would name in it, to see what the collection sends there.

Fixture:
- ``http_spy``: a fresh spy for one test; ``address`` (http://127.0.0.1:PORT), ``port``, ``connections`` (how many
  TCP connections were accepted), ``requests`` (dicts: method, path, headers with lower-case names, body as text),
  ``tokens()`` (the X-Vault-Token values seen) and ``heard(text)`` (whether ``text`` was in any path, header or body).
"""

import socketserver
import threading
from http.server import BaseHTTPRequestHandler

import pytest


class HttpSpy(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        socketserver.TCPServer.__init__(self, ('127.0.0.1', 0), _Recorder)
        self.port = self.server_address[1]
        self.address = 'http://127.0.0.1:%d' % self.port
        self.connections = 0
        self.requests = []
        self._lock = threading.Lock()

    def verify_request(self, request, client_address):
        with self._lock:
            self.connections += 1
        return True

    def record(self, entry):
        with self._lock:
            self.requests.append(entry)

    def tokens(self):
        return [entry['headers']['x-vault-token'] for entry in self.requests if 'x-vault-token' in entry['headers']]

    def heard(self, text):
        return any(text in entry['path'] or text in entry['body'] or any(text in value for value in entry['headers'].values())
                   for entry in self.requests)

    def __repr__(self):
        return 'HttpSpy(%s: %d connections, requests %s, X-Vault-Token values %s)' % (
            self.address, self.connections, ['%s %s' % (entry['method'], entry['path']) for entry in self.requests],
            self.tokens())


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def _answer(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        self.server.record(dict(method=self.command, path=self.path, body=body.decode('utf-8', 'replace'),
                                headers=dict((name.lower(), value) for name, value in self.headers.items())))
        answer = b'{"errors":[]}'
        self.send_response(404)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_DELETE = do_LIST = do_HEAD = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def http_spy():
    spy = HttpSpy()
    thread = threading.Thread(target=spy.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True)
    thread.start()
    yield spy
    spy.shutdown()
    spy.server_close()
    thread.join(5)
