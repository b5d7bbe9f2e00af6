"""A small HTTP proxy for fault injection: it forwards requests to an upstream server (moto) and answers
some of them itself with a 503 SlowDown or 500 InternalError, as S3 does when it is throttling or failing.

Faults are deterministic, so a test cannot be flaky: the first 0, 1 or 2 attempts of each distinct request
(method and path) fail (chosen by a hash of the request: a quarter none, half one, a quarter two);
botocore's standard retry mode (5 attempts) must get every request through. More faults than that trip
botocore's retry quota (a client-wide token bucket: 500 tokens, 5 per retry, only the last retry's cost
given back on success), after which it stops retrying: measured with 2 faults on a third of requests,
where a second sync of 60 entries failed."""

import hashlib
import http.client
import http.server
import threading

FAULTS = (
    (503, b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
          b'<Message>Please reduce your request rate.</Message></Error>'),
    (500, b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
          b'<Message>We encountered an internal error. Please try again.</Message></Error>'),
)
HOP_BY_HOP = ('connection', 'keep-alive', 'transfer-encoding', 'proxy-connection')


class FaultProxy(object):
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.requests = 0
        self.injected = 0
        self._attempts = {}
        self._lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), self._handler())
        self.server.daemon_threads = True
        self.endpoint = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def fault_for(self, method, path):
        """The fault to answer with, or None to forward."""
        key = '%s %s' % (method, path)
        with self._lock:
            self.requests += 1
            attempt = self._attempts[key] = self._attempts.get(key, 0) + 1
            faults_wanted = (0, 1, 1, 2)[hashlib.sha256(key.encode()).digest()[0] % 4]
            if attempt > faults_wanted:
                return None
            self.injected += 1
            return FAULTS[attempt % 2]

    def _handler(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *arguments):
                pass

            def _relay(self):
                body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                fault = proxy.fault_for(self.command, self.path)
                if fault is not None:
                    status, payload = fault
                    self.send_response(status)
                    self.send_header('Content-Type', 'application/xml')
                    self.send_header('Content-Length', str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                upstream = http.client.HTTPConnection('127.0.0.1', proxy.upstream_port, timeout=60)
                try:
                    headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP)
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                    self.send_response(answer.status)
                    for name, value in answer.getheaders():
                        if name.lower() not in HOP_BY_HOP + ('content-length',):
                            self.send_header(name, value)
                    self.send_header('Content-Length', str(len(payload)))
                    self.end_headers()
                    if self.command != 'HEAD':
                        self.wfile.write(payload)
                finally:
                    upstream.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

        return Handler

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
