"""Where the tests find the repository and their fixtures, wherever the test file that asks sits."""

import os

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(TESTS)
FIXTURES = os.path.join(TESTS, 'fixtures')
KOPS_CLUSTERS = os.path.join(FIXTURES, 'kops-clusters')
KOPS_TEST_DATA = os.path.join(FIXTURES, 'kops-test-data')
GO_SECRET_JSON = os.path.join(FIXTURES, 'go-secret-json', 'cases.json')
