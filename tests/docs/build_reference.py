#!/usr/bin/env python
"""Write docs/reference/*.md from the plugins' and roles' own documentation (ansible-doc --json), their markup
rendered by antsibull-docs-parser, the ecosystem's own parser (antsibull-docs lint-collection-docs checks it).

    build_reference.py           regenerate the pages
    build_reference.py --check   fail when a page differs from what the plugins document (CI)
"""

import json
import os
import subprocess
import sys

from antsibull_docs_parser import dom
from antsibull_docs_parser.format import LinkProvider
from antsibull_docs_parser.md import to_md
from antsibull_docs_parser.parser import Context, parse

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTPUT = os.path.join(REPO, 'docs', 'reference')
COLLECTION = 'kops.state_store'
KINDS = ('module', 'lookup', 'inventory', 'role')


def page_name(kind, name):
    return '%s_%s.md' % (kind, name)


class ReferenceLinks(LinkProvider):
    """Links of M(), P(), O() and RV() markup: this collection's pages and their option anchors."""

    def plugin_link(self, plugin):
        namespace, collection, name = plugin.fqcn.split('.', 2)
        if '%s.%s' % (namespace, collection) != COLLECTION or plugin.type not in KINDS:
            return None
        return page_name(plugin.type, name)

    def plugin_option_like_link(self, plugin, entrypoint, what, name, current_plugin):
        page = '' if current_plugin else self.plugin_link(plugin)
        if page is None:
            return None
        return '%s#%s-%s' % (page, 'option' if what == 'option' else 'return', '-'.join(name).lower())


def markdown(text, kind, name, in_table=True):
    """Ansible markup (a string or a list of paragraphs) as Markdown, with antsibull-docs-parser. Invalid markup
    stops the build. In a table cell, paragraphs are separated by <br> and | is escaped."""
    if text is None or text == []:
        return ''
    plugin = dom.PluginIdentifier(fqcn='%s.%s' % (COLLECTION, name), type=kind)
    context = Context(current_plugin=plugin, role_entrypoint='main' if kind == 'role' else None)
    paragraphs = parse(text, context, errors='exception', strict=True)
    rendered = to_md(paragraphs, link_provider=ReferenceLinks(), current_plugin=plugin,
                     par_sep='<br><br>' if in_table else '\n\n')
    return rendered.replace('\n', ' ').replace('|', '\\|') if in_table else rendered


def plugin_names(kind):
    if kind == 'role':
        return sorted(os.listdir(os.path.join(REPO, 'roles')))
    folder = os.path.join(REPO, 'plugins', 'modules' if kind == 'module' else kind)
    return sorted(name[:-3] for name in os.listdir(folder) if name.endswith('.py') and not name.startswith('_'))


def ansible_doc(kind, names):
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, 'build', 'collections'), ANSIBLE_NOCOLOR='1')
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-doc'), '--json', '-t', kind]
    completed = subprocess.run(command + ['%s.%s' % (COLLECTION, name) for name in names],
                               env=environment, capture_output=True, text=True, check=False)
    if completed.returncode or 'WARNING' in completed.stderr:
        raise SystemExit('ansible-doc failed or warned:\n' + completed.stderr)
    return json.loads(completed.stdout)


def option_rows(options, kind, name, prefix='option', depth=0):
    rows = []
    for option_name in sorted(options):
        option = options[option_name]
        details = [option.get('type', 'str')]
        if option.get('elements'):
            details[0] += ' of ' + option['elements']
        if option.get('required'):
            details.append('required')
        if option.get('choices'):
            details.append('choices: ' + ', '.join('`%s`' % choice for choice in option['choices']))
        if option.get('default') is not None:
            details.append('default: `%s`' % json.dumps(option['default']))
        if option.get('aliases'):
            details.append('aliases: ' + ', '.join(option['aliases']))
        for env in option.get('env', []) or []:
            details.append('env: `%s`' % env['name'])
        anchor = '%s-%s' % (prefix, option_name.lower())
        rows.append('| %s<a id="%s"></a>`%s` | %s | %s |' % (
            '&nbsp;&nbsp;' * depth, anchor, option_name, '; '.join(details),
            markdown(option.get('description'), kind, name)))
        rows.extend(option_rows(option.get('suboptions') or option.get('options') or {}, kind, name, anchor, depth + 1))
    return rows


