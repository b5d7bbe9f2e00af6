"""playbooks/fleet_report.yml through ansible-playbook: over a store of the test moto (the health fleet of
tests/support/store_health.py), over a clusters inventory of two stores, over a clusters list with a store that
cannot be audited; the Markdown and HTML it writes, its exit status against fail_at, and the HTML page looked at in a
real browser - headless Chromium from Debian (tests/servers/chromium.install.sh) takes a screenshot, whose row strips
and badge colours must show every cluster and every finding's severity."""

import datetime
import html.parser
import re

import pytest
import yaml

from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from servers.moto import admin_client
from support import kops_material as km
from support import store_health as sh
from support.browser import screenshot

PLAYBOOK = 'playbooks/fleet_report.yml'
# what the page must show, by name: the severities' colours and the green of a row without finding
COLOURS = {'critical': (0xb7, 0x1c, 0x1c), 'high': (0xe6, 0x51, 0x00), 'medium': (0xf9, 0xa8, 0x25),
           'low': (0x15, 0x65, 0xc0), 'info': (0x78, 0x90, 0x9c), 'ok': (0x2e, 0x7d, 0x32)}
MARKS = {'critical': '🟥', 'high': '🟧', 'medium': '🟨', 'low': '🟦', 'info': '⬜', 'ok': '🟩'}
SEVERITIES = ['info', 'low', 'medium', 'high', 'critical']
STORE_FINDINGS = (('versioning', 'high'), ('default encryption', 'medium'))
BADGE_PIXELS = 60  # a badge's background is a few hundred pixels; antialiased text matches a colour in a handful


def status(listed):
    return max((severity for _check, severity in listed), key=SEVERITIES.index) if listed else 'ok'


def fleet_rows(store_findings=STORE_FINDINGS):
    """(status, name, [finding severities]) of each row the health fleet's table must have, in order, in a store with
    ``store_findings`` ((check, severity) of the store itself)."""
    rows = [(status(store_findings), 'the store itself', [severity for _check, severity in store_findings])]
    rows += [(status(sh.CLUSTER_FINDINGS[name]), name, [severity for _check, severity in sh.CLUSTER_FINDINGS[name]])
             for name in sorted(sh.CLUSTER_FINDINGS)]
    return rows


@pytest.fixture
def s3_fleet(aws_environment, s3_bucket, stores):
    """(location, backend, environment): the health fleet in a bucket with Block Public Access and bucket-owner-enforced
    ownership, but neither versioning nor default encryption."""
    bucket = s3_bucket('fleet-report')
    client = admin_client(aws_environment['AWS_ENDPOINT_URL'])
    client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=dict(
        BlockPublicAcls=True, IgnorePublicAcls=True, BlockPublicPolicy=True, RestrictPublicBuckets=True))
    client.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=dict(Rules=[
        dict(ObjectOwnership='BucketOwnerEnforced')]))
    location = 's3://%s' % bucket
    backend = stores(location)
    sh.lay_out_health_fleet(backend)
    return location, backend, aws_environment


class Tables(html.parser.HTMLParser):
    """The rows of the report's tables: (row class, first cell's text, the classes of the row's badges in order: the
    status, then the findings), and everything that would load or run something."""

    def __init__(self):
        super(Tables, self).__init__()
        self.rows, self.active, self._row, self._cell = [], [], None, None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ('script', 'iframe', 'object', 'embed', 'link', 'img') or any(
                name.startswith('on') or name in ('src', 'href') for name in attributes):
            self.active.append((tag, attributes))
        if tag == 'tr':
            self._row = [attributes.get('class'), None, []]
        elif tag == 'td' and self._row is not None:
            self._cell = []
        elif tag == 'span' and self._row is not None and 'badge' in (attributes.get('class') or ''):
            self._row[2].append(attributes['class'].split()[1])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag == 'td' and self._row is not None and self._cell is not None:
            if self._row[1] is None:
                self._row[1] = ''.join(self._cell)
            self._cell = None
        elif tag == 'tr' and self._row is not None:
            if self._row[1] is not None:
                self.rows.append(tuple(self._row))
            self._row = None


