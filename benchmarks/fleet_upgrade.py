#!/usr/bin/env python
"""Benchmark of clusters as inventory: the kops.state_store.clusters inventory plugin against a static inventory
regenerated from a listing, and playbooks/fleet_upgrade.yml against the same change written as a loop in one host's
play.

Run (from the repository root, after `make setup`):
    .venv/bin/python benchmarks/fleet_upgrade.py [--clusters 100 1000] [--fleet-clusters 100] [--forks 10] [--repeat 3]

One moto server on 127.0.0.1, started here the way the tests start theirs; for each of --clusters, that many clusters
made from the kOps fixtures of tests/fixtures/kops-clusters (renamed, laid out as kOps lays them out: config and
instance groups) in a bucket of their own. Every figure printed comes from this one run (the machine is shared and
noisy: compare the ratios, not the absolute times), each command timed whole, start-up included:

- the inventory, at each size (medians of --repeat): `ansible-inventory --list` of the plugin over the bucket, against
  what a user who keeps a static inventory pays instead - `ansible-inventory --list` of a static inventory of as many
  hosts plus `aws s3 ls --recursive` of the bucket (the listing they would regenerate it from) - with the ratio, and
  the peak memory (largest resident set of the ansible-inventory process tree) of the plugin and of the static
  inventory; every plugin run is checked to list exactly the clusters laid out;
- the fleet change (a kubernetesVersion bump of every cluster) at --fleet-clusters (0 skips it):
  playbooks/fleet_upgrade.yml with --forks, then benchmarks/fleet_loop_playbook.yml (cluster_info lists the clusters,
  a loop of cluster tasks changes them one after the other); each run is checked to have changed every cluster, and
  the ratio loop / fleet is printed.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
COLLECTIONS = os.path.join(REPO, 'build', 'collections')
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests'))
sys.path.insert(0, COLLECTIONS)

from measure import measured_run  # noqa: E402  (time and peak memory of one command, as the other benchmarks take them)
from servers.moto import MotoServer, clean_aws_environment  # noqa: E402  (the test suite's moto launcher)
from support.kops_fleet import lay_out_fleet  # noqa: E402  (the tests' kOps layout of the fixtures)

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
import yaml  # noqa: E402

from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from ansible_collections.kops.state_store.plugins.module_utils.kops.fleet import READERS
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

FLEET_PLAYBOOK = os.path.join(REPO, 'playbooks', 'fleet_upgrade.yml')
LOOP_PLAYBOOK = os.path.join(REPO, 'benchmarks', 'fleet_loop_playbook.yml')
INVENTORY = os.path.join(BIN, 'ansible-inventory')


class Fleet(object):
    """One bucket of ``count`` clusters, with the plugin's configuration and a static inventory of its hosts."""

    def __init__(self, server, workdir, count):
        bucket = 'fleet-%s' % uuid.uuid4().hex[:10]
        boto3.client('s3', endpoint_url=server.endpoint, region_name='us-east-1', aws_access_key_id='testing',
                     aws_secret_access_key='testing').create_bucket(Bucket=bucket)
        self.location = 's3://%s' % bucket
        self.backend = open_store(self.location, dict(endpoint_url=server.endpoint, access_key='testing',
                                                      secret_key='testing', region='us-east-1'))
        self.names = lay_out_fleet(self.backend, count)
        self.entries = len(self.backend.list('', recursive=True))
        self.inventory = os.path.join(workdir, 'clusters-%d.kops.yml' % count)
        with open(self.inventory, 'w') as handle:
            yaml.safe_dump(dict(plugin='kops.state_store.clusters', state_stores=[self.location]), handle)
        self.static = os.path.join(workdir, 'static-%d.yml' % count)
        with open(self.static, 'w') as handle:
            yaml.safe_dump(dict(all=dict(hosts=dict((name, None) for name in self.names))), handle)
        self.some_fields = os.path.join(workdir, 'version-%d.kops.yml' % count)
        with open(self.some_fields, 'w') as handle:
            yaml.safe_dump(dict(plugin='kops.state_store.clusters', state_stores=[self.location],
                                spec_fields=['kubernetesVersion']), handle)
        self.static_with_vars = os.path.join(workdir, 'static-vars-%d.json' % count)

    def write_static_with_vars(self, listed):
        """A static inventory of the hosts with the variables the plugin gave them (``listed``: its --list JSON)."""
        with open(self.static_with_vars, 'w') as handle:
            json.dump(dict(all=dict(hosts=listed['_meta']['hostvars'])), handle)

    def read_by_boto3(self, server, readers):
        """Seconds a plain boto3 loop takes for the requests the plugin makes, ``readers`` clusters at once: the
        top-level listing, then each cluster's config, its instancegroup/ listing and each group (the server's
        floor for reading the clusters, no parsing, no Ansible)."""
        started = time.monotonic()
        client = boto3.client('s3', endpoint_url=server.endpoint, region_name='us-east-1', aws_access_key_id='testing',
                              aws_secret_access_key='testing', config=Config(max_pool_connections=readers))
        bucket = self.location[len('s3://'):]
        pages = client.get_paginator('list_objects_v2')
        names = [folder['Prefix'].rstrip('/') for page in pages.paginate(Bucket=bucket, Delimiter='/')
                 for folder in page.get('CommonPrefixes', [])]

        def read(name):
            client.get_object(Bucket=bucket, Key=cl.config_path(name))['Body'].read()
            for page in pages.paginate(Bucket=bucket, Prefix='%s/%s/' % (name, cl.IG_FOLDER), Delimiter='/'):
                for item in page.get('Contents', []):
                    client.get_object(Bucket=bucket, Key=item['Key'])['Body'].read()
        with ThreadPoolExecutor(readers) as pool:
            list(pool.map(read, names))
        if sorted(names) != self.names:
            sys.exit('boto3 listed %d clusters, not the %d laid out' % (len(names), len(self.names)))
        return time.monotonic() - started

    def check_versions(self, version):
        """Every cluster has ``version`` now (the run really changed all of them)."""
        wrong = [name for name in self.names
                 if cl.read_cluster(self.backend, name).cluster['spec'].get('kubernetesVersion') != version]
        if wrong:
            sys.exit('%d clusters were not changed to %s, for example %s' % (len(wrong), version, wrong[0]))


