#!/usr/bin/env python
"""Benchmark of kops.state_store.sync against the tools a user would otherwise reach for.

Run (from the repository root, after `make setup`):   make bench
or:   .venv/bin/python benchmarks/sync_s3.py [--entries 2000 20000] [--repeat 3] [--parallel 16] [--memory-entries 20000]

Everything runs against one moto server on 127.0.0.1 started here, and every figure printed comes from
this one run (the machine is shared and noisy: compare the ratios, not the absolute times):

- S3 -> S3 at each size of --entries, first run into an empty bucket and second run with nothing to copy:
  the module through ansible-playbook (its start-up counts), `aws s3 sync`, `rclone sync --checksum
  --fast-list`, and the server's own limit: a plain boto3 loop doing the same GET + PUT copies with the same
  parallelism. The tools take turns going first, and each destination is removed once measured, so that
  every tool meets a server holding as many objects (moto slows down as it holds more);
- file -> S3 (a local store pushed to a bucket) at the first size: the module vs `aws s3 sync`;
- the peak memory (largest resident set of ansible-playbook and the module) of a file -> S3 sync of
  --memory-entries: the first run copying every entry, then the second listing both sides in full.

rclone comes from the Debian package (installed here with apt-get when missing). Each tool gets an
explicit environment: the machine's AWS_CA_BUNDLE and other AWS settings are left out.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(REPO, 'tests'))

from servers.moto import MotoServer, clean_aws_environment  # noqa: E402  (the test suite's moto launcher)
from measure import measured_run  # noqa: E402  (time and peak memory of one command)

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

PLAYBOOK = os.path.join(REPO, 'benchmarks', 'sync_playbook.yml')
COLLECTIONS = os.path.join(REPO, 'build', 'collections')


def ensure_rclone():
    if shutil.which('rclone') is None:
        subprocess.run(['apt-get', 'install', '-y', '-qq', 'rclone'], check=True, stdout=subprocess.DEVNULL)
    return shutil.which('rclone')


class Bench(object):
    def __init__(self, args, server, workdir):
        self.args = args
        self.server = server
        self.workdir = workdir
        self.env = clean_aws_environment(
            AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_REGION='us-east-1',
            AWS_DEFAULT_REGION='us-east-1', AWS_ENDPOINT_URL=server.endpoint,
            AWS_CONFIG_FILE=os.path.join(workdir, 'no-aws-config'),
            AWS_SHARED_CREDENTIALS_FILE=os.path.join(workdir, 'no-aws-credentials'),
            ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_LOCAL_TEMP=os.path.join(workdir, 'ansible-tmp'),
            ANSIBLE_NOCOLOR='1', RCLONE_CONFIG=os.path.join(workdir, 'no-rclone.conf'),
        )
        self.client = boto3.client('s3', endpoint_url=server.endpoint, region_name='us-east-1',
                                   aws_access_key_id='testing', aws_secret_access_key='testing',
                                   config=Config(max_pool_connections=64))

    # -- data -----------------------------------------------------------------------------------
    def bucket(self, name):
        bucket = '%s-%s' % (name, uuid.uuid4().hex[:10])
        self.client.create_bucket(Bucket=bucket)
        return bucket

    def remove_bucket(self, bucket):
        """Empty and delete a bucket, so that the server holds no more objects than the next run needs."""
        for page in self.client.get_paginator('list_objects_v2').paginate(Bucket=bucket):
            keys = [dict(Key=item['Key']) for item in page.get('Contents', [])]
            if keys:
                self.client.delete_objects(Bucket=bucket, Delete=dict(Objects=keys, Quiet=True))
        self.client.delete_bucket(Bucket=bucket)

    def entries(self, count, seed=7):
        generator = random.Random(seed)
        for number in range(count):
            # a kOps-like tree: a few clusters, each with nested folders
            path = 'cluster-%d.k8s.local/%s/%05d' % (number % 4, ('pki/private', 'igconfig/node', 'addons')[number % 3], number)
            yield path, generator.randbytes(generator.randint(1024, 4096))

    def fill_bucket(self, bucket, count):
        def put(item):
            self.client.put_object(Bucket=bucket, Key=item[0], Body=item[1])
        with ThreadPoolExecutor(32) as pool:
            list(pool.map(put, self.entries(count)))

    def fill_folder(self, folder, count):
        for path, data in self.entries(count):
            target = os.path.join(folder, path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, 'wb') as handle:
                handle.write(data)

    def listing(self, bucket):
        """{key: ETag} of a bucket."""
        pages = self.client.get_paginator('list_objects_v2').paginate(Bucket=bucket)
        return dict((item['Key'], item['ETag']) for page in pages for item in page.get('Contents', []))

    def check_equal(self, source_bucket, dest_bucket):
        if self.listing(source_bucket) != self.listing(dest_bucket):
            raise SystemExit('copy incomplete: %s differs from %s' % (dest_bucket, source_bucket))

    # -- tools ----------------------------------------------------------------------------------
    def run(self, command):
        started = time.monotonic()
        completed = subprocess.run(command, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   check=False)
        elapsed = time.monotonic() - started
        if completed.returncode != 0:
            raise SystemExit('%s failed:\n%s' % (command[0], completed.stdout[-3000:]))
        return elapsed

    def module_command(self, src, dest):
        return [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                '-e', 'ansible_python_interpreter=%s' % sys.executable,
                '-e', json.dumps(dict(src=src, dest=dest, parallel=self.args.parallel)), PLAYBOOK]

    def aws_command(self, src, dest):
        return [os.path.join(BIN, 'aws'), 's3', 'sync', src, dest, '--endpoint-url', self.server.endpoint,
                '--only-show-errors']

    def rclone_command(self, src, dest):
        remote = ':s3,provider=Other,env_auth=false,access_key_id=testing,secret_access_key=testing,' \
                 'endpoint="%s",force_path_style=true:' % self.server.endpoint
        return [shutil.which('rclone'), 'sync', '--checksum', '--fast-list', '-q',
                remote + src[len('s3://'):], remote + dest[len('s3://'):]]

    def boto3_loop(self, source_bucket, dest_bucket):
        """The server's limit: list once, then GET + PUT every object with the same parallelism."""
        started = time.monotonic()
        client = boto3.client('s3', endpoint_url=self.server.endpoint, region_name='us-east-1',
                              aws_access_key_id='testing', aws_secret_access_key='testing',
                              config=Config(max_pool_connections=self.args.parallel))
        keys = [item['Key'] for page in client.get_paginator('list_objects_v2').paginate(Bucket=source_bucket)
                for item in page.get('Contents', [])]

        def copy(key):
            body = client.get_object(Bucket=source_bucket, Key=key)['Body'].read()
            client.put_object(Bucket=dest_bucket, Key=key, Body=body)
        with ThreadPoolExecutor(self.args.parallel) as pool:
            list(pool.map(copy, keys))
        return time.monotonic() - started

    # -- measurements ---------------------------------------------------------------------------
    def s3_to_s3(self, source_bucket, count):
        """{tool: {'first': [seconds], 'second': [seconds]}}: each repetition starts with the next tool, so that
        none always runs first; each destination is removed once checked."""
        tools = (('module', self.module_command), ('aws s3 sync', self.aws_command), ('rclone', self.rclone_command),
                 ('boto3 loop', None))
        times = dict((name, dict(first=[], second=[])) for name, _command in tools)
        for repetition in range(self.args.repeat):
            turn = repetition % len(tools)
            for name, command in tools[turn:] + tools[:turn]:
                dest_bucket = self.bucket('dst')
                src, dest = 's3://%s' % source_bucket, 's3://%s' % dest_bucket
                if command is None:
                    times[name]['first'].append(self.boto3_loop(source_bucket, dest_bucket))
                else:
                    times[name]['first'].append(self.run(command(src, dest)))
                self.check_equal(source_bucket, dest_bucket)
                if command is not None:
                    times[name]['second'].append(self.run(command(src, dest)))
                self.remove_bucket(dest_bucket)
            print('  S3 -> S3, %d entries, repetition %d done' % (count, repetition + 1), flush=True)
        return times

    def file_to_s3(self, folder):
        tools = (('module', self.module_command), ('aws s3 sync', self.aws_command))
        times = dict((name, dict(first=[], second=[])) for name, _command in tools)
        for repetition in range(self.args.repeat):
            for name, command in tools:
                dest_bucket = self.bucket('up')
                dest = 's3://%s' % dest_bucket
                src = 'file://%s' % folder if name == 'module' else folder
                times[name]['first'].append(self.run(command(src, dest)))
                times[name]['second'].append(self.run(command(src, dest)))
                self.remove_bucket(dest_bucket)
            print('  file -> S3 repetition %d done' % (repetition + 1), flush=True)
        return times

    def peak_memory(self):
        """Largest resident set (MiB) among ansible-playbook and the module it runs, over a first file -> S3 sync
        of --memory-entries (every entry copied) and the second one (both sides listed in full, nothing to do)."""
        folder = os.path.join(self.workdir, 'big-store')
        self.fill_folder(folder, self.args.memory_entries)
        dest = 's3://%s' % self.bucket('bigdst')
        figures = []
        for _run in ('first', 'second'):
            run = measured_run(self.module_command('file://%s' % folder, dest), self.env)
            figures.append((run.peak_mib, run.elapsed))
        return figures


