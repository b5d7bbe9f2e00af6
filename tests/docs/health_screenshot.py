#!/usr/bin/env python
"""Regenerate docs/health-report.png: playbooks/fleet_report.yml over a demo fleet, as headless Chromium shows it.

Run (from the repository root, after `make setup`; it writes docs/health-report.png, so it is not part of any test):
    .venv/bin/python tests/docs/health_screenshot.py

The demo fleet is the store audit's acceptance fleet (tests/support/store_health.py: one cluster fine, one with an
expired CA, one with a stale etcd backup, one with a pending restore, one with a validation finding) plus two more
fine clusters, in a bucket "my-kops-state" of a moto server started here (so the fix commands carry its
--endpoint-url) with Block Public Access and bucket-owner-enforced ownership but neither versioning nor default
encryption. The screenshot is cropped to the page's content.
"""

import datetime
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, 'build', 'collections')
sys.path.insert(0, os.path.join(REPO, 'tests'))
sys.path.insert(0, COLLECTIONS)

from servers.moto import MotoServer, admin_client, clean_aws_environment  # noqa: E402
from support import store_health  # noqa: E402
from support.browser import screenshot  # noqa: E402

from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store  # noqa: E402

TARGET = os.path.join(REPO, 'docs', 'health-report.png')
MARGIN = 16  # pixels of white kept around the content


def main():
    from PIL import ImageChops

    server = MotoServer()
    workdir = tempfile.mkdtemp(prefix='health-screenshot-')
    try:
        client = admin_client(server.endpoint)
        client.create_bucket(Bucket='my-kops-state')
        client.put_public_access_block(Bucket='my-kops-state', PublicAccessBlockConfiguration=dict(
            BlockPublicAcls=True, IgnorePublicAcls=True, BlockPublicPolicy=True, RestrictPublicBuckets=True))
        client.put_bucket_ownership_controls(Bucket='my-kops-state', OwnershipControls=dict(Rules=[
            dict(ObjectOwnership='BucketOwnerEnforced')]))
        backend = open_store('s3://my-kops-state', dict(endpoint_url=server.endpoint, access_key='testing',
                                                        secret_key='testing', region='us-east-1'))
        now = datetime.datetime.now(datetime.timezone.utc)
        store_health.lay_out_health_fleet(backend, now)
        for name in ('payments.example.com', 'search.example.com'):
            store_health.lay_out_applied(backend, name, now)
        environment = clean_aws_environment(
            AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_REGION='us-east-1',
            AWS_ENDPOINT_URL=server.endpoint, HOME=workdir, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
            ANSIBLE_LOCAL_TEMP=os.path.join(workdir, 'ansible-tmp'), ANSIBLE_NOCOLOR='1')
        report_dir = os.path.join(workdir, 'report')
        completed = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
             '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', 'state_store=s3://my-kops-state',
             '-e', 'report_dir=%s' % report_dir, os.path.join(REPO, 'playbooks', 'fleet_report.yml')],
            env=environment, cwd=workdir, capture_output=True, text=True, check=False)
        if completed.returncode != 2:  # the demo fleet has findings at or above high
            sys.exit('the fleet report ended with rc %d:\n%s' % (completed.returncode, completed.stdout[-3000:]))
        image = screenshot(os.path.join(report_dir, 'fleet-report.html'), os.path.join(workdir, 'page.png'))
        left, top, right, bottom = ImageChops.difference(image, image.point(lambda _value: 255)).getbbox()
        image.crop((max(0, left - MARGIN), max(0, top - MARGIN), min(image.width, right + MARGIN),
                    min(image.height, bottom + MARGIN))).save(TARGET, optimize=True)
        print('wrote %s' % TARGET)
    finally:
        server.stop()


if __name__ == '__main__':
    main()