def read_report(report_dir):
    markdown = (report_dir / 'fleet-report.md').read_text()
    page = (report_dir / 'fleet-report.html').read_text()
    tables = Tables()
    tables.feed(page)
    assert tables.active == [] and not re.search(r'url\(|@import|<script', page, re.IGNORECASE)
    return markdown, page, tables.rows


def colour_name(pixel, tolerance=6):
    for name, colour in COLOURS.items():
        if all(abs(channel - wanted) <= tolerance for channel, wanted in zip(pixel, colour)):
            return name
    return None


def strip_column(image):
    """The x of the column of row strips: among the page's left 150 pixels, the one with most pixels in a report
    colour (the strips are solid; badges and text are elsewhere or short)."""
    pixels = image.load()
    counts = dict((x, sum(1 for y in range(image.height) if colour_name(pixels[x, y]))) for x in range(150))
    return max(counts, key=counts.get)


def row_bands(image):
    """[(colour name, first y, last y)] of the strips down the strip column: one per table row, top to bottom."""
    pixels = image.load()
    x = strip_column(image)
    bands, current = [], None
    for y in range(image.height):
        name = colour_name(pixels[x, y])
        if current and name == current[0] and y == current[2] + 1:
            current[2] = y
            continue
        if current:
            bands.append(tuple(current))
        current = [name, y, y] if name else None
    if current:
        bands.append(tuple(current))
    return [band for band in bands if band[2] - band[1] >= 10], x


def badge_colours(image, band, strip_x):
    """The report colours of at least BADGE_PIXELS pixels in a row (``band``), right of its strip."""
    pixels = image.load()
    counts = {}
    for y in range(band[1], band[2] + 1):
        for x in range(strip_x + 20, image.width):
            name = colour_name(pixels[x, y])
            if name:
                counts[name] = counts.get(name, 0) + 1
    return sorted(name for name, count in counts.items() if count >= BADGE_PIXELS)


def assert_page_shows(image, rows):
    """Every row a strip of its status colour, in order, and in each row exactly its status's and findings' colours."""
    bands, strip_x = row_bands(image)
    assert [band[0] for band in bands] == [row[0] for row in rows], bands
    for band, (row_status, name, severities) in zip(bands, rows):
        assert badge_colours(image, band, strip_x) == sorted(set(severities) | {row_status}), name


def test_s3_fleet_report_and_fail_at(run_playbook, tmp_path, s3_fleet):
    location, backend, environment = s3_fleet
    report_dir = tmp_path / 'reports'
    run = run_playbook(PLAYBOOK, dict(state_store=location, report_dir=str(report_dir), fail_at='critical'),
                       env=environment)
    assert run.rc == 2 and 'findings at or above critical: 1; stores not audited: 0;' in run.output, run
    markdown, page, rows = read_report(report_dir)
    assert sh.leaked(run.output + markdown + page) == [] and 'Backup-Secret' not in markdown + page

    # Markdown: a row per cluster with its status, then each finding with its fix
    for row_status, name, _severities in fleet_rows():
        mark = MARKS[row_status]
        row = r'^\| %s \| %s[ |].*\| %s %s \|' % (mark, re.escape(name.replace('_', '\\_')), mark, row_status)
        assert re.search(row, markdown, re.MULTILINE), name
    listed = re.findall(r'^- \S+ (\w+) · \*\*([^*]+)\*\* · ([^:]+): .+<br>\n  Fix: .+$', markdown, re.MULTILINE)
    assert sorted(listed) == sorted([(severity, 'the store', check) for check, severity in STORE_FINDINGS] + [
        (severity, name, check) for name, found in sh.CLUSTER_FINDINGS.items() for check, severity in found])
    assert '**Failed**: 1 finding at or above critical.' in markdown
    assert 'Findings: 🟥 1 critical, 🟧 3 high, 🟨 2 medium, 🟦 0 low, ⬜ 0 info.' in markdown

    # HTML: the same rows and badges, then the page as a browser shows it
    assert [(row_class, name, badges[1:]) for row_class, name, badges in rows] == fleet_rows()
    assert all(badges[0] == row_class for row_class, _name, badges in rows)  # the status badge
    assert_page_shows(screenshot(report_dir / 'fleet-report.html', tmp_path / 'page.png'), fleet_rows())

    never = run_playbook(PLAYBOOK, dict(state_store=location, report_dir=str(report_dir), fail_at='none'),
                         env=environment)
    assert never.rc == 0 and 'The run never fails' in (report_dir / 'fleet-report.md').read_text(), never

    # the expired CA rotated: nothing critical is left, high still fails
    renewed = km.CA('kubernetes-ca', km.days(-1), km.ending_in(3650))
    backend.write('%s/pki/private/kubernetes-ca/keyset.yaml' % sh.EXPIRED_CA,
                  km.keyset_yaml('kubernetes-ca', [km.ca_key(renewed)], renewed.id))
    passed = run_playbook(PLAYBOOK, dict(state_store=location, report_dir=str(report_dir), fail_at='critical'),
                          env=environment)
    assert passed.rc == 0 and '**Passed**: no finding at or above critical.' in (
        report_dir / 'fleet-report.md').read_text(), passed
    rows = read_report(report_dir)[2]
    assert dict((name, row_class) for row_class, name, _badges in rows)[sh.EXPIRED_CA] == 'ok'
    failed = run_playbook(PLAYBOOK, dict(state_store=location, report_dir=str(report_dir)), env=environment)
    assert failed.rc == 2 and 'findings at or above high: 3;' in failed.output, failed  # fail_at: high by default