def return_rows(returned, kind, name, prefix='return', depth=0):
    rows = []
    for key in sorted(returned):
        value = returned[key]
        anchor = '%s-%s' % (prefix, key.lower())
        rows.append('| %s<a id="%s"></a>`%s` | %s | %s | %s |' % (
            '&nbsp;&nbsp;' * depth, anchor, key, value.get('type', ''), markdown(value.get('returned'), kind, name),
            markdown(value.get('description'), kind, name)))
        rows.extend(return_rows(value.get('contains') or {}, kind, name, anchor, depth + 1))
    return rows


def page(kind, name, data):
    # ansible-doc gives a role's entry points; this collection's roles have one, main
    doc = data['entry_points']['main'] if kind == 'role' else data['doc']
    lines = ['# %s.%s (%s)' % (COLLECTION, name, kind), '', markdown(doc.get('short_description'), kind, name, False),
             '', '<!-- generated by tests/docs/build_reference.py from the plugin documentation; do not edit -->', '']
    lines += [markdown(doc.get('description'), kind, name, False)]
    if doc.get('requirements'):
        lines += ['', '## Requirements', ''] + ['- %s' % markdown(r, kind, name) for r in doc['requirements']]
    lines += ['', '## Options' if kind != 'role' else '## Variables', '', '| option | type and default | description |',
              '|---|---|---|']
    lines += option_rows(doc.get('options', {}), kind, name)
    if doc.get('attributes'):
        lines += ['', '## Attributes', '', '| attribute | support | details |', '|---|---|---|']
        for attribute, value in sorted(doc['attributes'].items()):
            lines.append('| %s | %s | %s |' % (attribute, value.get('support', ''), markdown(value.get('details'), kind, name)))
    if doc.get('notes'):
        lines += ['', '## Notes', ''] + ['- %s' % markdown(note, kind, name) for note in doc['notes']]
    if data.get('examples'):
        lines += ['', '## Examples', '', '```yaml', data['examples'].strip('\n'), '```']
    returned = data.get('return') or {}
    if returned:
        lines += ['', '## Return values', '', '| key | type | returned | description |', '|---|---|---|---|']
        lines += return_rows(returned, kind, name)
    return '\n'.join(lines) + '\n'


def main():
    check = '--check' in sys.argv[1:]
    pages = {}
    for kind in KINDS:
        names = plugin_names(kind)
        documented = ansible_doc(kind, names)
        for name in names:
            pages[page_name(kind, name)] = page(kind, name, documented['%s.%s' % (COLLECTION, name)])
    index = ['# Plugin reference', '', '<!-- generated by tests/docs/build_reference.py; do not edit -->', '']
    index += ['- [%s](%s)' % (file_name[:-3].replace('_', ' ', 1), file_name) for file_name in sorted(pages)]
    pages['README.md'] = '\n'.join(index) + '\n'

    stale = []
    for file_name, text in sorted(pages.items()):
        path = os.path.join(OUTPUT, file_name)
        current = open(path).read() if os.path.exists(path) else None
        if current != text:
            stale.append(file_name)
            if not check:
                os.makedirs(OUTPUT, exist_ok=True)
                with open(path, 'w') as handle:
                    handle.write(text)
    extra = sorted(set(os.listdir(OUTPUT)) - set(pages)) if os.path.isdir(OUTPUT) else []
    if check and (stale or extra):
        raise SystemExit('docs/reference is out of date (run tests/docs/build_reference.py): %s' % ', '.join(stale + extra))
    for file_name in extra:
        if not check:
            os.unlink(os.path.join(OUTPUT, file_name))
    print('docs/reference: %d pages %s' % (len(pages), 'up to date' if check else 'written (%d changed)' % len(stale)))


if __name__ == '__main__':
    main()
