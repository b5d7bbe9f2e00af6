#!/usr/bin/env python
"""Benchmark of clusters as inventory: the kops.state_store.clusters inventory plugin and playbooks/fleet_upgrade.yml
against the same change written as a loop in one host's play.

Run (from the repository root, after `make setup`):
    .venv/bin/python benchmarks/fleet_upgrade.py [--clusters 100] [--forks 10] [--repeat 3]

One moto server on 127.0.0.1, started here the way the tests start theirs; --clusters clusters made from the kOps
fixtures of tests/fixtures/kops-clusters (renamed, laid out as kOps lays them out) in one bucket. Every figure
printed comes from this one run (the machine is shared and noisy: compare the ratios, not the absolute times):

- the inventory: `ansible-inventory --list` of the plugin over the bucket (median of --repeat), beside
  `ansible-inventory --list` of a static inventory holding as many hosts (Ansible's own start-up and output);
- the fleet change (a kubernetesVersion bump of every cluster): playbooks/fleet_upgrade.yml with --forks, then
  benchmarks/fleet_loop_playbook.yml (cluster_info lists the clusters, a loop of cluster tasks changes them one after
  the other); each run is checked to have changed every cluster, and the ratio loop / fleet is printed.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
COLLECTIONS = os.path.join(REPO, 'build', 'collections')
sys.path.insert(0, os.path.join(REPO, 'tests'))
sys.path.insert(0, COLLECTIONS)

from servers.moto import MotoServer, clean_aws_environment  # noqa: E402  (the test suite's moto launcher)
from support.kops_fleet import lay_out_fleet  # noqa: E402  (the tests' kOps layout of the fixtures)

import boto3  # noqa: E402
import yaml  # noqa: E402

from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

FLEET_PLAYBOOK = os.path.join(REPO, 'playbooks', 'fleet_upgrade.yml')
LOOP_PLAYBOOK = os.path.join(REPO, 'benchmarks', 'fleet_loop_playbook.yml')


def timed(command, environment, workdir):
    started = time.monotonic()
    completed = subprocess.run(command, env=environment, cwd=workdir, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        sys.exit('%s failed (rc %d):\n%s%s' % (' '.join(command[:2]), completed.returncode,
                                               completed.stdout[-3000:], completed.stderr[-3000:]))
    return elapsed, completed.stdout


def check_versions(backend, names, version):
    """Every cluster has ``version`` now (the run really changed all of them)."""
    wrong = [name for name in names
             if cl.read_cluster(backend, name).cluster['spec'].get('kubernetesVersion') != version]
    if wrong:
        sys.exit('%d clusters were not changed to %s, for example %s' % (len(wrong), version, wrong[0]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.partition('\n\n')[0])
    parser.add_argument('--clusters', type=int, default=100)
    parser.add_argument('--forks', type=int, default=10)
    parser.add_argument('--repeat', type=int, default=3, help='runs of each inventory listing (median)')
    args = parser.parse_args()

    server = MotoServer()
    workdir = tempfile.mkdtemp(prefix='fleet-bench-')
    try:
        bucket = 'fleet-%s' % uuid.uuid4().hex[:10]
        boto3.client('s3', endpoint_url=server.endpoint, region_name='us-east-1', aws_access_key_id='testing',
                     aws_secret_access_key='testing').create_bucket(Bucket=bucket)
        location = 's3://%s' % bucket
        backend = open_store(location, dict(endpoint_url=server.endpoint, access_key='testing', secret_key='testing',
                                            region='us-east-1'))
        names = lay_out_fleet(backend, args.clusters)
        environment = clean_aws_environment(
            AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_REGION='us-east-1',
            AWS_ENDPOINT_URL=server.endpoint, AWS_CONFIG_FILE=os.path.join(workdir, 'no-aws-config'),
            AWS_SHARED_CREDENTIALS_FILE=os.path.join(workdir, 'no-aws-credentials'), HOME=workdir,
            ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_LOCAL_TEMP=os.path.join(workdir, 'ansible-tmp'),
            ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0')
        inventory = os.path.join(workdir, 'clusters.kops.yml')
        with open(inventory, 'w') as handle:
            yaml.safe_dump(dict(plugin='kops.state_store.clusters', state_stores=[location]), handle)
        static = os.path.join(workdir, 'static.yml')
        with open(static, 'w') as handle:
            yaml.safe_dump(dict(all=dict(hosts=dict((name, None) for name in names))), handle)

        listings, statics = [], []
        for _run in range(args.repeat):
            elapsed, output = timed([os.path.join(BIN, 'ansible-inventory'), '-i', inventory, '--list'],
                                    environment, workdir)
            listed = sorted(json.loads(output)['_meta']['hostvars'])
            if listed != names:
                sys.exit('the inventory listed %d clusters, not the %d laid out' % (len(listed), len(names)))
            listings.append(elapsed)
            statics.append(timed([os.path.join(BIN, 'ansible-inventory'), '-i', static, '--list'],
                                 environment, workdir)[0])

        playbook = [os.path.join(BIN, 'ansible-playbook'), '-e', 'ansible_python_interpreter=%s' % sys.executable]
        fleet, _output = timed(playbook + ['-i', inventory, '--forks', str(args.forks), '-e', 'kubernetes_version=v1.35.1',
                                           FLEET_PLAYBOOK], environment, workdir)
        check_versions(backend, names, 'v1.35.1')
        loop, _output = timed(playbook + ['-i', 'localhost,', '-e', 'store=%s' % location,
                                          '-e', 'kubernetes_version=v1.35.2', LOOP_PLAYBOOK], environment, workdir)
        check_versions(backend, names, 'v1.35.2')

        listing = statistics.median(listings)
        print('clusters: %d in %s on the test moto (%s)' % (len(names), location, server.endpoint))
        print('inventory: ansible-inventory --list of the plugin %.2f s (median of %d; a static inventory of as many '
              'hosts %.2f s, so the plugin itself %.2f s)' % (listing, args.repeat, statistics.median(statics),
                                                              listing - statistics.median(statics)))
        print('fleet upgrade, playbooks/fleet_upgrade.yml --forks %d: %.1f s' % (args.forks, fleet))
        print('the same change as a loop in one host\'s play: %.1f s' % loop)
        print('ratio loop / fleet: %.2f' % (loop / fleet))
    finally:
        server.stop()


if __name__ == '__main__':
    main()
