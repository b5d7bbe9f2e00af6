"""How the benchmarks time a command and take its peak memory in the same run: a small Python wrapper starts the
command, waits for it, and reports the elapsed time of the command alone (not the wrapper's start-up) and the largest
resident set among the command and every process it waited for (RUSAGE_CHILDREN's ru_maxrss: the largest one of the
tree, not their sum)."""

import json
import os
import subprocess
import sys
import tempfile

# argv: figures file, then the command; the command's stdout and stderr pass through
_WRAPPER = '''
import json, resource, subprocess, sys, time
started = time.monotonic()
returncode = subprocess.run(sys.argv[2:]).returncode
elapsed = time.monotonic() - started
with open(sys.argv[1], 'w') as handle:
    json.dump(dict(elapsed=elapsed, peak_kib=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss), handle)
sys.exit(returncode)
'''


class Measured(object):
    """One run of a command: ``elapsed`` seconds, ``peak_mib`` (largest resident set of its process tree), ``stdout``."""

    def __init__(self, elapsed, peak_mib, stdout):
        self.elapsed, self.peak_mib, self.stdout = elapsed, peak_mib, stdout


def measured_run(command, environment, workdir=None):
    """Run ``command`` (a list) and return a Measured; exit with its output when it fails."""
    handle, figures = tempfile.mkstemp(prefix='measure-', suffix='.json')
    os.close(handle)
    try:
        completed = subprocess.run([sys.executable, '-c', _WRAPPER, figures] + list(command), env=environment,
                                   cwd=workdir, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            sys.exit('%s failed (rc %d):\n%s%s' % (' '.join(command[:2]), completed.returncode,
                                                   completed.stdout[-3000:], completed.stderr[-3000:]))
        with open(figures) as stream:
            found = json.load(stream)
    finally:
        os.unlink(figures)
    return Measured(found['elapsed'], found['peak_kib'] / 1024.0, completed.stdout)
