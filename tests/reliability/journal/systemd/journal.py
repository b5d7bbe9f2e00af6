"""systemd.journal.send/sendv, appending each entry as one JSON line to the file named by
KOPS_TEST_JOURNAL (the journal's fields, as journald would store them)."""

import json
import os


def send(MESSAGE, **fields):  # noqa: N803 - journald's field names
    sendv('MESSAGE=%s' % MESSAGE, *('%s=%s' % (name, value) for name, value in fields.items()))


def sendv(*assignments):
    entry = dict(assignment.split('=', 1) for assignment in assignments)
    with open(os.environ['KOPS_TEST_JOURNAL'], 'a') as handle:
        handle.write(json.dumps(entry) + '\n')
