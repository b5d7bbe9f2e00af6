#!/usr/bin/env python
"""Benchmark of the migrate_state_store role against `aws s3 sync` of the same clusters.

Run (from the repository root, after `make setup`):   make bench
or:   .venv/bin/python benchmarks/migrate_s3.py [--clusters 10 100] [--repeat 3] [--extra 195]

One moto server on 127.0.0.1 (the tests' launcher, behind tests/servers/_moto_front.py), a source bucket of
N clusters made from tests/fixtures/kops-clusters/minimal-aws.yaml as kOps lays them out (config and two
instance groups, configBase in the source bucket) with --extra entries of 0.5-4 KiB each in kOps's folders, and
for each size, medians of --repeat, every figure from this one run (compare the ratios, the machine is shared):

- `playbooks/migrate_state_store.yml` through ansible-playbook: first run into an empty bucket, second run with
  nothing to do, and check mode into an empty bucket (the plan of a first run);
- `aws s3 sync` of the same source into an empty bucket, then again (its no-op);
- the peak memory (largest resident set among ansible-playbook and the processes it waits for) of the role's
  first run at the largest size.

Every migration is checked: each source entry at the destination with equal bytes, the configs pointing at the
destination.
"""

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sync_s3 import BIN, REPO, Bench, median  # noqa: E402  (same server, environment and tools)
from measure import measured_run  # noqa: E402  (time and peak memory of one command)
from servers.moto import MotoServer  # noqa: E402

PLAYBOOK = os.path.join(REPO, 'playbooks', 'migrate_state_store.yml')
FIXTURE = os.path.join(REPO, 'tests', 'fixtures', 'kops-clusters', 'minimal-aws.yaml')
FIXTURE_NAME = 'minimal-aws.example.com'
# where kOps keeps the entries of a cluster's folder besides its config and instance groups
FOLDERS = ('pki/issued/kubernetes-ca', 'pki/private/kubernetes-ca', 'secrets', 'addons/bootstrap-channel',
           'igconfig/node/nodes', 'manifests/etcd', 'backups/etcd/main/2026-11-30T00:00:00Z-000001')


class MigrationBench(Bench):
    def cluster_entries(self, bucket, number, extra):
        """{key: bytes} of one cluster as kOps lays it out, named cluster-<number>.example.com."""
        name = 'cluster-%03d.example.com' % number
        with open(FIXTURE) as handle:
            text = handle.read().replace(FIXTURE_NAME, name)
        entries = {}
        for document in yaml.safe_load_all(text):
            if document['kind'] == 'Cluster':
                document['spec']['configBase'] = 's3://%s/%s' % (bucket, name)
                key = '%s/config' % name
            else:
                key = '%s/instancegroup/%s' % (name, document['metadata']['name'])
            entries[key] = yaml.safe_dump(document, default_flow_style=False).encode('utf-8')
        generator = random.Random(number)
        for index in range(extra):
            key = '%s/%s/%04d' % (name, FOLDERS[index % len(FOLDERS)], index)
            entries[key] = generator.randbytes(generator.randint(512, 4096))
        return entries

    def fill_clusters(self, bucket, clusters, extra):
        entries = {}
        for number in range(clusters):
            entries.update(self.cluster_entries(bucket, number, extra))

        def put(item):
            self.client.put_object(Bucket=bucket, Key=item[0], Body=item[1])
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(put, entries.items()))
        return entries

    def check_moved(self, source_bucket, dest_bucket, clusters):
        source, dest = self.listing(source_bucket), self.listing(dest_bucket)
        others = dict((key, etag) for key, etag in source.items() if not key.endswith('/config'))
        if any(dest.get(key) != etag for key, etag in others.items()) or len(dest) != len(source):
            raise SystemExit('migration incomplete: %s differs from %s' % (dest_bucket, source_bucket))
        for number in (0, clusters - 1):
            key = 'cluster-%03d.example.com/config' % number
            spec = yaml.safe_load(self.client.get_object(Bucket=dest_bucket, Key=key)['Body'].read())['spec']
            if spec['configBase'] != 's3://%s/cluster-%03d.example.com' % (dest_bucket, number):
                raise SystemExit('configBase of %s not rewritten: %s' % (key, spec['configBase']))

    def role_command(self, source, destination, check=False):
        return [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                '-e', 'ansible_python_interpreter=%s' % sys.executable,
                '-e', json.dumps(dict(source=source, destination=destination)), PLAYBOOK] + (['--check'] if check else [])

    def measure(self, clusters, extra):
        source_bucket = self.bucket('src')
        entries = self.fill_clusters(source_bucket, clusters, extra)
        times = dict(role=dict(first=[], second=[], check=[]), aws=dict(first=[], second=[]))
        source = 's3://%s' % source_bucket
        for repetition in range(self.args.repeat):
            dest_bucket = self.bucket('dst')
            times['role']['check'].append(self.run(self.role_command(source, 's3://%s' % dest_bucket, check=True)))
            if self.listing(dest_bucket):
                raise SystemExit('check mode wrote to %s' % dest_bucket)
            times['role']['first'].append(self.run(self.role_command(source, 's3://%s' % dest_bucket)))
            self.check_moved(source_bucket, dest_bucket, clusters)
            times['role']['second'].append(self.run(self.role_command(source, 's3://%s' % dest_bucket)))
            aws_bucket = self.bucket('aws')
            times['aws']['first'].append(self.run(self.aws_command(source, 's3://%s' % aws_bucket)))
            times['aws']['second'].append(self.run(self.aws_command(source, 's3://%s' % aws_bucket)))
            print('  %d clusters, repetition %d done' % (clusters, repetition + 1), flush=True)
        return len(entries), times

    def peak_memory(self, clusters, extra):
        """Largest resident set (MiB) among ansible-playbook and what it waits for, over the role's first run."""
        source_bucket = self.bucket('memsrc')
        self.fill_clusters(source_bucket, clusters, extra)
        command = self.role_command('s3://%s' % source_bucket, 's3://%s' % self.bucket('memdst'))
        return measured_run(command, self.env).peak_mib


