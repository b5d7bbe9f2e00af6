"""Figures of the reliability suite: tests record them here; at the end of the run one summary block is
printed and, when the whole run passed with the contract suites in it, the figures page is written: to
build/reliability.md, outside the tracked tree, unless KOPS_RELIABILITY_PAGE names another file
(``make reliability`` rewrites docs/reliability.md that way, on purpose).

The conformance table comes from the outcomes of the BackendContract tests of each backend's own test
module (tests/unit/plugins/module_utils/test_{local,memfs}_backend.py, tests/integration/backends/test_*_backend.py),
so run them in the same session:
``make reliability`` (or ``make test``).
"""

import collections
import datetime
import os
import platform

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGE = os.path.join(REPO, os.environ.get('KOPS_RELIABILITY_PAGE') or os.path.join('build', 'reliability.md'))
# where the backends' own test modules are: file and memfs need no server, the others do
CONTRACT_SUITES = ('tests/unit/plugins/module_utils/', 'tests/integration/backends/')
COMMAND = 'make reliability   # the backend contract suites and tests/reliability; rewrites docs/reliability.md'

# contract test class -> backend column (the class names of the per-backend test modules)
BACKENDS = collections.OrderedDict([
    ('TestLocalBackend', 'file'), ('TestMemfsBackend', 'memfs'), ('TestS3Backend', 's3'),
    ('TestS3EndpointBackend', 's3 (S3_ENDPOINT)'), ('TestDoBackend', 'do'), ('TestGCSBackend', 'gs'),
    ('TestOSSBackend', 'oss'), ('TestVaultBackend', 'vault'), ('TestSwiftBackend', 'swift'),
])
# "access denied" is no contract test (each server refuses in its own way): the backend test proving it
ACCESS_DENIED = {
    'test_s3_backend.py::test_access_denied_is_clear': ('s3', 's3 (S3_ENDPOINT)', 'do'),
    'test_gcs_backend.py::TestGCSBackend::test_refused_credentials_write_nothing': ('gs',),
    'test_oss_backend.py::TestOSSBackend::test_wrong_credentials_write_nothing': ('oss',),
    'test_vault_backend.py::TestVaultBackend::test_read_only_token_cannot_write': ('vault',),
    'test_swift_backend.py::test_wrong_password_is_a_clear_error': ('swift',),
}
NO_ACCESS_CONTROL = {'file': 'n/a (tests run as root)', 'memfs': 'n/a (in-process)'}

# what the figures do not show by themselves (kept here so the generated page carries them)
NOTES = (
    'memfs:// is left out of the concurrency runs: its store lives inside one process.',
    'vault:// holds no cluster config (kOps keeps only secrets and keys there), so its processes merge into one '
    'JSON entry with the same merge function and the backend\'s compare-and-swap.',
    'swift:// runs as an expected failure (xfail, not strict) in the concurrency table: Swift checks If-None-Match '
    'before the body arrives, so two processes could both create the lock entry (2 of 24 merges lost in 1 of 3 runs). '
    'Since the swift backend confirms each create by reading back a marker after a settle time, 0 were lost in 3 of '
    '3 runs; it stays an expected failure because that guard depends on timing.',
    'Fault injection is deterministic (0, 1 or 2 failed attempts per request, chosen by a hash of the request). '
    'With 2 failed attempts on a third of the requests, botocore\'s retry quota (a client-wide token bucket) ran out '
    'and a second sync of 60 entries failed: retries are bounded by that quota as well as by the 5 attempts.',
    'Lock safety (tests/reliability/test_lock_faults.py): every run is a process of its own with 12 s locks (60 s in '
    'use) that reads a counter, works and writes it plus one, confirming its lock right before the write on Swift and '
    'OSS, expecting the version it read on S3 and GCS. Lost updates are increments the store accepted minus the final '
    'counter; late writes are writes made after another run took the lock; a live lock taken over is one taken less '
    'than its ttl after its holder last renewed it. Starvation runs as many busy processes as there are cores; a '
    'paused holder is stopped with SIGSTOP, renewal thread and all, and resumed after the other run wrote; a skewed '
    'clock is the process\'s time.time, ten minutes off (OSS accepts requests signed up to 15 minutes off); a crashed '
    'holder is killed (-9). The lost update between the check and the write is the window a lease cannot close '
    'without conditional writes: use a backend with compare-and-swap for concurrent writers.',
    'Listing faults (tests/reliability/test_listing_faults.py): the tests run as root, which lists any folder, so the '
    'sync with an unreadable source folder runs as the user nobody in a forked child; the sync over links to '
    '/dev/zero and a FIFO runs in a child bounded in time and memory (before the fix it never finished).',
    'The hostile-input properties found two bugs, fixed with this suite: `s3://[` raised a Python ValueError, '
    'and a file:// write below an existing entry raised FileExistsError. PyYAML does not round-trip U+0085 (NEL) in '
    'a string value of a cluster spec; the merge property leaves control characters out.',
    'The secrets scan showed that ansible-core prints the values of a task\'s `environment:` keyword in its EXEC '
    'line at -vvvv: give credentials as module options (no_log) or in the environment of ansible-playbook instead.',
    'Timings are from a shared 2-core machine under heavy load; compare runs on the same machine only.',
)