def measure_inventory(fleet, server, environment, workdir, repeat):
    """{name: [Measured of each run]} at one size: the plugin with the whole spec and with spec_fields, a static
    inventory of the hosts without and with the plugin's variables, the listing; 'requests': [seconds of each run]."""
    runs = dict(plugin=[], some_fields=[], static=[], static_with_vars=[], listing=[], requests=[])
    listing = [os.path.join(BIN, 'aws'), 's3', 'ls', '--recursive', fleet.location, '--endpoint-url', server.endpoint]
    for run in range(repeat):
        for name, configuration in (('plugin', fleet.inventory), ('some_fields', fleet.some_fields)):
            plugin = measured_run([INVENTORY, '-i', configuration, '--list'], environment, workdir)
            listed = json.loads(plugin.stdout)
            hosts = sorted(listed['_meta']['hostvars'])
            if hosts != fleet.names:
                sys.exit('the inventory listed %d clusters, not the %d laid out' % (len(hosts), len(fleet.names)))
            runs[name].append(plugin)
            if name == 'plugin' and not run:
                fleet.write_static_with_vars(listed)
        runs['static'].append(measured_run([INVENTORY, '-i', fleet.static, '--list'], environment, workdir))
        runs['static_with_vars'].append(measured_run([INVENTORY, '-i', fleet.static_with_vars, '--list'], environment,
                                                     workdir))
        listed = measured_run(listing, environment, workdir)
        count = len(listed.stdout.splitlines())
        if count != fleet.entries:
            sys.exit('aws s3 ls listed %d entries, not the %d of %s' % (count, fleet.entries, fleet.location))
        runs['listing'].append(listed)
        runs['requests'].append(fleet.read_by_boto3(server, READERS))
    return runs


