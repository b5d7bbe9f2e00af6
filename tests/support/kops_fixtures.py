"""kOps's own cluster documents (tests/fixtures/kops-clusters) as the tests read them and write them into stores."""

import glob
import os

from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from ansible_collections.kops.state_store.plugins.module_utils.kops.documents import load_documents
from support.paths import KOPS_CLUSTERS

FIXTURES = sorted(glob.glob(os.path.join(KOPS_CLUSTERS, '*.yaml')))


def fixture_path(fixture):
    """The path of a fixture given by file name ('minimal-aws.yaml') or path."""
    return fixture if os.path.sep in fixture else os.path.join(KOPS_CLUSTERS, fixture)


def fixture_documents(fixture):
    with open(fixture_path(fixture)) as handle:
        return load_documents(handle.read(), fixture)


def write_fixture(backend, fixture):
    """Write a fixture's documents into a store byte for byte, where kOps keeps them; returns (cluster name,
    {entry: bytes})."""
    with open(fixture_path(fixture)) as handle:
        raw = [part for part in handle.read().split('\n---\n') if part.strip()]
    written = {}
    for text in raw:
        document = load_documents(text, fixture)[0]
        name = document['metadata']['name']
        if document['kind'] == 'Cluster':
            cluster_name, path = name, cl.config_path(name)
        else:
            path = cl.group_path(document['metadata']['labels'][cl.CLUSTER_LABEL], name)
        written[path] = text.strip().encode('utf-8') + b'\n'
        backend.write(path, written[path])
    return cluster_name, written


def store_entries(backend):
    """{path: bytes} of every entry of a store."""
    return dict((entry.path, backend.read(entry.path)[0]) for entry in backend.list('', recursive=True))