def median(values):
    return statistics.median(values) if values else float('nan')


def report(title, times, reference_names):
    print('\n%s (medians of %d, seconds)' % (title, len(next(iter(times.values()))['first'])))
    print('  %-14s %10s %10s' % ('tool', 'first', 'second'))
    for name, runs in times.items():
        second = '%10.2f' % median(runs['second']) if runs['second'] else '%10s' % '-'
        print('  %-14s %10.2f %s' % (name, median(runs['first']), second))
    module = times['module']
    for reference in reference_names:
        runs = times[reference]
        line = '  module / %-14s first %.2fx' % (reference, median(module['first']) / median(runs['first']))
        if runs['second']:
            line += ', second %.2fx' % (median(module['second']) / median(runs['second']))
        print(line)


def summary(rows):
    """The module against `aws s3 sync`, S3 -> S3, one line per size (a Markdown table)."""
    print('\n| S3 -> S3 | module, first run | `aws s3 sync`, first run | ratio | module, no-op | '
          '`aws s3 sync`, no-op | ratio |')
    print('|---|---|---|---|---|---|---|')
    for count, times in rows:
        module, aws = times['module'], times['aws s3 sync']
        cells = []
        for run in ('first', 'second'):
            ours, theirs = median(module[run]), median(aws[run])
            cells.append('%.2f s | %.2f s | %.2fx' % (ours, theirs, ours / theirs))
        print('| %s entries | %s |' % (format(count, ','), ' | '.join(cells)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--entries', type=int, nargs='+', default=[2000, 20000],
                        help='sizes of the S3 -> S3 measurements; file -> S3 is measured at the first')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--parallel', type=int, default=16)
    parser.add_argument('--memory-entries', type=int, default=20000, help='0 skips the memory measurement')
    parser.add_argument('--memory-only', action='store_true', help='only the memory measurement')
    args = parser.parse_args()

    ensure_rclone()
    workdir = tempfile.mkdtemp(prefix='kops-sync-bench-')
    server = MotoServer()
    try:
        bench = Bench(args, server, workdir)
        print('moto server %s; %s entries of 1-4 KiB; parallel %d'
              % (server.endpoint, ', '.join(format(count, ',') for count in args.entries), args.parallel))
        if not args.memory_only:
            rows = []
            for count in args.entries:
                source_bucket = bench.bucket('src')
                bench.fill_bucket(source_bucket, count)
                s3_times = bench.s3_to_s3(source_bucket, count)
                bench.remove_bucket(source_bucket)
                report('S3 -> S3, %s entries' % format(count, ','), s3_times, ('aws s3 sync', 'rclone', 'boto3 loop'))
                fastest_noop = min(median(s3_times['aws s3 sync']['second']), median(s3_times['rclone']['second']))
                print('  module no-op / fastest no-op of aws and rclone: %.2fx'
                      % (median(s3_times['module']['second']) / fastest_noop))
                rows.append((count, s3_times))
            folder = os.path.join(workdir, 'local-store')
            bench.fill_folder(folder, args.entries[0])
            report('file -> S3, %s entries' % format(args.entries[0], ','), bench.file_to_s3(folder), ('aws s3 sync',))
            summary(rows)
        if args.memory_entries:
            for run, (peak, elapsed) in zip(('first', 'second (no-op)'), bench.peak_memory()):
                print('\nPeak memory of a %d-entry file -> S3 sync through ansible-playbook, %s run: %.0f MiB (%.1f s)'
                      % (args.memory_entries, run, peak, elapsed))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
