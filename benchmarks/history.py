#!/usr/bin/env python
"""Benchmark of the history snapshot (playbooks/state_store_history.yml) against the recipe it replaces:
`aws s3 sync` of the store into a folder, then `git add -A` and `git commit`.

Run (from the repository root, after `make setup`):   make bench
or:   .venv/bin/python benchmarks/history.py [--clusters 10 100] [--repeat 3] [--extra 195]

One moto server on 127.0.0.1 (the tests' launcher), a bucket of N clusters laid out as kOps does
(migrate_s3.py's clusters: config, two instance groups and --extra entries of 0.5-4 KiB in kOps's folders, secret
ones included), and for each size, medians of --repeat, every figure from this one run (compare the ratios, the
machine is shared), each command timed whole, start-up included:

- the history playbook into a new repository (first run), then again with nothing changed (no-op);
- the recipe with every entry (synced into a folder of the repository), first run (git init included) and no-op;
- the recipe with the secret folders excluded (`--exclude` of pki/, secrets/, private/ and backups/ below each
  cluster, what the playbook leaves out by default), first run and no-op;
- the floor of any playbook: ansible-playbook running one ping task on localhost.

Every snapshot is checked: its commit holds each public entry of the bucket with equal bytes and no secret one.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from migrate_s3 import MigrationBench, fleet_parser  # noqa: E402  (same server, clusters and tools)
from sync_s3 import BIN, REPO, median  # noqa: E402
from servers.moto import MotoServer  # noqa: E402

PLAYBOOK = os.path.join(REPO, 'playbooks', 'state_store_history.yml')
SECRET_FOLDERS = ('pki', 'secrets', 'private', 'backups')
GIT_IDENTITY = dict(GIT_AUTHOR_NAME='bench', GIT_AUTHOR_EMAIL='bench@localhost', GIT_COMMITTER_NAME='bench',
                    GIT_COMMITTER_EMAIL='bench@localhost', GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM='1')
RECIPES = (('history playbook', 'history'), ('`aws s3 sync` + git, everything', 'everything'),
           ('`aws s3 sync` + git, secret folders excluded', 'public'))


def secret(key):
    return any(part in SECRET_FOLDERS for part in key.split('/')[1:-1])


class HistoryBench(MigrationBench):
    def __init__(self, args, server, workdir):
        super(HistoryBench, self).__init__(args, server, workdir)
        self.env.update(GIT_IDENTITY)

    def playbook(self, bucket, repository):
        return [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                '-e', 'ansible_python_interpreter=%s' % sys.executable,
                '-e', 'state_store=s3://%s' % bucket, '-e', 'repository=%s' % repository, PLAYBOOK]

    def floor(self):
        playbook = os.path.join(self.workdir, 'ping.yml')
        with open(playbook, 'w') as handle:
            handle.write('- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n')
        return [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                '-e', 'ansible_python_interpreter=%s' % sys.executable, playbook]

    def recipe(self, bucket, folder, excluded):
        exclude = ' '.join("--exclude '*/%s/*'" % name for name in SECRET_FOLDERS) if excluded else ''
        # the store in a folder of the repository, as the history keeps it: `--delete` never reaches .git
        script = ('set -e; git init -q "$1" 2>/dev/null || true; %s s3 sync s3://%s "$1/store" --endpoint-url %s '
                  '--only-show-errors --delete %s; cd "$1"; git add -A; git diff --cached --quiet || git commit -q -m snapshot'
                  % (os.path.join(BIN, 'aws'), bucket, self.server.endpoint, exclude))
        return ['bash', '-c', script, 'recipe', folder]

    def check_snapshot(self, repository, bucket, entries):
        folder = 's3/%s' % bucket
        listed = subprocess.run(['git', '-C', repository, 'ls-tree', '-r', '--name-only', 'HEAD', '--', folder],
                                stdout=subprocess.PIPE, text=True, check=True).stdout.split()
        recorded = set(path[len(folder) + 1:] for path in listed if '/.kops-history/' not in '/' + path)
        public = set(key for key in entries if not secret(key))
        if recorded != public:
            raise SystemExit('the snapshot in %s holds %d entries, the bucket %d public ones' % (
                repository, len(recorded), len(public)))
        for key in sorted(public)[::97]:
            shown = subprocess.run(['git', '-C', repository, 'show', 'HEAD:%s/%s' % (folder, key)],
                                   stdout=subprocess.PIPE, check=True).stdout
            if shown != entries[key]:
                raise SystemExit('%s differs in the snapshot' % key)

    def measure(self, clusters, extra):
        bucket = self.bucket('history')
        entries = self.fill_clusters(bucket, clusters, extra)
        times = dict((name, dict(first=[], noop=[])) for _label, name in RECIPES)
        times['floor'] = []
        for repetition in range(self.args.repeat):
            commands = dict(
                history=self.playbook(bucket, os.path.join(self.workdir, 'history-%d-%d' % (clusters, repetition))),
                everything=self.recipe(bucket, os.path.join(self.workdir, 'all-%d-%d' % (clusters, repetition)), False),
                public=self.recipe(bucket, os.path.join(self.workdir, 'public-%d-%d' % (clusters, repetition)), True))
            for _label, name in RECIPES:
                times[name]['first'].append(self.run(commands[name]))
                times[name]['noop'].append(self.run(commands[name]))
            times['floor'].append(self.run(self.floor()))
            self.check_snapshot(commands['history'][-2].split('=', 1)[1], bucket, entries)
            for name in ('all', 'public', 'history'):
                shutil.rmtree(os.path.join(self.workdir, '%s-%d-%d' % (name, clusters, repetition)), ignore_errors=True)
            print('  %d clusters, repetition %d done' % (clusters, repetition + 1), flush=True)
        return len(entries), times


def report(rows):
    print('\n| clusters, run | history playbook | %s | %s |' % (RECIPES[1][0], RECIPES[2][0]))
    print('|---|---|---|---|')
    for clusters, count, times in rows:
        for run, label in (('first', '%d clusters / %s entries, first' % (clusters, format(count, ','))),
                           ('noop', '%d clusters, nothing changed' % clusters)):
            ours = median(times['history'][run])
            cells = ['%.1f s (%.2fx)' % (median(times[name][run]), ours / median(times[name][run]))
                     for name in ('everything', 'public')]
            print('| %s | %.1f s | %s |' % (label, ours, ' | '.join(cells)))
    print('\n(ratio: the history playbook\'s time over the recipe\'s; medians of %s runs)'
          % ', '.join('%d at %d clusters' % (len(times['history']['first']), clusters) for clusters, _count, times in rows))
    print('The floor of any playbook (ansible-playbook, one ping task on localhost), in the same runs: %s'
          % ', '.join('%.1f s' % median(times['floor']) for _clusters, _count, times in rows))


def main():
    args = fleet_parser(__doc__).parse_args()
    args.parallel = 16
    workdir = tempfile.mkdtemp(prefix='kops-history-bench-')
    server = MotoServer()
    rows = []
    try:
        bench = HistoryBench(args, server, workdir)
        print('moto server %s; clusters %s of %d entries each' % (server.endpoint, args.clusters, args.extra + 3))
        for clusters in args.clusters:
            started = time.monotonic()
            count, times = bench.measure(clusters, args.extra)
            rows.append((clusters, count, times))
            print('  (%.0f s)' % (time.monotonic() - started), flush=True)
            report(rows)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