TOTALS = ('operations', 'processes', 'lost updates', 'faults injected', 'inputs tried', 'leaks found', 'log lines scanned')


class Figures(object):
    def __init__(self):
        self.totals = collections.OrderedDict((name, 0) for name in TOTALS)
        self.sections = collections.OrderedDict()  # title -> (header, [rows])
        self.contract = collections.defaultdict(dict)  # behaviour -> {backend: outcome}
        self.reliability_failed = False
        self.reliability_ran = False

    def add(self, **counts):
        for name, value in counts.items():
            self.totals[name.replace('_', ' ')] += value

    def row(self, section, header, values):
        self.sections.setdefault(section, (header, []))[1].append([str(value) for value in values])

    # -- pytest hooks -------------------------------------------------------------------------
    def pytest_runtest_logreport(self, report):
        if '/reliability/' in report.nodeid or report.nodeid.startswith('reliability/'):
            self.reliability_ran = True
            if report.failed:
                self.reliability_failed = True
        backend_cell = self._contract_cell(report)
        if backend_cell is None:
            return
        behaviour, backends = backend_cell
        if report.when == 'call' or report.failed or report.skipped:
            outcome = 'fail' if report.failed else 'n/a' if report.skipped else 'pass'
            for backend in backends:
                previous = self.contract[behaviour].get(backend)
                if previous != 'fail' and not (previous == 'pass' and outcome == 'n/a'):
                    self.contract[behaviour][backend] = outcome

    @staticmethod
    def _contract_cell(report):
        path = report.nodeid.split('[')[0]
        for suffix, backends in ACCESS_DENIED.items():
            if path.endswith(suffix):
                return 'access denied', backends
        parts = path.split('::')
        if len(parts) == 3 and parts[1] in BACKENDS and report.nodeid.startswith(CONTRACT_SUITES):
            from support.backend_contract import BackendContract

            if hasattr(BackendContract, parts[2]):
                return parts[2][len('test_'):].replace('_', ' '), (BACKENDS[parts[1]],)
        return None

    def pytest_terminal_summary(self, terminalreporter, exitstatus):
        if not self.reliability_ran:
            return
        lines = self.render()
        terminalreporter.section('reliability summary')
        for line in lines['summary']:
            terminalreporter.write_line(line)
        page = os.path.relpath(PAGE, REPO)
        reason = self.not_written_because(exitstatus)
        if reason:
            terminalreporter.write_line('%s not written: %s' % (page, reason))
        else:
            if not os.path.isdir(os.path.dirname(PAGE)):
                os.makedirs(os.path.dirname(PAGE))
            with open(PAGE, 'w') as handle:
                handle.write('\n'.join(lines['doc']) + '\n')
            terminalreporter.write_line('%s written' % page)

    def not_written_because(self, exitstatus):
        if exitstatus != 0 or self.reliability_failed:
            return 'the run did not pass'
        if not self.contract:
            return 'the backend contract suites were not part of the run'
        return None

    # -- rendering ----------------------------------------------------------------------------
    def render(self):
        summary = ['%-18s %s' % (name + ':', value) for name, value in self.totals.items()]
        doc = [
            '# Reliability and security figures',
            '',
            'Generated by `tests/reliability/summary.py` from the last full run of the reliability suite; do not edit.',
            'Run on %s, Python %s, %d CPUs, %s.' % (
                datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M UTC'), platform.python_version(),
                os.cpu_count() or 1, platform.platform(terse=True)),
            '',
            'Reproduce (after `make setup`):',
            '',
            '```',
            COMMAND,
            '```',
            '',
            '## Totals',
            '',
            '| figure | value |',
            '|---|---|',
        ]
        doc += ['| %s | %s |' % item for item in self.totals.items()]
        doc += self._conformance()
        for title, (header, rows) in self.sections.items():
            doc += ['', '## %s' % title, '', '| %s |' % ' | '.join(header), '|%s' % ('---|' * len(header))]
            doc += ['| %s |' % ' | '.join(row) for row in rows]
            summary.append('%s: %d rows' % (title, len(rows)))
        doc += ['', '## Notes', ''] + ['- %s' % note for note in NOTES]
        return dict(summary=summary, doc=doc)

    def _conformance(self):
        backends = [b for b in BACKENDS.values() if any(b in cells for cells in self.contract.values())]
        lines = ['', '## Conformance (BackendContract and access-denied tests per backend)', '',
                 'n/a: the behaviour does not apply (e.g. no compare-and-swap: a lock entry guards writers instead).', '',
                 '| behaviour | %s |' % ' | '.join(backends), '|---|%s' % ('---|' * len(backends))]
        for behaviour in sorted(self.contract, key=lambda name: (name == 'access denied', name)):
            cells = self.contract[behaviour]
            lines.append('| %s | %s |' % (behaviour, ' | '.join(
                cells.get(backend) or (NO_ACCESS_CONTROL.get(backend, 'not run') if behaviour == 'access denied'
                                       else 'not run') for backend in backends)))
        return lines


FIGURES = Figures()
