"""Print a pip constraints file that pins every backend SDK to the oldest release the collection supports
(plugins/module_utils/backends/sdk.py, MINIMUM_VERSIONS): one ``name==version`` line each. Run it with the collection
importable (PYTHONPATH=build/collections, which make setup links)."""

from ansible_collections.kops.state_store.plugins.module_utils.backends.sdk import MINIMUM_VERSIONS

for distribution, minimum in sorted(MINIMUM_VERSIONS.items()):
    print('%s==%s' % (distribution, minimum))
