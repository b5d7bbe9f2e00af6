"""S3 servers that ignore conditional requests, or answer them with 501 NotImplemented, as some S3 clones do:
fronts of ``moto_server`` (which honours every condition) built on _s3_forwarding_front.py.

Fixtures:
- ``s3_ignoring_conditions``: forwards every request without its If-Match / If-None-Match headers.
- ``s3_rejecting_conditions``: answers 501 NotImplemented to PutObject, CopyObject and DeleteObject requests
  carrying one of them, forwards the rest.
- ``s3_conditions_front(ignored=..., rejected=...)``: a factory of fronts that drop, or answer 501 to, only the
  given (operation, header) pairs, for example ``{('DeleteObject', 'If-Match')}``: a server honouring some
  conditions and not others. Operations: PutObject, CopyObject, DeleteObject.
``.endpoint`` is a front's URL. moto's authentication is off, so the dropped (signed) headers do not matter.
"""

import pytest

from ._s3_forwarding_front import ForwardingFront, error_response

OPERATIONS = ('PutObject', 'CopyObject', 'DeleteObject')
CONDITIONS = ('If-Match', 'If-None-Match')
EVERY_CONDITION = frozenset((operation, header) for operation in OPERATIONS for header in CONDITIONS)


def operation_of(request):
    """The object operation of a request, or None."""
    plain = not set(request.query) - {'x-id'}  # x-id: the operation name some botocore versions add
    if request.key and request.method == 'PUT' and plain:
        return 'CopyObject' if request.header('x-amz-copy-source') else 'PutObject'
    if request.key and request.method == 'DELETE' and plain:
        return 'DeleteObject'
    return None


class ConditionsFront(ForwardingFront):
    def __init__(self, moto_server, ignored=frozenset(), rejected=frozenset()):
        self.ignored = frozenset(ignored)
        self.rejected = frozenset(rejected)
        super(ConditionsFront, self).__init__(moto_server)

    def _conditions(self, request):
        operation = operation_of(request)
        return set((operation, header) for header in CONDITIONS if request.header(header) is not None)

    def answer(self, request):
        if self._conditions(request) & self.rejected:
            return error_response(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented')
        return None

    def forward_headers(self, request):
        dropped = set(header.lower() for operation, header in self._conditions(request) & self.ignored)
        return dict((name, value) for name, value in request.headers.items() if name.lower() not in dropped)


@pytest.fixture(scope='session')
def s3_ignoring_conditions(moto_server):
    server = ConditionsFront(moto_server, ignored=EVERY_CONDITION)
    yield server
    server.stop()


@pytest.fixture(scope='session')
def s3_rejecting_conditions(moto_server):
    server = ConditionsFront(moto_server, rejected=EVERY_CONDITION)
    yield server
    server.stop()


@pytest.fixture
def s3_conditions_front(moto_server):
    fronts = []

    def make(ignored=frozenset(), rejected=frozenset()):
        fronts.append(ConditionsFront(moto_server, ignored, rejected))
        return fronts[-1]

    yield make
    for front in fronts:
        front.stop()
