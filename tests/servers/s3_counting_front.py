"""A front of ``moto_server`` (built on _s3_forwarding_front.py) that forwards every request as it is and keeps
what was asked: a test counts the requests a workflow makes, for example how many objects it read.

Fixture:
- ``s3_counting_front``: a fresh front for one test; ``.endpoint`` its URL, ``.requests`` the Requests it forwarded
  (method, bucket, key, query, headers, body), ``object_reads()`` the keys of the GetObject requests among them
  and ``forget()`` clears them.
"""

import threading

import pytest

from ._s3_forwarding_front import ForwardingFront


class CountingFront(ForwardingFront):
    def __init__(self, moto_server):
        self.requests = []
        self._lock = threading.Lock()
        super(CountingFront, self).__init__(moto_server)
        self.target_endpoint = moto_server.endpoint

    def answer(self, request):
        with self._lock:
            self.requests.append(request)
        return None

    def object_reads(self):
        """Keys of the GetObject requests (a GET of a key without a sub-resource query such as ?acl)."""
        with self._lock:
            return sorted(request.key for request in self.requests
                          if request.method == 'GET' and request.key and not set(request.query) - {'x-id'})

    def forget(self):
        with self._lock:
            del self.requests[:]


@pytest.fixture
def s3_counting_front(moto_server):
    front = CountingFront(moto_server)
    yield front
    front.stop()
