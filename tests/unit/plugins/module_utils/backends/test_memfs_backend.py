import itertools

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store

from support.backend_contract import BackendContract

_names = itertools.count()


class TestMemfsBackend(BackendContract):
    @pytest.fixture
    def store(self):
        return open_store('memfs://test-%d' % next(_names))

    def test_stores_with_one_name_share_content(self):
        name = 'memfs://shared-%d' % next(_names)
        open_store(name).write('c1/config', b'x')
        assert open_store(name).read('c1/config')[0] == b'x'
        assert open_store(name + '/c1').read('config')[0] == b'x'
        assert [e.path for e in open_store(name + '/c1').list('', recursive=True)] == ['config']
