"""Fixtures ``s3_ignoring_conditions`` and ``s3_rejecting_conditions``: S3 servers that ignore conditional
writes, or answer them with 501 NotImplemented, as some S3 clones do.

A small HTTP front on 127.0.0.1 (a thread of the test process) that forwards every request to ``moto_server``,
either without its If-Match / If-None-Match headers, or not at all when it carries one of them (501).
``.endpoint`` is the front's URL. moto's authentication is off, so the dropped (signed) headers do not matter.
"""

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

DROPPED = ('if-match', 'if-none-match')


NOT_IMPLEMENTED = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotImplemented</Code>'
                   b'<Message>A header you provided implies functionality that is not implemented</Message></Error>')


class _Forward(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    target = None  # (host, port) of the real server
    reject = False  # answer 501 to conditional requests instead of forwarding them without conditions

    def _forward(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        if self.reject and any(name.lower() in DROPPED for name in self.headers.keys()):
            self.send_response(501)
            self.send_header('Content-Type', 'application/xml')
            self.send_header('Content-Length', str(len(NOT_IMPLEMENTED)))
            self.end_headers()
            self.wfile.write(NOT_IMPLEMENTED)
            return
        headers = dict((name, value) for name, value in self.headers.items() if name.lower() not in DROPPED)
        connection = http.client.HTTPConnection(*self.target, timeout=30)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            self.send_response(response.status)
            head = self.command == 'HEAD'  # keeps the object's Content-Length, has no body
            for name, value in response.getheaders():
                if name.lower() not in ('transfer-encoding', 'connection') and (head or name.lower() != 'content-length'):
                    self.send_header(name, value)
            if not head:
                self.send_header('Content-Length', str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        finally:
            connection.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    def log_message(self, *args):
        pass


class ConditionsFront(object):
    def __init__(self, moto_server, reject=False):
        handler = type('Forward', (_Forward,), dict(target=('127.0.0.1', moto_server.port), reject=reject))
        self.server = ThreadingHTTPServer(('127.0.0.1', 0), handler)
        self.endpoint = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope='session')
def s3_ignoring_conditions(moto_server):
    server = ConditionsFront(moto_server)
    yield server
    server.stop()


@pytest.fixture(scope='session')
def s3_rejecting_conditions(moto_server):
    server = ConditionsFront(moto_server, reject=True)
    yield server
    server.stop()