def report(clusters, count, times):
    role, aws = times['role'], times['aws']
    print('\n%d clusters, %d entries (medians of %d, seconds)' % (clusters, count, len(role['first'])))
    print('  | workflow | migration role | `aws s3 sync` | ratio |')
    print('  |---|---|---|---|')
    rows = (('first run', median(role['first']), median(aws['first'])),
            ('second run (nothing to do)', median(role['second']), median(aws['second'])))
    for label, ours, theirs in rows:
        print('  | %s | %.1f | %.1f | %.2fx |' % (label, ours, theirs, ours / theirs))
    print('  | check mode, into an empty store | %.1f | - | %.2fx the role\'s second run |'
          % (median(role['check']), median(role['check']) / median(role['second'])))


def fleet_parser(doc):
    """The options of the benchmarks over a fleet of clusters on moto: how many clusters, entries, repeats."""
    parser = argparse.ArgumentParser(description=doc.split('\n', maxsplit=1)[0])
    parser.add_argument('--clusters', type=int, nargs='+', default=[10, 100])
    parser.add_argument('--extra', type=int, default=195, help='entries per cluster besides config and instance groups')
    parser.add_argument('--repeat', type=int, default=3)
    return parser


def main():
    parser = fleet_parser(__doc__)
    parser.add_argument('--no-memory', action='store_true', help='skip the peak-memory run')
    args = parser.parse_args()
    args.parallel = 16
    workdir = tempfile.mkdtemp(prefix='kops-migrate-bench-')
    server = MotoServer()
    try:
        bench = MigrationBench(args, server, workdir)
        print('moto server %s; clusters %s of %d entries each' % (server.endpoint, args.clusters, args.extra + 3))
        for clusters in args.clusters:
            started = time.monotonic()
            count, times = bench.measure(clusters, args.extra)
            report(clusters, count, times)
            print('  (%.0f s)' % (time.monotonic() - started))
        if not args.no_memory:
            largest = max(args.clusters)
            print('\nPeak memory of the role\'s first run at %d clusters: %.0f MiB'
                  % (largest, bench.peak_memory(largest, args.extra)))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
