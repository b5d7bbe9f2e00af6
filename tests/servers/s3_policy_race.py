"""Fixture ``s3_policy_race``: a front of ``moto_server`` (built on _s3_forwarding_front.py) where another tool
writes a bucket's policy at the worst moments for a read-modify-write.

Set ``after_read`` and/or ``after_write`` to a function of the bucket name: it runs right after moto answered a
GetBucketPolicy, before the client gets that (now stale) answer, or right after moto stored a PutBucketPolicy,
before the client learns it succeeded. ``admin`` is a boto3 client of moto itself (not through the front) for
those writes; ``reads`` and ``writes`` count the policy requests the front passed on. ``reset()`` clears all.
"""

import boto3
import pytest

from ._s3_forwarding_front import ForwardingFront


class PolicyRaceFront(ForwardingFront):
    def __init__(self, moto_server):
        super(PolicyRaceFront, self).__init__(moto_server)
        self.admin = boto3.client('s3', endpoint_url=moto_server.endpoint, region_name='us-east-1',
                                  aws_access_key_id='testing', aws_secret_access_key='testing')
        self.reset()

    def reset(self):
        self.after_read = self.after_write = None
        self.reads = self.writes = 0

    def after(self, request, response):
        if request.key or 'policy' not in request.query:
            return
        if request.method == 'GET':
            self.reads += 1
            if self.after_read:
                self.after_read(request.bucket)
        elif request.method == 'PUT' and response.status < 300:
            self.writes += 1
            if self.after_write:
                self.after_write(request.bucket)


@pytest.fixture(scope='session')
def _policy_race_front(moto_server):
    server = PolicyRaceFront(moto_server)
    yield server
    server.stop()


@pytest.fixture
def s3_policy_race(_policy_race_front):
    _policy_race_front.reset()
    yield _policy_race_front
    _policy_race_front.reset()
