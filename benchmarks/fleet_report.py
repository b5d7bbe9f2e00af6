#!/usr/bin/env python
"""Benchmark of the fleet report: playbooks/fleet_report.yml (kops.state_store.store_info: one listing, then the
entries each check needs, clusters read in parallel) against reading the same entries with entry_info tasks.

Run (from the repository root, after `make setup`):
    .venv/bin/python benchmarks/fleet_report.py [--clusters 100] [--baseline-clusters 100]

One moto server on 127.0.0.1, started here the way the tests start theirs; --clusters applied clusters laid out as
kOps and etcd-manager leave them (tests/support/store_health.py: config, instance groups, completed spec, four
keysets, three secrets, two complete backups of each etcd cluster with their control files) in one bucket. Every
figure printed comes from this one run (the machine is shared and noisy: compare the ratio, not the absolute times):

- the report: `ansible-playbook playbooks/fleet_report.yml -e state_store=... -e fail_at=none`, start-up included,
  checked to have written a report of every cluster;
- the same reads as tasks: benchmarks/fleet_report_entries.yml, one entry_info task listing the store, then one
  entry_info task per entry the audit reads (each cluster's config, instance groups and keysets, per etcd cluster the
  newest backup's meta file and the two control files), in a loop, as a playbook without the module would read them;
- the ratio tasks / report. With --baseline-clusters K below --clusters, the tasks read the entries of K clusters
  only and their time is scaled to all of them (the loop reads one entry after the other, so its time grows with
  the entries); both figures are printed.
"""

import argparse
import datetime
import json
import os
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
COLLECTIONS = os.path.join(REPO, 'build', 'collections')
sys.path.insert(0, os.path.join(REPO, 'tests'))
sys.path.insert(0, COLLECTIONS)

from fleet_upgrade import timed  # noqa: E402  (this folder's other fleet benchmark)
from servers.moto import MotoServer, clean_aws_environment  # noqa: E402  (the test suite's moto launcher)
from support import store_health  # noqa: E402  (the tests' applied clusters)

import boto3  # noqa: E402

from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store  # noqa: E402

REPORT_PLAYBOOK = os.path.join(REPO, 'playbooks', 'fleet_report.yml')
ENTRIES_PLAYBOOK = os.path.join(REPO, 'benchmarks', 'fleet_report_entries.yml')


def entries_read(backend, name, backups):
    """The entries store_info reads of one applied cluster (besides the listing)."""
    paths = ['%s/config' % name] + [entry.path for entry in backend.list('%s/instancegroup' % name)]
    paths += ['%s/pki/private/%s/keyset.yaml' % (name, keyset) for keyset in store_health.KEYSETS]
    for etcd_cluster, names in sorted(backups.items()):
        folder = '%s/backups/etcd/%s' % (name, etcd_cluster)
        paths += ['%s/%s/_etcd_backup.meta' % (folder, names[-1]), '%s/control/etcd-cluster-spec' % folder,
                  '%s/control/etcd-cluster-created' % folder]
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.partition('\n\n')[0])
    parser.add_argument('--clusters', type=int, default=100)
    parser.add_argument('--baseline-clusters', type=int, help='clusters whose entries the tasks read (default: all)')
    args = parser.parse_args()
    baseline_clusters = min(args.baseline_clusters or args.clusters, args.clusters)

    server = MotoServer()
    workdir = tempfile.mkdtemp(prefix='fleet-report-bench-')
    try:
        bucket = 'report-%s' % uuid.uuid4().hex[:10]
        boto3.client('s3', endpoint_url=server.endpoint, region_name='us-east-1', aws_access_key_id='testing',
                     aws_secret_access_key='testing').create_bucket(Bucket=bucket)
        location = 's3://%s' % bucket
        backend = open_store(location, dict(endpoint_url=server.endpoint, access_key='testing', secret_key='testing',
                                            region='us-east-1'))
        now = datetime.datetime.now(datetime.timezone.utc)
        names = ['c%03d.example.com' % number for number in range(args.clusters)]
        store_health.keyset_entries()  # the CAs once, before the threads
        with ThreadPoolExecutor(16) as pool:
            laid_out = dict(zip(names, pool.map(lambda name: store_health.lay_out_applied(backend, name, now), names)))
        paths = [path for name in names for path in entries_read(backend, name, laid_out[name])]
        sampled = [path for name in names[:baseline_clusters] for path in entries_read(backend, name, laid_out[name])]
        environment = clean_aws_environment(
            AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_REGION='us-east-1',
            AWS_ENDPOINT_URL=server.endpoint, AWS_CONFIG_FILE=os.path.join(workdir, 'no-aws-config'),
            AWS_SHARED_CREDENTIALS_FILE=os.path.join(workdir, 'no-aws-credentials'), HOME=workdir,
            ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_LOCAL_TEMP=os.path.join(workdir, 'ansible-tmp'),
            ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0')
        playbook = [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                    '-e', 'ansible_python_interpreter=%s' % sys.executable]
        report_dir = os.path.join(workdir, 'report')
        report = timed(playbook + ['-e', 'state_store=%s' % location, '-e', 'report_dir=%s' % report_dir,
                                   '-e', 'fail_at=none', REPORT_PLAYBOOK], environment, workdir)[0]
        with open(os.path.join(report_dir, 'fleet-report.md')) as handle:
            shown = handle.read()
        missing = [name for name in names if '| %s |' % name not in shown]
        if missing:
            sys.exit('the report has no row of %d clusters, for example %s' % (len(missing), missing[0]))

        entries_file = os.path.join(workdir, 'entries.json')
        with open(entries_file, 'w') as handle:
            json.dump(dict(store=location, paths=sampled), handle)
        measured = timed(playbook + ['-e', '@%s' % entries_file, ENTRIES_PLAYBOOK], environment, workdir)[0]
        tasks = measured * len(paths) / len(sampled)

        print('clusters: %d in %s on the test moto (%s)' % (len(names), location, server.endpoint))
        print('fleet report, playbooks/fleet_report.yml (store_info, Markdown and HTML): %.1f s' % report)
        if len(sampled) < len(paths):
            print('entry_info tasks reading the entries of %d clusters (one listing, then %d reads in a loop): %.1f s'
                  % (baseline_clusters, len(sampled), measured))
        print('the same entries with entry_info tasks (one listing, then %d reads in a loop): %.1f s%s'
              % (len(paths), tasks, ' (scaled)' if len(sampled) < len(paths) else ''))
        print('ratio tasks / report: %.1f' % (tasks / report))
    finally:
        server.stop()


if __name__ == '__main__':
    main()
