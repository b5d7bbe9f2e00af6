"""The reader of documented invocations (tests/support/documented_invocations.py), on pages written for it: what a
reader would run is found, joined and cleaned as the shell takes it, and nothing else is."""

from support.documented_invocations import documented_invocations, from_page_text, from_playbook_text

PAGE = r'''# A page

Run `ansible-playbook playbooks/a.yml -e source=s3://old
-e destination=s3://new [--check]` or read about `ansible-playbook` itself, and `ansible-playbook --version`.

```sh
# a comment naming ansible-playbook playbooks/ignored.yml
KOPS_STATE_STORE=s3://st ansible-playbook playbooks/b.yml \
    -e '{"clusters": ["a # not a comment"]}'    # a comment
make demo
```

```console
$ VAULT_TOKEN=... ansible-playbook vault.yml --check   # preview
```

```yaml
source: s3://old
clusters: [a.example.com]
```

```yaml
plugin: kops.state_store.clusters
state_stores: [s3://old]
```

```yaml
cache: true
cache_timeout: 600
```

```yaml
spec:
  keyStore: vault://vault.example.com:8200/kv/keys
```

```yaml
- name: a play
  hosts: localhost
```
'''

HEADER = '''---
# What it does:
#   ansible-playbook playbooks/c.yml -e a=1 \\
#       -e b=2      # what b is
#   make demo          # not a playbook run
- name: A play
  hosts: localhost
# ansible-playbook playbooks/not-in-the-header.yml
'''


def test_commands_and_variables_of_a_page():
    found = from_page_text(PAGE, 'page.md')
    assert [(invocation.kind, invocation.text) for invocation in found] == [
        ('command', 'ansible-playbook playbooks/a.yml -e source=s3://old -e destination=s3://new'),
        ('command', 'ansible-playbook playbooks/a.yml -e source=s3://old -e destination=s3://new --check'),
        ('command', 'KOPS_STATE_STORE=s3://st ansible-playbook playbooks/b.yml -e \'{"clusters": ["a # not a comment"]}\''),
        ('command', 'VAULT_TOKEN=... ansible-playbook vault.yml --check'),
        ('variables', 'source: s3://old\nclusters: [a.example.com]\n'),
    ]
    assert [invocation.where for invocation in found] == [
        'page.md:3', 'page.md:3', 'page.md:6', 'page.md:13', 'page.md:17']
    # what comes just before the console block on the page: the sh block
    assert found[3].before.startswith('# a comment naming')


def test_commands_of_a_playbook_header():
    assert [invocation.text for invocation in from_playbook_text(HEADER, 'playbooks/c.yml')] == [
        'ansible-playbook playbooks/c.yml -e a=1 -e b=2']


def test_the_documentation_has_invocations_of_every_kind():
    """The reader finds the pages' invocations at all (a broken pattern would find none and let everything pass)."""
    found = documented_invocations()
    wheres = set(invocation.where.split(':')[0] for invocation in found)
    assert {'README.md', 'docs/awx.md', 'docs/history.md', 'playbooks/migrate_state_store.yml',
            'roles/vault_iam_roles/README.md'} <= wheres
    assert sum(invocation.kind == 'variables' for invocation in found) >= 4
    assert len(found) > 40