def report_inventory(rows, repeat):
    print('\nansible-inventory --list, the plugin against a static inventory regenerated from a listing '
          '(medians of %d, seconds; peak memory: largest resident set of the process tree, MiB)' % repeat)
    print('| clusters (entries) | plugin | static inventory | `aws s3 ls --recursive` | static + listing | ratio '
          '| peak memory, plugin | peak memory, static |')
    print('|---|---|---|---|---|---|---|---|')
    for fleet, runs in rows:
        plugin, static, listing = (median_time(runs, name) for name in ('plugin', 'static', 'listing'))
        print('| %s (%s) | %.2f | %.2f | %.2f | %.2f | **%.2fx** | %.0f | %.0f |' % (
            format(len(fleet.names), ','), format(fleet.entries, ','), plugin, static, listing, static + listing,
            plugin / (static + listing), max(run.peak_mib for run in runs['plugin']),
            max(run.peak_mib for run in runs['static'])))
    print('\nwhere the plugin\'s time goes (same runs, seconds)')
    print('| clusters | plugin, whole spec (default) | plugin, spec_fields [kubernetesVersion] | static inventory of the '
          'same hosts and variables | the plugin\'s requests, boto3 loop |')
    print('|---|---|---|---|---|')
    for fleet, runs in rows:
        print('| %s | %.2f | %.2f | %.2f | %.2f |' % (
            format(len(fleet.names), ','), median_time(runs, 'plugin'), median_time(runs, 'some_fields'),
            median_time(runs, 'static_with_vars'), statistics.median(runs['requests'])))
    print('(the static inventory holds the variables the plugin gave, as JSON: Ansible\'s own cost of them; the '
          'boto3 loop makes the plugin\'s requests, %d clusters at once, nothing parsed: the server\'s part)' % READERS)


def median_time(runs, name):
    return statistics.median(run.elapsed for run in runs[name])


def fleet_change(fleet, forks, environment, workdir):
    """(seconds of the fleet playbook, seconds of the loop) of two kubernetesVersion bumps of every cluster."""
    playbook = [os.path.join(BIN, 'ansible-playbook'), '-e', 'ansible_python_interpreter=%s' % sys.executable]
    upgrade = measured_run(playbook + ['-i', fleet.inventory, '--forks', str(forks), '-e',
                                       'kubernetes_version=v1.35.1', FLEET_PLAYBOOK], environment, workdir)
    fleet.check_versions('v1.35.1')
    loop = measured_run(playbook + ['-i', 'localhost,', '-e', 'store=%s' % fleet.location,
                                    '-e', 'kubernetes_version=v1.35.2', LOOP_PLAYBOOK], environment, workdir)
    fleet.check_versions('v1.35.2')
    return upgrade.elapsed, loop.elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.partition('\n\n')[0])
    parser.add_argument('--clusters', type=int, nargs='+', default=[100, 1000], help='sizes of the inventory rows')
    parser.add_argument('--fleet-clusters', type=int, default=100,
                        help='clusters of the fleet change (0 skips it)')
    parser.add_argument('--forks', type=int, default=10)
    parser.add_argument('--repeat', type=int, default=3, help='runs of each inventory listing (median)')
    args = parser.parse_args()

    server = MotoServer()
    workdir = tempfile.mkdtemp(prefix='fleet-bench-')
    try:
        environment = clean_aws_environment(
            AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_REGION='us-east-1',
            AWS_DEFAULT_REGION='us-east-1', AWS_ENDPOINT_URL=server.endpoint,
            AWS_CONFIG_FILE=os.path.join(workdir, 'no-aws-config'),
            AWS_SHARED_CREDENTIALS_FILE=os.path.join(workdir, 'no-aws-credentials'), HOME=workdir,
            ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_LOCAL_TEMP=os.path.join(workdir, 'ansible-tmp'),
            ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0')
        print('moto server %s; inventories of %s clusters' % (server.endpoint, ', '.join(map(str, args.clusters))))
        fleets, rows = {}, []
        for count in args.clusters:
            fleets[count] = Fleet(server, workdir, count)
            rows.append((fleets[count], measure_inventory(fleets[count], server, environment, workdir, args.repeat)))
            print('  %d clusters measured' % count, flush=True)
        report_inventory(rows, args.repeat)

        if args.fleet_clusters:
            fleet = fleets.get(args.fleet_clusters) or Fleet(server, workdir, args.fleet_clusters)
            upgrade, loop = fleet_change(fleet, args.forks, environment, workdir)
            print('\nfleet change of %d clusters (one run each)' % args.fleet_clusters)
            print('fleet upgrade, playbooks/fleet_upgrade.yml --forks %d: %.1f s' % (args.forks, upgrade))
            print('the same change as a loop in one host\'s play: %.1f s' % loop)
            print('ratio loop / fleet: %.2f' % (loop / upgrade))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