def test_gcs_fleet_report(run_playbook, tmp_path, gcs_server, gcs_environment):
    """The health fleet in a bucket of the GCS emulator with uniform bucket-level access and public access prevention
    but no versioning (what the emulator keeps of a bucket's settings): the same clusters' rows, findings and exit
    statuses, and the store's one finding."""
    bucket = gcs_server.create_bucket('fleet-report')
    gcs_server.patch_bucket(bucket, dict(iamConfiguration=dict(uniformBucketLevelAccess=dict(enabled=True),
                                                               publicAccessPrevention='enforced')))
    location = 'gs://%s' % bucket
    sh.lay_out_health_fleet(open_store(location))
    before = gcs_server.object_names(bucket)
    store_findings = [('versioning', 'high')]
    report_dir = tmp_path / 'reports'
    run = run_playbook(PLAYBOOK, dict(state_store=location, report_dir=str(report_dir), fail_at='critical'),
                       env=gcs_environment)
    assert run.rc == 2 and 'findings at or above critical: 1; stores not audited: 0;' in run.output, run
    markdown, page, rows = read_report(report_dir)
    assert sh.leaked(run.output + markdown + page) == []
    for row_status, name, _severities in fleet_rows(store_findings):
        mark = MARKS[row_status]
        assert re.search(r'^\| %s \| %s[ |].*\| %s %s \|' % (mark, re.escape(name), mark, row_status), markdown,
                         re.MULTILINE), name
    assert 'Findings: 🟥 1 critical, 🟧 3 high, 🟨 1 medium, 🟦 0 low, ⬜ 0 info.' in markdown
    assert 'gcloud storage buckets update gs://%s --versioning' % bucket in markdown
    assert [(row_class, name, badges[1:]) for row_class, name, badges in rows] == fleet_rows(store_findings)
    assert_page_shows(screenshot(report_dir / 'fleet-report.html', tmp_path / 'page.png'), fleet_rows(store_findings))
    for fail_at, rc in (('high', 2), ('none', 0)):
        run = run_playbook(PLAYBOOK, dict(state_store=location, report_dir=str(report_dir), fail_at=fail_at),
                           env=gcs_environment)
        assert run.rc == rc, (fail_at, run)
    assert gcs_server.object_names(bucket) == before  # nothing written to the store


