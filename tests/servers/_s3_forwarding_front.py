"""An HTTP front on 127.0.0.1 (a thread of the test process) that forwards every request to a moto server and
lets a test server change what passes: the fronts in s3_no_conditions.py (servers that ignore or reject some
conditional headers) and s3_policy_race.py (another tool writing a bucket policy at the same time) are built
on it. Only for moto servers with authentication off: a front that drops a header breaks its signature.
"""

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Request(object):
    """One request as the front received it: ``method``, ``bucket``, ``key`` ('' for the bucket itself),
    ``query`` (dict of lists, blank values kept), ``headers`` (name -> value) and ``body`` (bytes)."""

    def __init__(self, method, target, headers, body):
        parts = urlsplit(target)
        self.method = method
        self.target = target
        self.bucket, _slash, self.key = parts.path.lstrip('/').partition('/')
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers
        self.body = body

    def header(self, name):
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


class Response(object):
    def __init__(self, status, headers=(), body=b''):
        self.status = status
        self.headers = list(headers)
        self.body = body


def error_response(status, code, message):
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>'
            % (code, message)).encode()
    return Response(status, [('Content-Type', 'application/xml')], body)


class ForwardingFront(object):
    """Subclasses override ``answer`` (a Response to send instead of forwarding, or None), ``forward_headers``
    (the headers sent on) and ``after`` (called once moto has answered, before the client gets the answer)."""

    def __init__(self, moto_server):
        self.target = ('127.0.0.1', moto_server.port)
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def _handle(self):
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                request = Request(self.command, self.path, dict(self.headers.items()), body)
                response = front.answer(request) or front.forward(request)
                front.after(request, response)
                self.send_response(response.status)
                head = self.command == 'HEAD'  # keeps the object's Content-Length, has no body
                for name, value in response.headers:
                    if name.lower() not in ('transfer-encoding', 'connection') and (head or name.lower() != 'content-length'):
                        self.send_header(name, value)
                if not head:
                    self.send_header('Content-Length', str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.endpoint = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def forward(self, request):
        connection = http.client.HTTPConnection(*self.target, timeout=30)
        try:
            connection.request(request.method, request.target, body=request.body, headers=self.forward_headers(request))
            answer = connection.getresponse()
            return Response(answer.status, answer.getheaders(), answer.read())
        finally:
            connection.close()

    def answer(self, request):
        return None

    def forward_headers(self, request):
        return request.headers

    def after(self, request, response):
        pass

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