def test_inventory_of_two_stores_and_hostile_names(run_playbook, tmp_path):
    """The hosts of a clusters inventory over two file:// stores make one report with a table per store; a cluster
    folder named like markup shows as text in both files."""
    now = datetime.datetime.now(datetime.timezone.utc)
    first, second = open_store('file://%s' % (tmp_path / 'one')), open_store('file://%s' % (tmp_path / 'two'))
    sh.lay_out_applied(first, sh.FINE, now)
    sh.lay_out_applied(first, sh.STALE_BACKUP_CLUSTER, now, backup_ages=dict(main=sh.STALE_BACKUP))
    sh.lay_out_applied(second, sh.PENDING_RESTORE, now, restore=('main', 'events'))
    inventory = tmp_path / 'clusters.kops.yml'
    inventory.write_text(yaml.safe_dump(dict(plugin='kops.state_store.clusters', state_stores=[
        first.location.render(), second.location.render()])))
    report_dir = tmp_path / 'reports'
    run = run_playbook(PLAYBOOK, dict(report_dir=str(report_dir), fail_at='critical'), args=['-i', str(inventory)])
    assert run.rc == 0, run
    markdown, page, rows = read_report(report_dir)
    assert [(row_class, name) for row_class, name, _badges in rows] == [
        ('info', 'the store itself'), ('ok', sh.FINE), ('high', sh.STALE_BACKUP_CLUSTER),
        ('info', 'the store itself'), ('high', sh.PENDING_RESTORE)]
    assert markdown.count('\n## ') == 2 and page.count('<table>') == 2
    assert 'main: restore of backup' in markdown and 'events: restore of backup' in markdown
    assert_page_shows(screenshot(report_dir / 'fleet-report.html', tmp_path / 'page.png'), [
        ('info', 'store one', ['info']), ('ok', sh.FINE, []), ('high', sh.STALE_BACKUP_CLUSTER, ['high']),
        ('info', 'store two', ['info']), ('high', sh.PENDING_RESTORE, ['high'])])

    hostile = '<img src=x onerror=alert(1)>|*x*'
    sh.lay_out_applied(second, hostile, now)
    run = run_playbook(PLAYBOOK, dict(report_dir=str(report_dir), state_store=second.location.render(),
                                      fail_at='none'))
    assert run.rc == 0, run
    markdown, page, rows = read_report(report_dir)
    # not a cluster name kOps accepts: no row of its own, one finding of the store naming it, as text
    assert hostile not in [name for _row_class, name, _badges in rows]
    assert 'folders that are not clusters' in markdown and 'onerror=alert(1)&gt;' in markdown
    assert '<img' not in markdown + page


def test_clusters_list_with_a_store_that_cannot_be_audited(run_playbook, tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    store = open_store('file://%s' % (tmp_path / 'store'))
    sh.lay_out_applied(store, sh.FINE, now)
    sh.lay_out_applied(store, sh.INVALID_CONFIG, now, change=sh.misspelt_field)
    clusters = [sh.FINE, dict(name='gone.example.com', state_store=store.location.render()),
                dict(name='any.example.com', state_store='unknown://nowhere')]
    report_dir = tmp_path / 'reports'
    run = run_playbook(PLAYBOOK, dict(clusters=clusters, kops_state_store=store.location.render(),
                                      report_dir=str(report_dir), fail_at='critical'))
    assert run.rc == 2 and 'findings at or above critical: 0; stores not audited: 1;' in run.output, run
    markdown, page, rows = read_report(report_dir)
    assert [(row_class, name) for row_class, name, _badges in rows] == [  # stores in the order of their names
        ('high', 'the store itself'), ('ok', sh.FINE), ('critical', 'not audited')]
    assert "⛔ **Not audited**: unknown state store scheme 'unknown://'" in markdown
    assert 'cluster gone.example.com is not in the store' in markdown and sh.INVALID_CONFIG not in markdown
    quiet = run_playbook(PLAYBOOK, dict(clusters=clusters, kops_state_store=store.location.render(),
                                        report_dir=str(report_dir), fail_at='none'))
    assert quiet.rc == 0, quiet


@pytest.mark.parametrize('extra, message', [
    (dict(state_store='file:///nowhere'), 'give report_dir'),
    (dict(state_store='file:///nowhere', report_dir='/tmp', fail_at='severe'), 'fail_at as one of'),
    (dict(report_dir='/tmp'), 'no clusters to report on'),
])
def test_bad_variables_fail_before_reading_anything(run_playbook, extra, message):
    run = run_playbook(PLAYBOOK, extra)
    assert run.rc == 2 and message in run.output and 'Audit each state store' not in run.output, run
